"""Checking uploaded files before they are stored (supporting documents, evidence, results).

The kind of a file is what its first bytes say, never what its name or the browser claims:
``%PDF-`` is a PDF, ``FF D8 FF`` a JPEG, ``89 50 4E 47 0D 0A 1A 0A`` a PNG. A file whose name
ends in another kind's extension is refused as forged, and a file of the right kind is opened
(pypdf for a PDF, Pillow for an image) so that a damaged one is refused at upload rather than
when someone tries to read it. Every refusal is a :class:`ValidationFailed` on the field
``file`` with a message in Chinese and English.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings

from PIL import Image
from pypdf import PdfReader

from jiaoguan.core.errors import ValidationFailed

__all__ = ["KINDS", "MAX_IMAGE_PIXELS", "check_upload", "safe_filename"]

# Kind -> (magic bytes, name in Chinese, name in English, extensions that may carry it).
KINDS: dict[str, tuple[bytes, str, str, frozenset[str]]] = {
    "pdf": (b"%PDF-", "PDF文档", "PDF document", frozenset({"pdf"})),
    "jpeg": (b"\xff\xd8\xff", "JPEG图片", "JPEG image", frozenset({"jpg", "jpeg", "jpe", "jfif"})),
    "png": (b"\x89PNG\r\n\x1a\n", "PNG图片", "PNG image", frozenset({"png"})),
}
_LABELS = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG"}

# Largest image accepted, in pixels: above this an image is refused before it is decoded.
MAX_IMAGE_PIXELS = 50_000_000

_FIELD = "file"
_MAX_NAME = 100
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)


def _kind_of(data: bytes) -> str | None:
    for kind, (magic, *_rest) in KINDS.items():
        if data.startswith(magic):
            return kind
    return None


def _extension(name: str) -> str:
    """Lower-case extension of the last path part of ``name`` ("" when there is none)."""
    base = re.split(r"[\\/]", name or "")[-1].strip().rstrip(". ")
    _, dot, ext = base.rpartition(".")
    return ext.strip().lower() if dot else ""


def _mb(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


def _list(kinds: frozenset[str]) -> tuple[str, str]:
    ordered = [_LABELS[kind] for kind in KINDS if kind in kinds]
    return "、".join(ordered), ", ".join(ordered[:-1]) + (" or " if len(ordered) > 1 else "") + ordered[-1]


def _damaged(kind: str, why_zh: str = "", why_en: str = "") -> ValidationFailed:
    _magic, zh, en, _exts = KINDS[kind]
    return ValidationFailed(
        "upload.damaged",
        f"文件已损坏，无法作为{zh}打开{why_zh}，请重新导出或扫描后上传。",
        f"The file is damaged and cannot be opened as a {en}{why_en}; export or scan it again and upload it.",
        field=_FIELD,
        detail={"kind": kind},
    )


def _check_pdf(data: bytes) -> None:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValidationFailed(
                "upload.damaged",
                "PDF 文件设有打开密码，无法读取，请上传未加密的文件。",
                "The PDF is protected by a password and cannot be read; upload it without the password.",
                field=_FIELD,
                detail={"kind": "pdf", "reason": "encrypted"},
            )
        pages = len(reader.pages)
        if pages:
            _ = reader.pages[0].mediabox
    except ValidationFailed:
        raise
    except Exception as exc:  # pypdf raises many kinds of error on broken files
        raise _damaged("pdf") from exc
    if pages < 1:
        raise _damaged("pdf", "（没有任何页面）", " (it has no pages)")


def _check_image(data: bytes, kind: str) -> None:
    fmt = _LABELS[kind]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=(fmt,)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _too_many_pixels(width, height)
                image.verify()
            # verify() does not decode the pixels: decode them too, so that a truncated
            # file is caught (a JPEG at 1/8 scale, which still reads every byte).
            with Image.open(io.BytesIO(data), formats=(fmt,)) as image:
                if kind == "jpeg":
                    image.draft("L", (max(1, width // 8), max(1, height // 8)))
                image.load()
    except ValidationFailed:
        raise
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(0, 0) from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error ...
        raise _damaged(kind) from exc
    if width < 1 or height < 1:
        raise _damaged(kind)


def _too_many_pixels(width: int, height: int) -> ValidationFailed:
    limit = MAX_IMAGE_PIXELS // 10_000
    return ValidationFailed(
        "upload.too_large",
        f"图片像素过多（上限 {limit} 万像素），请缩小后重新上传。",
        f"The image has too many pixels (the limit is {MAX_IMAGE_PIXELS / 1_000_000:g} megapixels); "
        "make it smaller and upload it again.",
        field=_FIELD,
        detail={"max_pixels": MAX_IMAGE_PIXELS, "width": width, "height": height},
    )


def check_upload(
    data: bytes,
    *,
    name: str,
    allowed: frozenset[str] = frozenset({"pdf", "jpeg", "png"}),
    max_bytes: int = 10 * 1024 * 1024,
) -> str:
    """The kind of an uploaded file ("pdf", "jpeg" or "png"), detected from its content.

    Raises :class:`ValidationFailed` (field ``file``) with the code
    ``upload.empty`` for no bytes, ``upload.too_large`` above ``max_bytes`` (or an image of
    more than :data:`MAX_IMAGE_PIXELS`), ``upload.type`` when the content is not one of the
    ``allowed`` kinds, ``upload.extension_mismatch`` when the name's extension says another
    kind than the content, and ``upload.damaged`` when the file cannot be opened (a PDF
    without a page, or with a password; an image Pillow cannot verify or decode).
    """
    unknown = allowed - KINDS.keys()
    if unknown or not allowed:
        raise ValueError(f"unknown upload kinds: {sorted(unknown)}")
    if not data:
        raise ValidationFailed(
            "upload.empty",
            "文件为空，请重新选择文件上传。",
            "The file is empty; choose the file again.",
            field=_FIELD,
        )
    if len(data) > max_bytes:
        limit = _mb(max_bytes)
        raise ValidationFailed(
            "upload.too_large",
            f"文件大小超过 {limit} MB 的上限，请压缩后重新上传。",
            f"The file is larger than the {limit} MB limit; make it smaller and upload it again.",
            field=_FIELD,
            detail={"max_bytes": max_bytes, "size": len(data)},
        )
    kind = _kind_of(data)
    if kind is None or kind not in allowed:
        zh, en = _list(allowed)
        raise ValidationFailed(
            "upload.type",
            f"不支持此文件格式，只能上传 {zh} 格式的文件。",
            f"This kind of file is not accepted; upload a {en} file.",
            field=_FIELD,
            detail={"allowed": [k for k in KINDS if k in allowed]},
        )
    _magic, kind_zh, kind_en, extensions = KINDS[kind]
    ext = _extension(name)
    if ext and ext not in extensions:
        shown = f".{ext}" if re.fullmatch(r"[a-z0-9]{1,10}", ext) else "文件名中"
        shown_en = f".{ext}" if shown.startswith(".") else "an extension"
        raise ValidationFailed(
            "upload.extension_mismatch",
            f"文件扩展名“{shown}”与文件实际内容（{kind_zh}）不符，请上传原始文件，不要修改扩展名。",
            f"The file name ends in {shown_en} but the content is a {kind_en}; "
            "upload the original file without renaming it.",
            field=_FIELD,
            detail={"kind": kind, "extension": ext[:10]},
        )
    if kind == "pdf":
        _check_pdf(data)
    else:
        _check_image(data, kind)
    return kind


def _allowed_char(char: str) -> bool:
    if char in ".-_":
        return True
    if char.isascii():
        return char.isalnum()
    # Letters of any script (CJK ideographs are category Lo); no marks, symbols or controls.
    return unicodedata.category(char).startswith("L")


def safe_filename(name: str) -> str:
    """A file name safe to store and to send back in Content-Disposition.

    Keeps letters (Chinese included), digits, dot, dash and underscore from the last path
    part of ``name``; anything else becomes "_". No leading dot or dash, at most 100
    characters (the extension kept when it is cut), never empty ("file" then).
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKC", base)
    cleaned = "".join(char if _allowed_char(char) else "_" for char in base)
    cleaned = re.sub(r"_+", "_", cleaned)
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    cleaned = re.sub(r"_*\._*", ".", cleaned)
    cleaned = cleaned.strip("._-")
    if not cleaned:
        return "file"
    stem, dot, ext = cleaned.rpartition(".")
    if stem.upper() in _WINDOWS_RESERVED or (not dot and cleaned.upper() in _WINDOWS_RESERVED):
        cleaned = f"_{cleaned}"
        stem, dot, ext = cleaned.rpartition(".")
    if len(cleaned) > _MAX_NAME:
        if dot and stem and 0 < len(ext) <= 10:
            cleaned = stem[: _MAX_NAME - len(ext) - 1].rstrip("._-") + "." + ext
        else:
            cleaned = cleaned[:_MAX_NAME].rstrip("._-")
    return cleaned or "file"
