"""Chinese copy in the credentials app uses full-width punctuation (issue 11, STYLE.md):
every string a person may read, in the templates and in the code's messages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import jiaoguan.credentials

APP = Path(jiaoguan.credentials.__file__).parent
CJK = r"[\u4e00-\u9fff、。，；：（）！？]"
# A half-width , ; : ( ) ! ? touching Chinese text. A colon after a code in braces or a
# prefix such as "DL1:" is part of the code and stays.
HALF_WIDTH = re.compile(rf"(?<={CJK})[,;:()!?]|(?<![A-Z0-9}}])[,;:()!?](?={CJK})")


def _strings(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module that are not docstrings (those are English for developers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


MODULES = sorted(p for p in APP.rglob("*.py") if "migrations" not in p.parts)
TEMPLATES = sorted(APP.rglob("templates/**/*.html"))


def test_the_check_finds_half_width_punctuation_in_chinese():
    assert HALF_WIDTH.search("凭证已过期,请刷新")
    assert HALF_WIDTH.search("（可能是截图)")
    assert not HALF_WIDTH.search("凭证已过期，请刷新。DL1:ABC")
    assert not HALF_WIDTH.search("凭证前缀须为大写“DL1:”")


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(APP)))
def test_messages_in_code_use_full_width_punctuation(module):
    bad = [(line, text) for line, text in _strings(module) if HALF_WIDTH.search(text)]
    assert not bad, bad


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(APP)))
def test_templates_use_full_width_punctuation(template):
    text = re.sub(r"{%.*?%}|{{.*?}}|<[^>]*>", " ", template.read_text(encoding="utf-8"), flags=re.S)
    bad = [line for line in text.splitlines() if HALF_WIDTH.search(line)]
    assert not bad, bad
