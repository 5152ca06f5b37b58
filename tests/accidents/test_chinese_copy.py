"""Chinese copy of the accident pages, messages and PDFs uses full-width punctuation (，；：（）！？)
and says every code in words: a half-width mark next to a Chinese character is a slip (issue 11)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jiaoguan.accidents

APP = Path(jiaoguan.accidents.__file__).parent
CJK = r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef“”‘’]"
HALF = r"[,;:()!?]"
# A half-width mark touching a Chinese character, on either side.
SLIP = re.compile(rf"{CJK}{HALF}|{HALF}{CJK}")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module but its docstrings and database comments (English prose
    for developers, where a Chinese term stands in parentheses)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "db_comment":
            skip.add(id(node.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def test_python_messages_use_full_width_punctuation():
    slips = [
        f"{path.relative_to(APP)}:{line}: {text!r}"
        for path in sorted(APP.rglob("*.py"))
        if "migrations" not in path.parts
        for line, text in _strings(path)
        if SLIP.search(text)
    ]
    assert slips == []


def test_templates_use_full_width_punctuation():
    slips = []
    for path in sorted(APP.rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            # Template syntax is not copy: {% url 'x' as y %}, {{ a|date:"Y" }}.
            copy = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", lambda m: re.sub(r"[^\"“”]", " ", m.group()), line)
            for quoted in re.findall(r"\{%\s*(?:translate|blocktranslate)[^%]*?\"([^\"]*)\"", line):
                copy += " " + quoted
            if SLIP.search(copy):
                slips.append(f"{path.relative_to(APP)}:{number}: {line.strip()}")
    assert slips == []


def test_no_document_type_code_reaches_a_party():
    """Codes of the registry (resident_id ...) are never written into a template for a person."""
    codes = ["resident_id", "temporary_id", "hk_macau_id", "foreign_passport"]
    shown = [
        f"{path.relative_to(APP)}: {code}"
        for path in sorted((APP / "templates").rglob("*.html"))
        for code in codes
        if code in path.read_text(encoding="utf-8")
    ]
    assert shown == []
