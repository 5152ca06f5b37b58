"""Chinese copy uses full-width punctuation (issue 11, item 4; STYLE.md).

Half-width , ; : ( ) ! ? next to Chinese text is a mistake in what a person reads: templates,
the Chinese msgids of django.po, and Chinese literals passed to gettext (and friends) or to the
project's bilingual errors in Python. The check is per app directory, so a failure names the
app whose copy needs fixing.

What is not Chinese text is left alone: numbers and times (09:00), URLs, template tags and
variables, HTML tags and their attributes (but for the ones people read: title, alt,
placeholder, aria-label), code. A mark counts as next to Chinese text when it touches a Chinese
character (or Chinese punctuation), or has one across a space while not clinging to a code or
English word on its other side: "过长(最多" and "元 , 记" are caught, "以 VI1: 开头" is not.
(So "驿城区 (411702)" passes too: a code beside its meaning is not told from English.)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "jiaoguan"
PO_FILE = SRC / "locale" / "en" / "LC_MESSAGES" / "django.po"

HALF_WIDTH = ",;:()!?"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff01-\uff60“”‘’《》]")
# Stands in for template variables and placeholders: never Chinese, never punctuation.
NEUTRAL = "\x00"

GETTEXT_NAMES = frozenset(
    {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy"}
)
ERROR_NAMES = frozenset(
    {"DomainError", "ValidationFailed", "NotAllowed", "NotFound", "Conflict", "Throttled", "Unauthenticated"}
)
READ_ATTRIBUTES = re.compile(r'\b(?:title|alt|placeholder|aria-label)="([^"]*)"')


def _neighbour(text: str, index: int, step: int) -> str:
    index += step
    while 0 <= index < len(text) and text[index] in " \t":
        index += step
    return text[index] if 0 <= index < len(text) else ""


def _chinese(char: str) -> bool:
    return bool(char) and bool(_CJK.match(char))


def _ascii_word(char: str) -> bool:
    return bool(char) and char.isascii() and char.isalnum()


def half_width_hits(text: str) -> list[str]:
    """Each half-width mark next to Chinese text, with a little of the text around it."""
    hits = []
    for index, char in enumerate(text):
        if char not in HALF_WIDTH:
            continue
        left = text[index - 1] if index > 0 else ""
        right = text[index + 1] if index + 1 < len(text) else ""
        before, after = _neighbour(text, index, -1), _neighbour(text, index, 1)
        touching = _chinese(left) or _chinese(right)
        # Across a space it is Chinese punctuation unless it clings to a code or English word
        # on its other side ("以 VI1: 开头", "counter registration (U2)").
        spaced = (_chinese(before) and not _ascii_word(right)) or (_chinese(after) and not _ascii_word(left))
        if touching or spaced:
            snippet = text[max(0, index - 12) : index + 12].replace(NEUTRAL, "…").replace("\n", " ")
            hits.append(snippet.strip())
    return hits


# ---------------------------------------------------------------- templates

_COMMENTS = re.compile(r"\{#.*?#\}|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S)
_TRANSLATE = re.compile(r"\{%\s*(?:translate|trans)\s+(\"[^\"]*\"|'[^']*')")
_BLOCK = re.compile(r"\{%\s*blocktrans(?:late)?\b[^%]*%\}(.*?)\{%\s*endblocktrans(?:late)?\s*%\}", re.S)
_TAGS = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_HTML_TAG = re.compile(r"<[^>]*>", re.S)


def template_texts(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of what a template shows: its text, translated strings and read attributes."""
    source = _COMMENTS.sub(lambda m: "\n" * m.group(0).count("\n"), source)

    def line_of(pos: int) -> int:
        return source.count("\n", 0, pos) + 1

    for match in _TRANSLATE.finditer(source):
        yield line_of(match.start()), match.group(1)[1:-1]
    for match in _BLOCK.finditer(source):
        yield line_of(match.start()), _TAGS.sub(NEUTRAL, match.group(1))
    for match in READ_ATTRIBUTES.finditer(source):
        yield line_of(match.start()), _TAGS.sub(NEUTRAL, match.group(1))
    # The text between tags, with template tags, HTML tags, scripts and styles taken out.
    text = _SCRIPT_STYLE.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    text = _TAGS.sub(lambda m: NEUTRAL + "\n" * m.group(0).count("\n"), text)
    text = _HTML_TAG.sub(lambda m: NEUTRAL + "\n" * m.group(0).count("\n"), text)
    yield from enumerate(text.splitlines(), start=1)


# ---------------------------------------------------------------- Python


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


_ERROR_CODE = re.compile(r"^[a-z_]+(\.[a-z_0-9]+)+$")


def _error_like(node: ast.Call) -> bool:
    """A call shaped like the project's errors: ("app.reason", "中文", "English", ...)."""
    first = node.args[0] if node.args else None
    return (
        isinstance(first, ast.Constant)
        and isinstance(first.value, str)
        and bool(_ERROR_CODE.match(first.value))
        and len(node.args) >= 3
    )


def _literal_text(node: ast.AST) -> str | None:
    """A string literal or f-string as text, its placeholders neutral; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else NEUTRAL
            for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_text(node.left), _literal_text(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def python_texts(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of Chinese strings given to gettext or to the bilingual errors."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in GETTEXT_NAMES:
            candidates = list(node.args[:2])
        elif name in ERROR_NAMES or _error_like(node):
            candidates = node.args[1:2] + [k.value for k in node.keywords if k.arg == "message_zh"]
        else:
            continue
        for candidate in candidates:
            text = _literal_text(candidate)
            if text is not None:
                yield candidate.lineno, text


# ---------------------------------------------------------------- django.po


def po_msgids(source: str) -> Iterator[tuple[int, str]]:
    lines = source.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].startswith("msgid "):
            start = index
            parts = [lines[index][len("msgid ") :]]
            index += 1
            while index < len(lines) and lines[index].startswith('"'):
                parts.append(lines[index])
                index += 1
            text = "".join(part.strip()[1:-1] for part in parts)
            yield start + 1, text.replace('\\"', '"').replace("\\n", "\n")
        else:
            index += 1


# ---------------------------------------------------------------- per app


def _app_dirs() -> list[str]:
    names = ["templates"]  # the shell: base.html and the shared includes
    names += sorted(
        p.name
        for p in SRC.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in ("migrations",)
    )
    return names


def hits_in_app(name: str) -> list[str]:
    root = SRC / name
    found = []
    for path in sorted(root.rglob("*")):
        if "migrations" in path.parts or not path.is_file():
            continue
        if path.suffix in (".html", ".txt") and "templates" in path.relative_to(SRC).parts:
            texts = template_texts(path.read_text(encoding="utf-8"))
        elif path.suffix == ".py" and name != "templates":
            texts = python_texts(path.read_text(encoding="utf-8"))
        else:
            continue
        for line, text in texts:
            for snippet in half_width_hits(text):
                found.append(f"{path.relative_to(SRC)}:{line}: {snippet}")
    return found


@pytest.mark.parametrize("app", _app_dirs())
def test_chinese_copy_of_each_app_uses_full_width_punctuation(app):
    hits = hits_in_app(app)
    assert not hits, f"half-width punctuation next to Chinese text in {app}:\n" + "\n".join(hits)


def test_chinese_msgids_use_full_width_punctuation():
    hits = [
        f"django.po:{line}: {snippet}"
        for line, text in po_msgids(PO_FILE.read_text(encoding="utf-8"))
        for snippet in half_width_hits(text)
    ]
    assert not hits, "half-width punctuation next to Chinese text in django.po:\n" + "\n".join(hits)


# ---------------------------------------------------------------- the rule itself


@pytest.mark.parametrize(
    "text",
    [
        "姓名过长(最多64个字符)",
        "验证码发送过于频繁,请稍后再试",
        "证件号码: 411702",
        "罚款200元 , 记3分",
        "确认撤销吗?",
        "已送达;请查收",
        "“期满换领驾驶证”,",
    ],
)
def test_half_width_next_to_chinese_is_caught(text):
    assert half_width_hits(text)


@pytest.mark.parametrize(
    "text",
    [
        "周一至周五 8:30–12:00，14:30–17:30",
        "详见 https://gab.122.gov.cn/m/login 页面",
        "窗口注册 counter registration (U2)",
        "Renew licence on expiry (B8), see: notes!",
        "地址：驿城区（411702）；电话：0396-2612123。",
        "以 VI1: 或 DL1: 开头的一串字符",
    ],
)
def test_numbers_times_urls_and_english_are_not_caught(text):
    assert half_width_hits(text) == []


def test_template_tags_variables_and_attributes_are_not_text():
    source = (
        '{% load i18n %}<a href="{% url \'a:b\' %}" class="x">{% translate "首页" %}</a>'
        '{% if a and not b %}{{ value|date:"Y-m-d H:i" }}{% endif %}'
        '<input data-x="a:b" placeholder="请输入">'
        "{# 注释(不显示) #}"
    )
    assert [h for _line, text in template_texts(source) for h in half_width_hits(text)] == []
    bad = '{% translate "请输入(必填)" %}<p>证件号码:{{ x }}</p><input title="姓名,必填">'
    flagged = [text for _line, text in template_texts(bad) if half_width_hits(text)]
    assert len(flagged) == 3  # the translated string, the paragraph and the title


def test_python_literals_given_to_gettext_and_errors_are_read():
    source = (
        "_('请稍候,马上就好')\n"
        "ValidationFailed('x.y', f'最多{n}个(字符)', 'at most')\n"
        "print('不是界面文字,不查')\n"
    )
    texts = [text for _line, text in python_texts(source)]
    assert texts == ["请稍候,马上就好", "最多\x00个(字符)"]
