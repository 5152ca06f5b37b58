"""Drawing and reading credential QR codes, and printing credentials as PDF.

Pure functions: no ORM, no settings. QR codes are drawn with segno at error correction M
(never boosted, so a given text always gets the same version) in the most compact mode;
signed tokens are uppercase base45 with a prefix such as ``VI1:``, which is alphanumeric
mode. Uploaded images are read with zxing-cpp through Pillow. Printed credentials are one
A6 page drawn with reportlab, laid out like the paper form: title, number, body, validity,
QR and seal area, and for a licence the holder's photo.

Fonts: a PDF embeds the font it uses, so that it prints the same everywhere: the platform's
document font (core.fonts), set for every character, Latin too. Without one, PDFs fall back
to STSong-Light, which the reader must supply, and the offline card draws no Chinese text.
"""

from __future__ import annotations

import functools
import html
import io
import logging
import warnings

import segno
import zxingcpp
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from jiaoguan.core import fonts

from .photos import CARD_PHOTO_ORIGIN, CARD_PHOTO_SIZE

logger = logging.getLogger(__name__)

QR_ERROR = "m"

# Uploaded images: the largest accepted, and the formats a phone camera or screenshot gives.
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_IMAGE_SIDE = 4000
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")

# Printed QR: side of the symbol without its quiet zone. At version 10 (57 modules) a
# module is 0.7 mm, comfortably above what phone cameras read from paper.
PDF_QR_SIDE = 40 * mm
PDF_QR_QUIET_MODULES = 4

# The holder's photo on a printed licence: 22 mm wide, in the fixed form's 4:5 proportion.
PDF_PHOTO_WIDTH = 22 * mm

_GREY = Color(0.35, 0.35, 0.35)
_LIGHT_GREY = Color(0.6, 0.6, 0.6)


def make_qr(text: str) -> segno.QRCode:
    return segno.make_qr(text, error=QR_ERROR, boost_error=False)


def qr_png(text: str, *, scale: int = 6, border: int = 4) -> bytes:
    """PNG of ``text`` as a QR code at error correction M; ``scale`` pixels per module."""
    out = io.BytesIO()
    make_qr(text).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_svg(text: str, *, scale: int = 4, label: str = "") -> str:
    """Inline SVG markup (no XML declaration, no namespace) for embedding in an HTML page.

    The element has ``role="img"`` and ``aria-label`` set to ``label`` (escaped), or to
    "二维码" when no label is given, so that screen readers never meet an unnamed image.
    """
    markup = make_qr(text).svg_inline(scale=scale, svgclass="qr", lineclass="qr-line")
    name = html.escape(label or "二维码", quote=True)
    head = "<svg"
    if not markup.startswith(head):  # pragma: no cover - segno always starts with the element
        raise RuntimeError("unexpected SVG from segno")
    return f'{head} role="img" aria-label="{name}"{markup[len(head) :]}'


def qr_version(text: str) -> int:
    """QR version (1-40) that segno chooses for ``text`` at error correction M."""
    version = make_qr(text).version
    if not isinstance(version, int):  # pragma: no cover - make_qr never makes Micro QR
        raise TypeError("expected a QR code version")
    return version


def decode_qr_image(data: bytes) -> list[str]:
    """Text of every QR code found in an uploaded PNG, JPEG or WebP image.

    Raises ``ValueError("image too large")`` above 8 MB or 4000 x 4000 pixels (checked on
    the header, before the pixels are decoded) and ``ValueError("not an image")`` for bytes
    that are not such an image. Returns ``[]`` when the image holds no readable QR code.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError("image too large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ValueError("image too large") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError("not an image") from exc
    with image:
        width, height = image.size
        if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
            raise ValueError("image too large")
        if width < 1 or height < 1:
            raise ValueError("not an image")
        try:
            gray = _to_gray(image)
        except (OSError, SyntaxError, ValueError) as exc:
            raise ValueError("not an image") from exc
    barcodes = zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        text_mode=zxingcpp.TextMode.Plain,
    )
    return [barcode.text for barcode in barcodes]


def _to_gray(image: Image.Image) -> Image.Image:
    """Greyscale pixels, with any transparency laid over white (dark modules on a clear
    background would otherwise turn black on black)."""
    image.load()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("L")
    return image.convert("L")


def cjk_font_path() -> str | None:
    """The Chinese TrueType font file to draw and embed, or None when the machine has none."""
    return fonts.cjk_font_path()


def register_fonts() -> str:
    """Register the PDF font and return its name: the embedded TrueType font when there is one."""
    return fonts.register_cjk_font()


def _font_for(text: str, *, bold: bool = False) -> str:
    """One font for every character, so that the only font in the PDF is the embedded one."""
    return register_fonts()


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Split ``text`` into lines no wider than ``width``: at any character for Chinese
    (which has no spaces), at the last space when a Latin word would be cut."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            candidate = line + char
            if line and pdfmetrics.stringWidth(candidate, font, size) > width:
                cut = line.rfind(" ")
                if char != " " and cut > 0 and line[cut + 1 :].isascii():
                    lines.append(line[:cut])
                    line = line[cut + 1 :] + char
                else:
                    lines.append(line.rstrip())
                    line = char.lstrip()
            else:
                line = candidate
        lines.append(line)
    return lines


def _fit_size(text: str, font: str, size: float, width: float, *, smallest: float) -> float:
    """Largest font size up to ``size`` at which ``text`` fits on one line of ``width``."""
    measured = pdfmetrics.stringWidth(text, font, size)
    if measured <= width:
        return size
    return max(smallest, size * width / measured)


def draw_qr(canvas: Canvas, qr: segno.QRCode, x: float, y: float, side: float) -> None:
    """Draw the QR as vector squares (sharp at any printer resolution), with a white
    quiet zone of four modules; ``x, y`` is the lower left corner of the symbol."""
    modules = len(qr.matrix)
    unit = side / modules
    quiet = PDF_QR_QUIET_MODULES * unit
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.rect(x - quiet, y - quiet, side + 2 * quiet, side + 2 * quiet, stroke=0, fill=1)
    canvas.setFillColor(black)
    path = canvas.beginPath()
    for row_index, row in enumerate(qr.matrix):
        top = y + side - row_index * unit
        column = 0
        while column < modules:
            if row[column]:
                start = column
                while column < modules and row[column]:
                    column += 1
                path.rect(x + start * unit, top - unit, (column - start) * unit, unit)
            else:
                column += 1
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def credential_pdf(
    *,
    title_zh: str,
    title_en: str,
    number: str,
    rows: list[tuple[str, str]],
    qr_text: str,
    validity: str,
    issuer: str,
    note: str = "",
    photo: bytes | None = None,
) -> bytes:
    """One A6 portrait page laid out like the paper credential.

    From the top: the Chinese title with the English title small under it, the credential
    number, the rows as label and value (with ``photo``, the holder's photo to their right,
    as on the paper licence), the validity line; at the bottom the QR (40 mm, error
    correction M) beside a dashed seal area holding the issuer's name, and the note in
    small type. The same arguments always give the same bytes.

    Raises ``ValueError`` when the rows do not fit on the page.
    """
    font = register_fonts()
    page_width, page_height = A6
    margin = 8 * mm
    content_width = page_width - 2 * margin
    out = io.BytesIO()
    # The initial font too, or reportlab lists Helvetica, which is never embedded.
    canvas = Canvas(out, pagesize=A6, invariant=1, lang="zh-CN", pageCompression=1, initialFontName=font)
    canvas.setTitle(f"{title_zh} {number}".strip())
    canvas.setSubject(title_en)
    canvas.setAuthor(issuer)
    canvas.setCreator("jiaoguan")

    # Frame of the form.
    canvas.setLineWidth(1.2)
    canvas.rect(4 * mm, 4 * mm, page_width - 8 * mm, page_height - 8 * mm, stroke=1, fill=0)
    canvas.setLineWidth(0.4)
    canvas.rect(5 * mm, 5 * mm, page_width - 10 * mm, page_height - 10 * mm, stroke=1, fill=0)

    # Titles and number.
    center = page_width / 2
    title_font = _font_for(title_zh, bold=True)
    title_size = _fit_size(title_zh, title_font, 13, content_width, smallest=8)
    canvas.setFont(title_font, title_size)
    canvas.drawCentredString(center, page_height - 14 * mm, title_zh)
    en_font = _font_for(title_en)
    en_size = _fit_size(title_en, en_font, 6.5, content_width, smallest=4.5)
    canvas.setFont(en_font, en_size)
    canvas.setFillColor(_GREY)
    canvas.drawCentredString(center, page_height - 18.5 * mm, title_en)
    canvas.setFillColor(black)
    number_y = page_height - 24.5 * mm
    canvas.setFont(register_fonts(), 7.5)
    canvas.drawString(margin, number_y, "编号 No.")
    number_font = _font_for(number, bold=True)
    number_x = margin + pdfmetrics.stringWidth("编号 No.", register_fonts(), 7.5) + 2 * mm
    number_size = _fit_size(number, number_font, 8.5, page_width - margin - number_x, smallest=5)
    canvas.setFont(number_font, number_size)
    canvas.drawString(number_x, number_y, number)
    canvas.setLineWidth(0.6)
    rule_top = page_height - 27 * mm
    canvas.line(margin, rule_top, page_width - margin, rule_top)

    # Bottom block, measured first so the rows know how much room they have.
    note_size = 6.0
    note_leading = note_size * 1.35
    note_lines = _wrap(note, register_fonts(), note_size, content_width) if note else []
    note_bottom = 8 * mm
    qr_bottom = note_bottom + len(note_lines) * note_leading + 5 * mm
    qr_top = qr_bottom + PDF_QR_SIDE
    validity_y = qr_top + 5 * mm
    rule_bottom = validity_y + 4.5 * mm

    # Rows: label column as wide as the widest label, values wrapped in the rest.
    label_size, value_size = 7.5, 9.0
    label_width = max(
        (pdfmetrics.stringWidth(label, register_fonts(), label_size) for label, _ in rows), default=0
    )
    value_x = margin + label_width + 4 * mm
    value_width = page_width - margin - value_x
    if photo is not None:
        photo_width = PDF_PHOTO_WIDTH
        photo_height = photo_width * CARD_PHOTO_SIZE[1] / CARD_PHOTO_SIZE[0]
        photo_x = page_width - margin - photo_width
        photo_top = rule_top - 3 * mm
        canvas.drawImage(
            ImageReader(io.BytesIO(photo)), photo_x, photo_top - photo_height, photo_width, photo_height
        )
        canvas.setLineWidth(0.4)
        canvas.rect(photo_x, photo_top - photo_height, photo_width, photo_height, stroke=1, fill=0)
        value_width -= photo_width + 3 * mm
    wrapped = [(label, _wrap(value, register_fonts(), value_size, value_width)) for label, value in rows]
    line_count = sum(len(lines) for _, lines in wrapped)
    available = rule_top - rule_bottom - 6 * mm
    leading = 5.2 * mm
    if line_count * leading > available:
        leading = available / max(line_count, 1)
        if leading < 3.6 * mm:
            raise ValueError("too many rows for an A6 credential")
        value_size = min(value_size, leading / mm * 1.7)
        label_size = min(label_size, value_size)
    y = rule_top - 6 * mm
    for label, lines in wrapped:
        canvas.setFillColor(_GREY)
        canvas.setFont(register_fonts(), label_size)
        canvas.drawString(margin, y, label)
        canvas.setFillColor(black)
        canvas.setFont(register_fonts(), value_size)
        for line in lines:
            canvas.drawString(value_x, y, line)
            y -= leading

    # Validity.
    canvas.setLineWidth(0.6)
    canvas.line(margin, rule_bottom, page_width - margin, rule_bottom)
    validity_font = _font_for(validity, bold=True)
    canvas.setFont(validity_font, _fit_size(validity, validity_font, 9, content_width, smallest=6))
    canvas.drawString(margin, validity_y, validity)

    # QR on the left, its quiet zone inside the frame.
    qr = make_qr(qr_text)
    draw_qr(canvas, qr, margin, qr_bottom, PDF_QR_SIDE)

    # Seal area on the right: a dashed circle with the issuer's name inside.
    seal_left = margin + PDF_QR_SIDE + 6 * mm
    seal_center_x = (seal_left + page_width - margin) / 2
    seal_radius = 16 * mm
    seal_center_y = qr_bottom + PDF_QR_SIDE / 2 - 1.5 * mm
    canvas.setFont(register_fonts(), 6.5)
    canvas.setFillColor(_GREY)
    canvas.drawCentredString(seal_center_x, seal_center_y + seal_radius + 2 * mm, "签发机关")
    canvas.saveState()
    canvas.setStrokeColor(_LIGHT_GREY)
    canvas.setLineWidth(0.7)
    canvas.setDash(3, 2)
    canvas.circle(seal_center_x, seal_center_y, seal_radius, stroke=1, fill=0)
    canvas.restoreState()
    canvas.setFillColor(black)
    issuer_size = 7.5
    issuer_lines = _wrap(issuer, register_fonts(), issuer_size, seal_radius * 1.6)
    issuer_leading = issuer_size * 1.3
    canvas.setFont(register_fonts(), issuer_size)
    first = seal_center_y + (len(issuer_lines) - 1) * issuer_leading / 2 - issuer_size * 0.35
    for index, line in enumerate(issuer_lines):
        canvas.drawCentredString(seal_center_x, first - index * issuer_leading, line)
    canvas.setFillColor(_LIGHT_GREY)
    canvas.setFont(register_fonts(), 6)
    canvas.drawCentredString(seal_center_x, seal_center_y - seal_radius + 3 * mm, "印章")

    # Note in small type along the bottom.
    canvas.setFillColor(_GREY)
    canvas.setFont(register_fonts(), note_size)
    for index, line in enumerate(note_lines):
        canvas.drawString(margin, note_bottom + (len(note_lines) - 1 - index) * note_leading, line)

    canvas.showPage()
    canvas.save()
    return out.getvalue()


# ---------------------------------------------------------------- the offline card (PNG)

CARD_WIDTH = 720
_CARD_INK = (20, 24, 32)
_CARD_MUTED = (90, 96, 110)
_CARD_BAND = (22, 74, 140)


@functools.cache
def _card_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = cjk_font_path()
    if path is not None:
        return ImageFont.truetype(path, size, index=0)
    return ImageFont.load_default(size)


def _card_text(text: str) -> str:
    """What the card can draw of ``text``: all of it with the CJK font, else only ASCII."""
    if cjk_font_path() is not None or text.isascii():
        return text
    return "".join(char for char in text if char.isascii()).strip()


def offline_card_png(
    *, title_zh: str, title_en: str, rows: list[tuple[str, str]], qr_text: str, photo: bytes, note: str = ""
) -> bytes:
    """The offline e-licence as one PNG to keep or forward: photo, name and rows, then the QR.

    The photo (already in the fixed form) is pasted pixel for pixel at ``CARD_PHOTO_ORIGIN``
    and nothing is drawn over it, so an offline verifier can crop it back and compare its
    digest with the one signed in the QR (photos.digest_in_image). A lossless PNG keeps that
    possible; a re-saved JPEG copy shows the same picture but no longer compares.
    """
    qr_image = Image.open(io.BytesIO(qr_png(qr_text, scale=1, border=4))).convert("L")
    qr_scale = max(4, 440 // qr_image.width)
    qr_side = qr_image.width * qr_scale
    left, top = CARD_PHOTO_ORIGIN
    photo_width, photo_height = CARD_PHOTO_SIZE
    qr_top = top + photo_height + 36
    height = qr_top + qr_side + (76 if note else 36)
    card = Image.new("RGB", (CARD_WIDTH, height), (255, 255, 255))
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, CARD_WIDTH, 92), fill=_CARD_BAND)
    draw.text((left, 18), _card_text(title_zh), font=_card_font(34), fill=(255, 255, 255))
    draw.text((left, 62), title_en, font=_card_font(16), fill=(214, 228, 245))
    with Image.open(io.BytesIO(photo)) as picture:
        card.paste(picture.convert("RGB"), (left, top))
    draw.rectangle((left - 2, top - 2, left + photo_width + 1, top + photo_height + 1), outline=_CARD_MUTED)
    x = left + photo_width + 32
    y = top
    for index, (label, value) in enumerate(rows):
        draw.text((x, y), _card_text(label), font=_card_font(17), fill=_CARD_MUTED)
        value_size = 30 if index == 0 else 22
        draw.text((x, y + 22), _card_text(value), font=_card_font(value_size), fill=_CARD_INK)
        y += 22 + value_size + 14
    card.paste(
        qr_image.resize((qr_side, qr_side), Image.Resampling.NEAREST).convert("RGB"),
        ((CARD_WIDTH - qr_side) // 2, qr_top),
    )
    if note:
        draw.text((left, qr_top + qr_side + 14), _card_text(note), font=_card_font(16), fill=_CARD_MUTED)
    out = io.BytesIO()
    card.save(out, format="PNG")
    return out.getvalue()
