"""QR and PDF rendering, checked by reading the produced artefacts back."""

from __future__ import annotations

import io
import math
import random

import pypdf
import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from jiaoguan.credentials import render
from jiaoguan.credentials.render import credential_pdf, decode_qr_image, qr_png, qr_svg, qr_version

# The QR alphanumeric character set, which base45 uses.
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
MM = 72 / 25.4


def token(prefix: str, length: int, seed: int = 7) -> str:
    """A base45-like token of exactly ``length`` characters that uses every alphanumeric
    character at least once."""
    body_length = length - len(prefix)
    rng = random.Random(seed)
    body = list(ALPHANUMERIC) + [rng.choice(ALPHANUMERIC) for _ in range(body_length - len(ALPHANUMERIC))]
    rng.shuffle(body)
    text = prefix + "".join(body)
    assert len(text) == length
    return text


LONG = token("DL1:", 300)
SHORT = "VI1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDE"

PDF_ARGS: dict = {
    "title_zh": "机动车检验合格标志电子凭证",
    "title_en": "Electronic Certificate of Motor Vehicle Inspection Mark",
    "number": "411700202600012345",
    "rows": [
        ("号牌号码", "豫Q12345"),
        ("号牌种类", "小型汽车"),
        ("车辆类型", "小型普通客车"),
        ("车辆识别代号", "LGBH52E06KY012345"),
        ("检验日期", "2026年03月15日"),
    ],
    "validity": "有效期至 2027年03月31日",
    "issuer": "驻马店市公安局交通警察支队车辆管理所",
    "note": "本凭证与纸质标志具有同等效力，扫码核验当前状态",
}


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def rasterise(pdf: bytes, dpi: int = 300) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[0].render(scale=dpi / 72).to_pil()
    finally:
        document.close()


# QR codes


@pytest.mark.parametrize("text", [LONG, SHORT], ids=["300 chars", "short"])
def test_png_decodes_to_exactly_the_text(text):
    assert decode_qr_image(qr_png(text)) == [text]


@pytest.mark.parametrize("text", [LONG, SHORT, "VI1:ABC"], ids=["300 chars", "short", "7 chars"])
def test_png_is_error_correction_m_even_when_a_higher_level_would_fit(text):
    # "VI1:ABC" also fits version 1 at level H, so a boosted level would show here.
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(text))))
    assert barcode.ec_level == "M"


def test_png_size_follows_version_scale_and_border():
    image = Image.open(io.BytesIO(qr_png(LONG, scale=3, border=2)))
    modules = 17 + 4 * qr_version(LONG)
    assert image.format == "PNG"
    assert image.size == ((modules + 2 * 2) * 3,) * 2


def test_300_alphanumeric_characters_fit_version_10_at_m():
    # Version 10 at M holds 311 alphanumeric characters; a licence-size token must fit.
    assert qr_version(LONG) <= 10


def test_320_alphanumeric_characters_need_more_than_version_10():
    assert qr_version(token("DL1:", 320)) > 10


def test_short_text_gets_version_1():
    assert qr_version("VI1:ABC") == 1


def test_svg_is_inline_markup_with_role_and_label():
    markup = qr_svg(SHORT, label="检验标志电子凭证二维码")
    assert markup.startswith("<svg")
    assert "<?xml" not in markup
    assert 'role="img"' in markup
    assert 'aria-label="检验标志电子凭证二维码"' in markup


def test_svg_label_is_escaped():
    markup = qr_svg(SHORT, label='A "quoted" <b>')
    assert 'aria-label="A &quot;quoted&quot; &lt;b&gt;"' in markup
    assert "<b>" not in markup


def test_svg_without_label_still_has_an_accessible_name():
    assert 'aria-label="二维码"' in qr_svg(SHORT)


# Reading uploaded images


def test_decode_rejects_random_bytes():
    data = random.Random(3).randbytes(5000)
    with pytest.raises(ValueError, match=r"^not an image$"):
        decode_qr_image(data)


def test_decode_rejects_formats_other_than_png_jpeg_webp():
    image = Image.open(io.BytesIO(qr_png(SHORT)))
    with pytest.raises(ValueError, match=r"^not an image$"):
        decode_qr_image(png_bytes(image.convert("P"), "GIF"))


def test_decode_blank_png_finds_nothing():
    assert decode_qr_image(png_bytes(Image.new("L", (400, 300), 255))) == []


@pytest.mark.parametrize("size", [(4001, 10), (10, 4001), (20000, 20000)])
def test_decode_rejects_huge_dimensions(size):
    # Mode "1" keeps even 20000 x 20000 blank pixels a small file: only the header is big.
    data = png_bytes(Image.new("1", size, 1))
    assert len(data) < 8 * 1024 * 1024
    with pytest.raises(ValueError, match=r"^image too large$"):
        decode_qr_image(data)


def test_decode_accepts_the_largest_allowed_side():
    image = Image.new("L", (4000, 4000), 255)
    image.paste(Image.open(io.BytesIO(qr_png(SHORT))), (1800, 1800))
    assert decode_qr_image(png_bytes(image)) == [SHORT]


def test_decode_rejects_more_than_8_mb():
    data = qr_png(SHORT) + b"\0" * (8 * 1024 * 1024)
    with pytest.raises(ValueError, match=r"^image too large$"):
        decode_qr_image(data)


def test_decode_reads_a_photo_like_jpeg_with_two_codes():
    other = token("VI1:", 120, seed=11)
    canvas = Image.new("RGB", (1400, 800), (230, 226, 215))
    canvas.paste(Image.open(io.BytesIO(qr_png(SHORT))).convert("RGB"), (60, 100))
    canvas.paste(Image.open(io.BytesIO(qr_png(other))).convert("RGB").rotate(90), (760, 100))
    assert sorted(decode_qr_image(png_bytes(canvas, "JPEG"))) == sorted([SHORT, other])


def test_decode_reads_dark_modules_on_a_transparent_background():
    gray = Image.open(io.BytesIO(qr_png(SHORT))).convert("L")
    # Black everywhere, opaque only where the modules are dark.
    transparent = Image.new("LA", gray.size, 0)
    transparent.putalpha(gray.point(lambda value: 255 - value))
    assert decode_qr_image(png_bytes(transparent)) == [SHORT]


def test_decode_webp():
    image = Image.open(io.BytesIO(qr_png(LONG))).convert("RGB")
    assert decode_qr_image(png_bytes(image, "WEBP")) == [LONG]


# Printed credentials


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return credential_pdf(**PDF_ARGS, qr_text=LONG)


def test_pdf_is_one_a6_portrait_page(pdf):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(105 * MM, abs=1)
    assert float(box.height) == pytest.approx(148 * MM, abs=1)


def test_pdf_text_holds_title_number_rows_validity_issuer_and_note(pdf):
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for expected in (
        "机动车检验合格标志电子凭证",
        "Electronic Certificate of Motor Vehicle Inspection Mark",
        "411700202600012345",
        "豫Q12345",
        "小型普通客车",
        "车辆识别代号",
        "2027年03月31日",
        "印章",
        "本凭证与纸质标志具有同等效力",
    ):
        assert expected in text, expected
    assert "驻马店市公安局" in text


def test_pdf_metadata_title(pdf):
    metadata = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None
    assert metadata.title is not None
    assert "机动车检验合格标志电子凭证" in metadata.title


def _font_files(reader: pypdf.PdfReader) -> dict[str, bool]:
    """Every font the first page uses, and whether its glyphs are embedded in the file."""
    found = {}
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = font.get("/FontDescriptor")
        if descriptor is None and "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        found[str(font["/BaseFont"])] = any(
            k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
        )
    return found


@pytest.mark.skipif(render.cjk_font_path() is None, reason="no CJK TrueType font on this machine")
def test_pdf_embeds_every_font_it_uses(pdf):
    # issue 11: a printed credential looks the same on any reader, with no font pack installed.
    fonts = _font_files(pypdf.PdfReader(io.BytesIO(pdf)))
    assert fonts and all(fonts.values()), fonts
    assert not any("Helvetica" in name or "STSong" in name for name in fonts), fonts


def test_printed_qr_scans_back_to_exactly_the_token_at_300_dpi(pdf):
    page = rasterise(pdf, 300)
    assert decode_qr_image(png_bytes(page)) == [LONG]


def test_printed_qr_is_at_least_35_mm_and_level_m(pdf):
    page = rasterise(pdf, 300)
    (barcode,) = zxingcpp.read_barcodes(page.convert("L"))
    assert barcode.ec_level == "M"
    corners = barcode.position
    side_px = math.dist((corners.top_left.x, corners.top_left.y), (corners.top_right.x, corners.top_right.y))
    assert side_px / 300 * 25.4 >= 35


def test_pdf_is_deterministic():
    assert credential_pdf(**PDF_ARGS, qr_text=SHORT) == credential_pdf(**PDF_ARGS, qr_text=SHORT)


def test_pdf_differs_when_the_token_differs(pdf):
    assert credential_pdf(**PDF_ARGS, qr_text=SHORT) != pdf


def test_pdf_wraps_a_long_value_and_still_scans():
    args = {
        **PDF_ARGS,
        "rows": [
            *PDF_ARGS["rows"],
            ("住址", "河南省驻马店市驿城区解放路街道人民街道办事处某某小区3号楼2单元501室"),
        ],
    }
    data = credential_pdf(**args, qr_text=SHORT)
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "501室" in text
    assert decode_qr_image(png_bytes(rasterise(data, 200))) == [SHORT]


def test_pdf_refuses_rows_that_cannot_fit():
    rows = [(f"项目{i}", "值") for i in range(40)]
    with pytest.raises(ValueError, match="too many rows"):
        credential_pdf(**{**PDF_ARGS, "rows": rows}, qr_text=SHORT)
