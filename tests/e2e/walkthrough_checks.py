"""What the walk-through asserts on every page (issue 11, acceptance): the rules as pure functions
over the text a person sees, and the script that reads that text out of the page in Chromium.

Each ``*_problems`` function takes strings and returns readable problem descriptions, so the
rules can be tried without a browser (test_walkthrough.py does that first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# ---------------------------------------------------------------- reading the page

# One pass over the rendered page: the visible text nodes (with the placeholders and button
# values a person reads too), the notices of unavailability and where they are, the links,
# the number of <h1> and the width of the page.
INSPECT_JS = r"""
(phrases) => {
  const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "TEXTAREA", "CODE", "PRE", "KBD",
                        "SAMP", "TITLE"]);
  const unavailable = new RegExp(phrases, "i");
  const visible = (el) => {
    if (!el) return false;
    if (el.closest("svg")) return false;
    if (el.tagName === "OPTION") {
      const select = el.closest("select");
      return !!select && select.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
    }
    return el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  };
  const skipped = (el) => {
    for (let e = el; e; e = e.parentElement) { if (SKIP.has(e.tagName)) return true; }
    return false;
  };
  const english = (el) => !!(el && el.closest('[lang^="en"]'));
  const texts = [];
  const deadEnds = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.data.replace(/\s+/g, " ").trim();
    if (!text || skipped(el) || !visible(el)) continue;
    texts.push({text: text, en: english(el)});
    const found = text.match(unavailable);
    if (found) {
      const box = el.closest(".unavailable");
      const alternatives = box ? [...box.querySelectorAll(".alternative")] : [];
      const said = alternatives.some((a) => a.innerText.trim() !== "" || a.querySelector("a[href]"));
      deadEnds.push({
        phrase: found[0],
        snippet: text.slice(0, 90),
        inNotice: !!box,
        alternative: said,
        links: alternatives.flatMap((a) => [...a.querySelectorAll("a[href]")].map((l) => l.href)),
      });
    }
  }
  for (const el of document.querySelectorAll(
      "input[placeholder], textarea[placeholder], input[type=submit], input[type=button]")) {
    if (!visible(el)) continue;
    const said = (el.getAttribute("placeholder") || el.value || "").replace(/\s+/g, " ").trim();
    if (said) texts.push({text: said, en: english(el)});
  }
  const links = [];
  for (const a of document.querySelectorAll(
      ".site-nav a[href], main a[href], #main a[href], .site-footer a[href]")) {
    links.push({href: a.href, download: a.hasAttribute("download") || a.target === "_blank"});
  }
  return {
    texts: texts,
    deadEnds: deadEnds,
    links: links,
    h1: document.querySelectorAll("h1").length,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    lang: document.documentElement.lang,
    bodyClass: document.body.className,
  };
}
"""

# Words that tell a person a service cannot be used (issue 11, item 2); such a notice must
# render inside `.unavailable` with an `.alternative` saying what to do instead.
UNAVAILABLE_PHRASES = (
    "不可用",
    "暂未开通",
    "尚未开通",
    "未开通",
    "无法办理",
    "不能办理",
    "暂不能办理",
    "暂不支持",
    "not available",
    "unavailable",
    "not yet open",
)
UNAVAILABLE_PATTERN = "|".join(re.escape(p) for p in UNAVAILABLE_PHRASES)


# ---------------------------------------------------------------- the rules over text

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HALF_WIDTH = ",;:()!?"
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+\.[\w.]+\b|(?<![\w/])/[\w\-./?=&%#]*[\w/]")
_HALF_NEXT_TO_CJK = re.compile(rf"[{CJK}][{re.escape(HALF_WIDTH)}]|[{re.escape(HALF_WIDTH)}][{CJK}]")
# A snake_case word that starts a dotted identifier is part of that identifier, judged as a whole.
_SNAKE = re.compile(r"(?<![\w.-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-]|\.[a-z])")
# Dotted identifiers (error codes ``access.role_not_allowed``, model labels ``accidents.evidencereview``);
# file names and host names are not codes.
_DOTTED = re.compile(r"(?<![\w.-])[a-z][a-z0-9_]+(?:\.[a-z][a-z0-9_]+)+(?![\w-])")
_NOT_CODE_SUFFIXES = frozenset(
    {"pdf", "png", "jpg", "jpeg", "txt", "csv", "json", "html", "com", "cn", "org", "net"}
)
_ENGLISH_WORD = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*[.,;:!?]?|[A-Z][a-z]+[.,;:!?]?")
_AFTER_COLON = re.compile(r"[：:]\s*([A-Za-z][A-Za-z0-9_]*)\s*$")
_HAS_CJK = re.compile(f"[{CJK}]")


def _without_urls(text: str) -> str:
    return _URL.sub(" ", text)


def half_width_problems(text: str) -> list[str]:
    """Half-width , ; : ( ) ! ? directly next to a Chinese character (STYLE: full-width in Chinese
    copy); one problem per text, naming the marks."""
    cleaned = _without_urls(text)
    matches = list(_HALF_NEXT_TO_CJK.finditer(cleaned))
    if not matches:
        return []
    marks = dict.fromkeys(next(c for c in m.group() if c in HALF_WIDTH) for m in matches)
    first = matches[0]
    excerpt = cleaned[max(0, first.start() - 16) : first.end() + 24]
    return [f"half-width {' '.join(marks)} in Chinese text: “{excerpt}”"]


def _beside_its_meaning(text: str, start: int, end: int) -> bool:
    """A code in brackets after Chinese words (``事故案件（accidents.accidentcase）``)."""
    before, after = text[:start].rstrip(), text[end:].lstrip()
    return bool(_HAS_CJK.search(text)) and before.endswith(("(", "（")) and after.startswith((")", "）"))


def snake_case_problems(text: str) -> list[str]:
    """Identifiers such as ``resident_id``, ``online_query`` or ``access.role_not_allowed`` shown to a
    person, unless in brackets beside their meaning."""
    cleaned = _without_urls(text)
    found: list[str] = []
    for regex in (_SNAKE, _DOTTED):
        for m in regex.finditer(cleaned):
            code = m.group()
            if regex is _DOTTED and code.rsplit(".", 1)[-1] in _NOT_CODE_SUFFIXES:
                continue
            if not _beside_its_meaning(cleaned, m.start(), m.end()) and code not in found:
                found.append(code)
    return [f"raw code {code!r} in “{text[:80]}”" for code in found]


def choice_code_problems(text: str, codes: frozenset[str]) -> list[str]:
    """A stored choice value shown bare: the whole text of a node is the code (``M``, ``online``,
    ``10y``), or the code is the value after a label's colon (``注册方式：online``).

    Numbers are never codes here (plate types ``02`` read as numbers beside their words), and a
    code beside its meaning in the same node (``A 正常``, ``有效 valid``) is allowed.
    """
    stripped = text.strip(" ：:，,。.;；")
    if "_" in stripped:
        return []  # an identifier: snake_case_problems reports it
    if stripped in codes and not stripped.isdigit():
        return [f"raw code {stripped!r} shown bare"]
    after = _AFTER_COLON.search(text)
    if after and after.group(1) in codes and _HAS_CJK.search(text):
        return [f"raw code {after.group(1)!r} in “{text[:80]}”"]
    return []


def english_only_problems(text: str) -> list[str]:
    """In the Chinese UI: a text of English words with no Chinese (an untranslated string).

    Brand and model names (``Model 3``, ``AION S``) have at most one word with lower-case
    letters; bilingual labels (``小型载客汽车 Small passenger car``) contain Chinese; ids and
    codes with digits (``DL1 609998c3-…``) are not words.
    """
    if _HAS_CJK.search(text):
        return []
    words = [token for token in _without_urls(text).split() if _ENGLISH_WORD.fullmatch(token)]
    if len(words) >= 2:
        return [f"English text in the Chinese UI: “{text[:80]}”"]
    return []


def text_problems(
    texts: Iterable[dict],
    *,
    codes: frozenset[str],
    chinese_ui: bool,
    ignore: Iterable[str] = (),
    bilingual: bool = False,
) -> list[str]:
    """Every rule over the visible texts of one page (``{"text", "en"}`` from INSPECT_JS).

    ``ignore``: data that may look like a code but is not one (the user's own login name).
    ``bilingual``: a document with English lines by design (the licence's English title).
    """
    found: list[str] = []
    ignored = [word for word in ignore if word]
    for item in texts:
        text, marked_english = item["text"], item.get("en", False)
        for word in ignored:
            text = re.sub(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", " ", text).strip()
        if not text:
            continue
        found += snake_case_problems(text)
        if chinese_ui and not marked_english:
            found += half_width_problems(text)
            found += choice_code_problems(text, codes)
            found += [] if bilingual else english_only_problems(text)
    return list(dict.fromkeys(found))


def dead_end_problems(dead_ends: Iterable[dict]) -> list[str]:
    """A notice of unavailability outside `.unavailable`, or one without an `.alternative`."""
    outside = list(dict.fromkeys(f"“{d['snippet']}”" for d in dead_ends if not d["inNotice"]))
    bare = list(
        dict.fromkeys(f"“{d['snippet']}”" for d in dead_ends if d["inNotice"] and not d["alternative"])
    )
    found = []
    if outside:
        found.append(
            "dead end: says the service is unavailable outside an .unavailable notice, with no stated "
            "alternative: " + " / ".join(outside)
        )
    if bare:
        found.append("dead end: .unavailable notice without an .alternative: " + " / ".join(bare))
    return found


def layout_problems(info: dict) -> list[str]:
    found = []
    if info["h1"] != 1:
        found.append(f"{info['h1']} <h1> elements (one expected)")
    if info["scrollWidth"] > info["innerWidth"]:
        found.append(f"page is {info['scrollWidth']} px wide on a {info['innerWidth']} px screen")
    return found


# The PDF standard fonts every reader has; any other font must travel inside the file.
_STANDARD_FONTS = frozenset(
    f"/{name}"
    for name in (
        "Helvetica Helvetica-Bold Helvetica-Oblique Helvetica-BoldOblique Times-Roman Times-Bold "
        "Times-Italic Times-BoldItalic Courier Courier-Bold Courier-Oblique Courier-BoldOblique "
        "Symbol ZapfDingbats"
    ).split()
)


def _font_embedded(font) -> bool:
    descriptor = font.get("/FontDescriptor")
    if descriptor is None and "/DescendantFonts" in font:
        descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
    descriptor = descriptor.get_object() if descriptor is not None else None
    return descriptor is not None and any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def pdf_problems(data: bytes, *, codes: frozenset[str]) -> list[str]:
    """A document a person downloads: the same text rules line by line, and its fonts embedded
    (issue 11, item 4), so it prints the same on a computer without the font."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    found: list[str] = []
    missing: list[str] = []
    for page in reader.pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        for font in fonts.get_object().values() if fonts is not None else ():
            font = font.get_object()
            name = str(font.get("/BaseFont", "?"))
            if name not in _STANDARD_FONTS and not _font_embedded(font) and name not in missing:
                missing.append(name)
    if missing:
        found.append(f"PDF font not embedded: {', '.join(n.lstrip('/') for n in missing)}")
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    lines = [{"text": line.strip(), "en": False} for line in text.splitlines() if line.strip()]
    found += [f"PDF text: {p}" for p in text_problems(lines, codes=codes, chinese_ui=True, bilingual=True)]
    return found


@lru_cache(maxsize=1)
def stored_choice_codes() -> frozenset[str]:
    """Every value a choice field of the platform's models stores (the raw codes). A value that is
    its own label (licence classes such as ``C1``) is what people read, not a code to translate."""
    from django.apps import apps

    codes: set[str] = set()
    for model in apps.get_models():
        if not model.__module__.startswith("jiaoguan."):
            continue
        for field in model._meta.get_fields():
            for value, label in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and value.strip() and str(label).strip() != value:
                    codes.add(value)
    return frozenset(codes)
