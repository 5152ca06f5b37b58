"""Accident documents and download stamps, checked by reading the produced artefacts back."""

from __future__ import annotations

import io
import re

import pypdf
import pypdfium2
import pytest
import zxingcpp
from PIL import Image, ImageChops
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.pdfgen.canvas import Canvas

from jiaoguan.accidents.documents import (
    RESPONSIBILITY_LEVELS,
    certificate_pdf,
    determination_pdf,
    query_credential_pdf,
    review_conclusion_pdf,
    review_credential_pdf,
    stamp_image,
    stamp_pdf,
)
from jiaoguan.credentials.render import decode_qr_image

MM = 72 / 25.4
CERTIFICATE_KEYS = {
    "number",
    "accident_number",
    "occurred_at",
    "place",
    "parties",
    "facts",
    "unit",
    "issued_on",
}
UNIT = "驻马店市公安局交通警察支队驿城区大队"
ACCIDENT = "41170220261120000128"
PARTIES = [
    {
        "label": "甲",
        "name": "张**",
        "id_type": "居民身份证",
        "id_number": "4117**********0012",
        "plate": "豫Q12345",
        "insurer": "中国人民财产保险股份有限公司驻马店市分公司",
    },
    {"role": "当事人乙", "name": "李*", "id_type": "居民身份证", "id_number": "4128**********3456"},
]
DETERMINATION: dict = {
    "number": "驻公交认字〔2026〕第00012号",
    "accident_number": ACCIDENT,
    "occurred_at": "2026年11月20日08时30分",
    "place": "驿城区解放大道与雪松大道交叉口",
    "weather": "晴",
    "parties": PARTIES,
    "facts": "2026年11月20日8时30分许，张**驾驶豫Q12345号小型轿车沿解放大道由西向东行驶至雪松大道交叉口时，"
    "未按交通信号灯指示通行，与沿雪松大道由南向北骑行电动自行车的李*相撞，造成李*受伤、两车损坏。",
    "evidence": "现场勘查笔录、现场图、现场照片、路口监控视频、当事人询问笔录证实：张**闯红灯通行，"
    "是造成此事故的全部原因。",
    "responsibility": [("当事人甲 张**", "全部责任"), ("当事人乙 李*", "无责任")],
    "unit": UNIT,
    "issued_on": "2026年11月27日",
}
QR_TEXT = "https://ha.122.gov.cn/accident/query?n=41170220261120000128"
QUERY: dict = {
    "accident_number": ACCIDENT,
    "query_code": "7KQM-2X9P-HT4W",
    "holder": "张**",
    "holder_role": "当事人",
    "channels": [
        "互联网交通安全综合服务管理平台 https://ha.122.gov.cn 【我的主页】→【事故处理进度和结果】",
        "“交管12123”手机APP【业务中心】→【事故处理进度和结果】",
    ],
    "rights": [
        "妥善保管查询码，不得泄露给无关人员。",
        "仅可查询本事故的处理进度和结果。",
        "对处理结果有异议的，可依法申请复核。",
    ],
    "qr_text": QR_TEXT,
    "unit": UNIT,
    "issued_on": "2026年11月27日",
}
REVIEW: dict = {
    "accident_number": ACCIDENT,
    "review_code": "ABCD-EFGH-2345",
    "holder": "张**",
    "person_type": "当事人",
    "id_type": "居民身份证",
    "id_number_masked": "4117**********0012",
    "phone_masked": "138****8000",
    "channels": ["全国互联网交通安全综合服务管理平台", "“交管12123”手机APP"],
    "rights": [
        "妥善保管查阅码。",
        "仅可查阅、复制经审核提供的本事故证据材料，不得擅自公开或者用于其他用途。",
    ],
    "unit": UNIT,
    "issued_on": "2026年11月27日",
}
STAMP = "下载人：张** 2026-11-27 15:20 仅供本事故当事人查阅"


def read(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def squeeze(text: str) -> str:
    """Extracted text without the line breaks and spaces that wrapping puts in."""
    return re.sub(r"\s+", "", text)


def all_text(pdf: bytes) -> str:
    return squeeze("".join(page.extract_text() for page in read(pdf).pages))


def size_of(page: pypdf.PageObject) -> tuple[float, float]:
    return float(page.mediabox.width), float(page.mediabox.height)


def rasterise(pdf: bytes, page: int = 0, dpi: int = 300) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[page].render(scale=dpi / 72).to_pil()
    finally:
        document.close()


def text_positions(page: pypdf.PageObject) -> list[tuple[float, float, str]]:
    """Where each piece of text starts, in page coordinates."""
    found: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((x, y, text))

    page.extract_text(visitor_text=visit)
    return found


def long_facts() -> str:
    sentence = "经查，肇事车辆在雨天路面湿滑的情况下以明显超过限速的速度行驶并未与前车保持安全距离。"
    body = sentence * (5900 // len(sentence))
    last = "最后，当事人甲在事故发生后立即报警并保护现场，积极抢救受伤人员，未驶离现场。"
    text = body + last
    assert len(text) >= 5900
    return text


# Determination


@pytest.fixture(scope="module")
def determination() -> bytes:
    return determination_pdf(**DETERMINATION)


def test_determination_is_one_a4_portrait_page(determination):
    reader = read(determination)
    assert len(reader.pages) == 1
    width, height = size_of(reader.pages[0])
    assert (round(width), round(height)) == (round(A4[0]), round(A4[1]))


def test_determination_text_holds_title_numbers_parties_and_responsibility(determination):
    text = all_text(determination)
    for expected in [
        "道路交通事故认定书",
        "驻公交认字〔2026〕第00012号",
        ACCIDENT,
        "当事人甲",
        "张**",
        "李*",
        "4117**********0012",
        "豫Q12345",
        "中国人民财产保险股份有限公司驻马店市分公司",
        "道路交通事故发生经过",
        "道路交通事故证据及事故形成原因分析",
        "当事人导致交通事故的过错及责任或者意外原因",
        "当事人甲张**：全部责任",
        "当事人乙李*：无责任",
        "印章",
        UNIT,
        "2026年11月27日",
        squeeze(DETERMINATION["facts"]),
    ]:
        assert squeeze(expected) in text, expected


def test_determination_closes_with_the_right_to_apply_for_review(determination):
    notice = (
        "当事人对道路交通事故认定有异议的，可以自道路交通事故认定书送达之日起三日内，"
        "向上一级公安机关交通管理部门提出书面复核申请。"
    )
    text = all_text(determination)
    assert notice in text
    # The notice comes after the responsibility and the seal.
    assert text.index("全部责任") < text.index(UNIT + "2026年11月27日") < text.index(notice)


def test_determination_number_is_top_right_and_title_centred(determination):
    page = read(determination).pages[0]
    width, height = size_of(page)
    positions = text_positions(page)
    (title,) = [(x, y) for x, y, t in positions if t.strip() == "道路交通事故认定书"]
    (number,) = [(x, y) for x, y, t in positions if "第00012号" in t]
    assert height * 0.8 < title[1] < height
    assert number[1] < title[1]
    assert number[0] > width / 2  # right half
    assert title[0] + 9 * 20 / 2 == pytest.approx(width / 2, abs=2)  # 9 glyphs of 20 pt, centred


def fonts_not_embedded(data: bytes) -> list[str]:
    """Every font any page of the PDF uses, that the file does not carry itself."""
    missing = []
    for page in read(data).pages:
        fonts = page["/Resources"].get("/Font", {})
        for key in fonts:
            font = fonts[key].get_object()
            described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = described.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                missing.append(str(font["/BaseFont"]))
    return missing


def test_determination_metadata_and_font(determination):
    reader = read(determination)
    assert reader.metadata.title == "道路交通事故认定书 驻公交认字〔2026〕第00012号"


@pytest.mark.usefixtures("chinese_font")
def test_every_accident_pdf_embeds_its_fonts(determination):
    documents = [
        determination,
        certificate_pdf(**{k: v for k, v in DETERMINATION.items() if k in CERTIFICATE_KEYS}),
        query_credential_pdf(**QUERY),
        review_credential_pdf(**REVIEW),
    ]
    for data in documents:
        assert read(data).pages  # a readable PDF
        assert fonts_not_embedded(data) == []


def test_determination_is_deterministic(determination):
    assert determination_pdf(**DETERMINATION) == determination


def test_one_page_document_has_no_page_numbers(determination):
    assert "第1页" not in all_text(determination)


def test_long_facts_flow_onto_further_pages_without_overflowing():
    facts = long_facts()
    pdf = determination_pdf(**{**DETERMINATION, "facts": facts})
    reader = read(pdf)
    total = len(reader.pages)
    assert total >= 2
    head = "道路交通事故认定书驻公交认字〔2026〕第00012号"
    body = ""
    for index, page in enumerate(reader.pages, start=1):
        page_text = squeeze(page.extract_text())
        # Each page says which it is; each page after the first carries the title and number.
        assert page_text.count(f"第{index}页共{total}页") == 1
        page_text = page_text.replace(f"第{index}页共{total}页", "")
        if index > 1:
            assert page_text.endswith(head)
            page_text = page_text[: -len(head)]
        body += page_text
        width, height = size_of(page)
        for x, y, piece in text_positions(page):
            assert 0 <= x <= width and 0 <= y <= height, piece
    # All of the facts, in order and nothing lost at the page breaks, down to the last sentence.
    assert facts[facts.rindex("最后") :] in body
    assert facts in body


def test_long_party_cells_do_not_break_the_layout():
    parties = [{**PARTIES[0], "insurer": "某某保险公司" * 300}]
    pdf = determination_pdf(**{**DETERMINATION, "parties": parties})
    assert len(read(pdf).pages) >= 2


def test_determination_refuses_unknown_or_missing_responsibility():
    with pytest.raises(ValueError, match="unknown responsibility"):
        determination_pdf(**{**DETERMINATION, "responsibility": [("当事人甲 张**", "大部分责任")]})
    with pytest.raises(ValueError):
        determination_pdf(**{**DETERMINATION, "responsibility": []})


@pytest.mark.parametrize("level", RESPONSIBILITY_LEVELS)
def test_every_responsibility_level_is_printed(level):
    pdf = determination_pdf(**{**DETERMINATION, "responsibility": [("当事人甲 张**", level)]})
    assert f"当事人甲张**：{level}" in all_text(pdf)


def test_markup_in_values_is_printed_as_text():
    pdf = determination_pdf(**{**DETERMINATION, "place": "<b>解放大道</b> & 雪松大道"})
    assert "<b>解放大道</b>&雪松大道" in all_text(pdf)


# Certificate and review conclusion


def test_certificate():
    pdf = certificate_pdf(
        number="驻公交证字〔2026〕第00003号",
        accident_number=ACCIDENT,
        occurred_at="2026年11月20日08时30分",
        place="驿城区解放大道",
        parties=PARTIES,
        facts="经调查，无法确定肇事车辆行驶方向。",
        unit=UNIT,
        issued_on="2026年11月27日",
    )
    reader = read(pdf)
    assert len(reader.pages) == 1
    assert reader.metadata.title == "道路交通事故证明 驻公交证字〔2026〕第00003号"
    text = all_text(pdf)
    for expected in [
        "道路交通事故证明",
        "驻公交证字〔2026〕第00003号",
        ACCIDENT,
        "张**",
        "无法确定肇事车辆行驶方向",
        "成因无法查清",
    ]:
        assert expected in text
    assert "道路交通事故认定书" not in text
    assert "自道路交通事故证明送达之日起三日内" in text


def test_review_conclusion():
    pdf = review_conclusion_pdf(
        number="驻公交复字〔2026〕第00001号",
        accident_number=ACCIDENT,
        applicant="当事人乙 李*",
        request="请求撤销原道路交通事故认定，理由是信号灯故障。",
        conclusion="经复核，原道路交通事故认定事实清楚、证据确实充分、适用法律正确、责任划分公正，予以维持。",
        unit="驻马店市公安局交通警察支队",
        issued_on="2026年12月05日",
    )
    text = all_text(pdf)
    for expected in [
        "道路交通事故认定复核结论",
        "驻公交复字〔2026〕第00001号",
        ACCIDENT,
        "当事人乙李*",
        "信号灯故障",
        "予以维持",
    ]:
        assert expected in text
    assert size_of(read(pdf).pages[0]) == pytest.approx(A4, abs=0.5)


# Query credential


@pytest.fixture(scope="module")
def query_credential() -> bytes:
    return query_credential_pdf(**QUERY)


def test_query_credential_is_one_a5_page_with_its_contents(query_credential):
    reader = read(query_credential)
    assert len(reader.pages) == 1
    assert size_of(reader.pages[0]) == pytest.approx(A5, abs=0.5)
    text = all_text(query_credential)
    for expected in [
        "道路交通事故查询凭证",
        ACCIDENT,
        "7KQM-2X9P-HT4W",
        "张**",
        "查询途径",
        "权利义务",
        *QUERY["rights"],
    ]:
        assert squeeze(expected) in text
    assert "https://ha.122.gov.cn" in text
    assert "交管12123" in text


def test_query_credential_numbers_are_in_large_type(query_credential):
    page = read(query_credential).pages[0]
    sizes: dict[str, float] = {}

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            sizes[text.strip()] = font_size * tm[0]

    page.extract_text(visitor_text=visit)
    assert sizes[ACCIDENT] >= 16
    assert sizes["7KQM-2X9P-HT4W"] >= 16


def test_query_credential_qr_scans_back_at_300_dpi_level_m_and_at_least_30_mm(query_credential):
    image = rasterise(query_credential)
    assert decode_qr_image(_png(image)) == [QR_TEXT]
    (barcode,) = zxingcpp.read_barcodes(image)
    assert barcode.ec_level == "M"
    position = barcode.position
    side_px = abs(position.top_right.x - position.top_left.x)
    assert side_px / (300 / 25.4) >= 30


def test_query_credential_qr_is_drawn_as_vectors(query_credential):
    page = read(query_credential).pages[0]
    assert "/XObject" not in page["/Resources"] or not page["/Resources"]["/XObject"]


def test_query_credential_without_qr_text_has_no_qr():
    pdf = query_credential_pdf(**{**QUERY, "qr_text": None})
    assert decode_qr_image(_png(rasterise(pdf))) == []
    assert "7KQM-2X9P-HT4W" in all_text(pdf)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# Review credential


def test_review_credential_is_a6_with_its_contents():
    pdf = review_credential_pdf(**REVIEW)
    reader = read(pdf)
    assert len(reader.pages) == 1
    assert size_of(reader.pages[0]) == pytest.approx((105 * MM, 148 * MM), abs=1)
    text = all_text(pdf)
    for expected in [
        "道路交通事故证据材料网上查阅凭证",
        ACCIDENT,
        "ABCD-EFGH-2345",
        "当事人",
        "居民身份证",
        "4117**********0012",
        "138****8000",
        "查阅途径",
        "权利义务",
        REVIEW["rights"][1],
        UNIT,
    ]:
        assert squeeze(expected) in text, expected
    assert reader.metadata.title.startswith("道路交通事故证据材料网上查阅凭证")


def test_review_credential_with_many_rights_flows_onto_a_second_page():
    rights = [f"第{i}条：查阅人应当遵守有关规定，妥善保管查阅码，不得泄露。" for i in range(1, 16)]
    pdf = review_credential_pdf(**{**REVIEW, "rights": rights})
    reader = read(pdf)
    assert len(reader.pages) >= 2
    text = all_text(pdf)
    assert squeeze(rights[-1]) in text
    assert f"第1页共{len(reader.pages)}页" in text


# Stamps on downloaded PDFs


def mixed_pdf() -> bytes:
    """Three pages: A4, A5 landscape, and an A4 page rotated by 90 degrees with an offset crop box."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    for size, label in [(A4, "page one"), (landscape(A5), "page two"), (A4, "page three")]:
        canvas.setPageSize(size)
        canvas.setFont("Helvetica", 12)
        canvas.drawString(72, size[1] / 2, label)
        canvas.showPage()
    canvas.save()
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(out.getvalue())))
    writer.pages[2].rotate(90)
    writer.pages[2].cropbox = pypdf.generic.RectangleObject([20, 30, 500, 800])
    result = io.BytesIO()
    writer.write(result)
    return result.getvalue()


def test_stamp_pdf_keeps_pages_and_sizes_and_stamps_every_page():
    original = mixed_pdf()
    stamped = stamp_pdf(original, text=STAMP)
    before, after = read(original), read(stamped)
    assert len(after.pages) == len(before.pages) == 3
    for index, (old, new) in enumerate(zip(before.pages, after.pages, strict=True)):
        assert squeeze(STAMP) in squeeze(new.extract_text()), index
        assert squeeze(old.extract_text()) in squeeze(new.extract_text())
    assert size_of(after.pages[0]) == pytest.approx(A4, abs=0.5)
    assert size_of(after.pages[1]) == pytest.approx(landscape(A5), abs=0.5)


def test_stamp_pdf_draws_only_in_the_bottom_margin_of_the_page_as_seen():
    original = mixed_pdf()
    stamped = stamp_pdf(original, text=STAMP)
    for index in range(3):
        before = rasterise(original, index, dpi=72).convert("L")
        after = rasterise(stamped, index, dpi=72).convert("L")
        assert after.size == before.size
        width, height = after.size
        changed = ImageChops.difference(before, after).getbbox()
        assert changed is not None, index
        left, top, right, _bottom = changed
        assert top > height * 0.93, (index, changed, after.size)
        assert left > 0 and right < width


def test_stamp_pdf_on_a_multi_page_document(determination):
    long = determination_pdf(**{**DETERMINATION, "facts": long_facts()})
    stamped = stamp_pdf(long, text=STAMP)
    reader = read(stamped)
    assert len(reader.pages) == len(read(long).pages)
    assert all(squeeze(STAMP) in squeeze(page.extract_text()) for page in reader.pages)


def test_stamp_pdf_refuses_what_is_not_a_pdf():
    with pytest.raises(ValueError):
        stamp_pdf(b"%PDF-1.7 nothing here", text=STAMP)


# Stamps on downloaded photos


def photo(size: tuple[int, int] = (640, 480), fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    width, height = size
    image = Image.new(mode, size)
    image.putdata(
        [
            (120 + x * 100 // width, 160, 200 - y * 80 // height, *((255,) if mode == "RGBA" else ()))
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@pytest.mark.usefixtures("chinese_font")
@pytest.mark.parametrize(("fmt", "mode"), [("JPEG", "RGB"), ("PNG", "RGBA")])
def test_stamp_image_keeps_size_and_marks_the_bottom_band(fmt, mode):
    original_bytes = photo(fmt=fmt, mode=mode)
    stamped_bytes = stamp_image(original_bytes, text=STAMP)
    assert stamped_bytes.startswith(b"\x89PNG\r\n\x1a\n")
    original = Image.open(io.BytesIO(original_bytes)).convert("RGB")
    stamped = Image.open(io.BytesIO(stamped_bytes))
    assert stamped.size == original.size
    stamped = stamped.convert("RGB")
    width, height = original.size
    # The top of the photo is untouched.
    top_box = (0, 0, width, height // 2)
    assert stamped.crop(top_box).tobytes() == original.crop(top_box).tobytes()
    # The bottom band is darkened, with white text drawn on it.
    band_box = (0, height - 20, width, height)
    band_old = original.crop(band_box).convert("L").tobytes()
    band_new = stamped.crop(band_box).convert("L").tobytes()
    assert sum(band_new) < sum(band_old) * 0.8
    white_pixels = sum(1 for value in band_new if value > 230)
    assert white_pixels > 200
    assert max(band_old) < 230  # the white came from the stamp, not from the photo


@pytest.mark.usefixtures("chinese_font")
def test_stamp_image_text_differs_with_the_text():
    original = photo()
    assert stamp_image(original, text=STAMP) != stamp_image(original, text="下载人：李* 2026-11-28 09:00")


def test_stamp_image_on_a_tiny_image():
    stamped = Image.open(io.BytesIO(stamp_image(photo((40, 10)), text=STAMP)))
    assert stamped.size == (40, 10)


def test_stamp_image_refuses_what_is_not_an_image():
    with pytest.raises(ValueError):
        stamp_image(b"GIF89a not really", text=STAMP)
