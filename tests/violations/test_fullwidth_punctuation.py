"""Chinese copy of the violations, payments and demo apps uses full-width punctuation (issue 11
item 4): no , ; : ( ) ! ? next to Chinese in their templates and Chinese string literals.
English text that glosses a term in Chinese ("fine in fen (分)") is English and keeps its own."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

import jiaoguan

APPS = ("violations", "payments", "demo")
ROOT = Path(jiaoguan.__file__).parent
CJK = r"[\u4e00-\u9fff\u3001-\u303f\uff01-\uff5e]"
HALF_WIDTH_NEXT_TO_CHINESE = re.compile(rf"{CJK}\s?[,;:()!?]|[,;:()!?]\s?{CJK}")


def _chinese(text: str) -> bool:
    """Chinese copy: more Chinese characters than Latin letters."""
    return len(re.findall(CJK, text)) > len(re.findall(r"[A-Za-z]", text))


def _template_lines(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = re.sub(r"<[^>]*>", " ", line)
        text = re.sub(r'\{%\s*translate\s+"([^"]*)"[^%]*%\}', r" \1 ", text)  # keep the copy, drop the tag
        text = re.sub(r"\{[{%#].*?[}%#]\}", " ", text)
        yield number, text


def _string_literals(path: Path):
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline))
    for index, token in enumerate(tokens):
        if token.type != tokenize.STRING:
            continue
        alone = (
            index == 0 or tokens[index - 1].type in (tokenize.INDENT, tokenize.NEWLINE, tokenize.NL)
        ) and (tokens[index + 1].type == tokenize.NEWLINE)
        if not alone:  # a docstring is English prose about the code, not copy
            yield token.start[0], token.string


def _findings() -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*")):
            if "migrations" in path.parts:
                continue
            pieces = (
                _template_lines(path)
                if path.suffix == ".html"
                else _string_literals(path)
                if path.suffix == ".py"
                else ()
            )
            for number, text in pieces:
                for part in re.split(r"\s{2,}|\n", text):
                    if _chinese(part) and HALF_WIDTH_NEXT_TO_CHINESE.search(part):
                        found.append(f"{path.relative_to(ROOT)}:{number}: {part.strip()[:80]}")
    return found


def test_the_check_finds_half_width_punctuation_in_chinese(tmp_path):
    template = tmp_path / "t.html"
    template.write_text('{% translate "请稍后,再试" %}\n<p>处理（窗口）</p>\n', encoding="utf-8")
    source = tmp_path / "t.py"
    source.write_text(
        '"""文档(说明)"""\nx = "相同请求正在处理中,请稍后重试。"\ny = "fine in fen (分)"\n', encoding="utf-8"
    )

    def bad(pieces) -> list[int]:
        return [n for n, text in pieces if _chinese(text) and HALF_WIDTH_NEXT_TO_CHINESE.search(text)]

    assert bad(_template_lines(template)) == [1]
    assert bad(_string_literals(source)) == [2]


@pytest.mark.parametrize("app", APPS)
def test_no_half_width_punctuation_in_chinese_copy(app):
    assert [f for f in _findings() if f.startswith(app)] == []
