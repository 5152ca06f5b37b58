"""Upload checks, with real and crafted files."""

from __future__ import annotations

import io

import pypdf
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.uploads import MAX_IMAGE_PIXELS, check_upload, safe_filename


def small_pdf(pages: int = 1) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    for number in range(pages):
        canvas.drawString(72, 720, f"page {number + 1}")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "white" if mode == "1" else (200, 80, 40)).save(out, format=fmt)
    return out.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
PDF = small_pdf()


def idat_crc_broken(png: bytes) -> bytes:
    """The PNG with the checksum of its image data zeroed."""
    start = png.index(b"IDAT")
    length = int.from_bytes(png[start - 4 : start], "big")
    crc = start + 4 + length
    return png[:crc] + b"\x00" * 4 + png[crc + 4 :]


def refused(data: bytes, name: str, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        check_upload(data, name=name, **kwargs)
    error = caught.value
    assert error.field == "file"
    assert error.detail["field"] == "file"
    assert error.status == 422
    assert error.message_zh and error.message_en
    return error


# Accepted


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (PDF, "认定书.pdf", "pdf"),
        (PDF, "SCAN.PDF", "pdf"),
        (small_pdf(3), "three pages.pdf", "pdf"),
        (PNG, "现场照片.png", "png"),
        (JPEG, "photo.jpg", "jpeg"),
        (JPEG, "photo.JPEG", "jpeg"),
        (JPEG, "IMG_0001.jfif", "jpeg"),
        (PNG, "no extension", "png"),
        (PDF, "C:\\Users\\张三\\Desktop\\申请书.pdf", "pdf"),
    ],
)
def test_valid_files_pass_and_report_their_kind(data, name, kind):
    assert check_upload(data, name=name) == kind


def test_the_kind_comes_from_the_content_not_the_name():
    assert check_upload(PNG, name="scan") == "png"
    assert check_upload(PDF, name="document") == "pdf"


# upload.empty


def test_empty_file():
    error = refused(b"", "x.pdf")
    assert error.code == "upload.empty"


# upload.too_large


def test_eleven_megabytes_is_too_large_and_the_message_states_the_limit():
    data = PDF + b"\n%" + b"0" * (11 * 1024 * 1024)
    error = refused(data, "big.pdf")
    assert error.code == "upload.too_large"
    assert "10 MB" in error.message_zh
    assert "10 MB" in error.message_en
    assert error.detail["max_bytes"] == 10 * 1024 * 1024


def test_a_custom_limit_is_stated_in_the_message():
    error = refused(PNG, "x.png", max_bytes=len(PNG) - 1)
    assert error.code == "upload.too_large"
    limit = f"{(len(PNG) - 1) / 1024 / 1024:g} MB"
    assert limit in error.message_zh and limit in error.message_en
    assert check_upload(PNG, name="x.png", max_bytes=len(PNG)) == "png"


def test_an_image_with_too_many_pixels_is_refused_before_decoding():
    side = int(MAX_IMAGE_PIXELS**0.5) + 10
    data = image_bytes("PNG", (side, side), mode="1")
    assert len(data) < 10 * 1024 * 1024
    error = refused(data, "huge.png")
    assert error.code == "upload.too_large"
    assert error.detail["max_pixels"] == MAX_IMAGE_PIXELS


# upload.type


def test_gif_is_not_an_allowed_type_and_the_message_lists_the_allowed_kinds():
    gif = image_bytes("GIF")
    assert gif.startswith(b"GIF8")
    error = refused(gif, "x.gif")
    assert error.code == "upload.type"
    for label in ["PDF", "JPEG", "PNG"]:
        assert label in error.message_zh
        assert label in error.message_en
    assert "只能上传" in error.message_zh
    assert error.detail["allowed"] == ["pdf", "jpeg", "png"]


@pytest.mark.parametrize(
    "data",
    [
        b"hello world",
        b"<html><script>alert(1)</script></html>",
        b"PK\x03\x04zipfile",
        b"MZ\x90\x00",
        b" %PDF-1.7",
    ],
    ids=["text", "html", "zip", "exe", "pdf after a space"],
)
def test_content_of_another_kind_is_refused(data):
    assert refused(data, "x.pdf").code == "upload.type"


def test_a_kind_outside_allowed_is_refused_and_only_allowed_kinds_are_listed():
    error = refused(PNG, "x.png", allowed=frozenset({"pdf"}))
    assert error.code == "upload.type"
    assert "PDF" in error.message_zh and "PDF" in error.message_en
    assert "PNG" not in error.message_zh and "JPEG" not in error.message_en
    assert check_upload(PDF, name="x.pdf", allowed=frozenset({"pdf"})) == "pdf"


def test_unknown_allowed_kinds_are_a_programming_error():
    with pytest.raises(ValueError):
        check_upload(PDF, name="x.pdf", allowed=frozenset({"pdf", "docx"}))


# upload.extension_mismatch


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (PNG, "x.pdf"),
        (PDF, "x.jpg"),
        (JPEG, "x.png"),
        (PNG, "x.jpeg"),
        (PDF, "report.pdf.exe"),
        (PNG, "x.gif"),
        (PDF, "../../x.html"),
    ],
)
def test_forged_extension(data, name):
    error = refused(data, name)
    assert error.code == "upload.extension_mismatch"


def test_forged_extension_message_names_the_extension_and_the_real_kind():
    error = refused(PNG, "x.pdf")
    assert ".pdf" in error.message_zh and "PNG" in error.message_zh
    assert ".pdf" in error.message_en and "PNG" in error.message_en


# upload.damaged


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-" + b"garbage " * 200,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
        PDF[: len(PDF) // 3],
    ],
    ids=["garbage", "no pages tree", "truncated"],
)
def test_damaged_pdf(data):
    error = refused(data, "x.pdf")
    assert error.code == "upload.damaged"
    assert error.detail["kind"] == "pdf"


def test_pdf_without_pages_is_damaged():
    writer = pypdf.PdfWriter()
    out = io.BytesIO()
    writer.write(out)
    assert len(pypdf.PdfReader(io.BytesIO(out.getvalue())).pages) == 0
    error = refused(out.getvalue(), "empty.pdf")
    assert error.code == "upload.damaged"


def test_password_protected_pdf_is_refused_as_unreadable():
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(PDF)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    error = refused(out.getvalue(), "locked.pdf")
    assert error.code == "upload.damaged"
    assert error.detail.get("reason") == "encrypted"


def test_pdf_with_only_an_owner_password_opens():
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(PDF)))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    assert check_upload(out.getvalue(), name="print-protected.pdf") == "pdf"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "x.png"),
        (PNG[: len(PNG) - 20], "x.png"),
        (PNG[:29] + b"\x00" * 4 + PNG[33:], "x.png"),
        (idat_crc_broken(PNG), "x.png"),
        (b"\xff\xd8\xff" + b"\x00" * 100, "x.jpg"),
        (image_bytes("JPEG", (640, 480))[:1500], "x.jpg"),
    ],
    ids=[
        "png header only",
        "png truncated",
        "png header crc",
        "png data crc",
        "jpeg header only",
        "jpeg truncated",
    ],
)
def test_damaged_image(data, name):
    error = refused(data, name)
    assert error.code == "upload.damaged"


# safe_filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("认定书.pdf", "认定书.pdf"),
        ("photo_01-a.JPG", "photo_01-a.JPG"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\张三\\事故现场 照片(1).jpg", "事故现场_照片_1.jpg"),
        ("..", "file"),
        ("", "file"),
        ("////", "file"),
        ("***", "file"),
        (".bashrc", "bashrc"),
        ("-rf.pdf", "rf.pdf"),
        ("ｒｅｐｏｒｔ．ｐｄｆ", "report.pdf"),
        ("evil\u202egnp.exe", "evil_gnp.exe"),
        ("a\x00b.pdf", "a_b.pdf"),
        ("CON.txt", "_CON.txt"),
        ("<script>.png", "script.png"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_cuts_to_100_characters_keeping_the_extension():
    cut = safe_filename("事" * 300 + ".pdf")
    assert len(cut) == 100
    assert cut.endswith(".pdf")
    assert len(safe_filename("x" * 300)) == 100
