"""A paid fine's documents as PDF: the penalty decision (处罚决定书) and the payment receipt
(罚款缴款凭证), for the payer to download (issue 11 item 4).

Pure functions: no ORM, no settings. The caller passes every value in words (plate type,
channel, unit) and decides what is masked: the parties themselves get full names and ID
numbers, anyone else masked ones. Drawn with reportlab's platypus on A4 (decision) and A5
(receipt); ``invariant=1`` so the same arguments always give the same bytes.

Fonts: the PDF embeds the platform's document font (core.fonts);
without one it falls back to reportlab's STSong-Light, which the reader must supply.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from jiaoguan.core import fonts

logger = logging.getLogger(__name__)

FALLBACK_FONT = fonts.FALLBACK_FONT

_GREY = Color(0.35, 0.35, 0.35)
_LINE = Color(0.25, 0.25, 0.25)

LATE_FEE_NOTICE = (
    "被处罚人应当自收到本决定书之日起十五日内缴纳罚款。逾期不缴纳的，每日按罚款数额的百分之三加处罚款，"
    "加处罚款的数额不超过罚款数额。"
)
REMEDY_NOTICE = (
    "被处罚人对本决定不服的，可以在收到本决定书之日起六十日内依法申请行政复议，"
    "或者在六个月内依法向人民法院提起行政诉讼。"
)


def document_font() -> str:
    """The font every document is set in: the embedded TrueType Chinese font when there is one."""
    return fonts.register_cjk_font()


@dataclass(frozen=True)
class DecisionDocument:
    """What a penalty decision prints; every value in words, masked or not as the caller decided."""

    unit: str  # the deciding agency in words
    decision_number: str
    party_name: str
    party_id_number: str
    licence_classes: str  # e.g. "C1 小型汽车"
    plate_number: str
    plate_type: str  # in words
    occurred_at: str  # "2026-03-01 08:15"
    place: str
    offence: str  # description with its code beside it
    points: int
    fine: str  # "¥200.00"
    channel: str  # how it was handled, in words
    decided_on: str  # "2026-03-05"
    payment_due: str
    paid: str  # "" or "2026-03-06 10:00 网上缴款 ¥200.00"


@dataclass(frozen=True)
class ReceiptDocument:
    """What a payment receipt prints."""

    unit: str
    decision_number: str
    party_name: str
    party_id_number: str
    plate_number: str
    fine: str
    late_fee: str
    total: str
    paid_at: str
    channel: str  # in words
    references: tuple[str, ...]  # order numbers, counter receipt numbers or other platforms' references
    issued_by: str  # the platform's name


def _styles(font: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body", fontName=font, bulletFontName=font, fontSize=10.5, leading=17, wordWrap="CJK"
    )
    return {
        "unit": ParagraphStyle("unit", parent=body, fontSize=12, alignment=TA_CENTER, leading=18),
        "title": ParagraphStyle("title", parent=body, fontSize=17, alignment=TA_CENTER, leading=26),
        "number": ParagraphStyle("number", parent=body, fontSize=9.5, alignment=TA_RIGHT, textColor=_GREY),
        "body": body,
        "label": ParagraphStyle("label", parent=body, textColor=_GREY),
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=14, textColor=_GREY),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _grid(rows: list[tuple[str, str]], styles: dict[str, ParagraphStyle], width: float) -> Table:
    table = Table(
        [[_p(label, styles["label"]), _p(value or "—", styles["body"])] for label, value in rows],
        colWidths=[width * 0.28, width * 0.72],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, _LINE),
                ("FONTNAME", (0, 0), (-1, -1), styles["body"].fontName),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _render(pagesize: tuple[float, float], margin: float, title: str, story: list) -> bytes:  # type: ignore[type-arg]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=pagesize, leftMargin=margin, rightMargin=margin, topMargin=margin,
        bottomMargin=margin, title=title, author="", creator="jiaoguan", invariant=1,
        initialFontName=document_font(), initialFontSize=10.5,
    )  # fmt: skip
    document.build(story)
    return buffer.getvalue()


def decision_pdf(doc: DecisionDocument) -> bytes:
    """公安交通管理处罚决定书, A4."""
    font = document_font()
    styles = _styles(font)
    width = A4[0] - 40 * mm
    title = "公安交通管理简易程序处罚决定书"
    story = [
        _p(doc.unit, styles["unit"]),
        _p(title, styles["title"]),
        _p(f"编号：{doc.decision_number}", styles["number"]),
        Spacer(1, 4 * mm),
        _grid(
            [
                ("被处罚人", doc.party_name),
                ("身份证明号码", doc.party_id_number),
                ("准驾车型", doc.licence_classes),
                ("车辆号牌", f"{doc.plate_number}（{doc.plate_type}）"),
                ("违法时间", doc.occurred_at),
                ("违法地点", doc.place),
                ("违法行为", doc.offence),
                ("处理方式", doc.channel),
            ],
            styles,
            width,
        ),
        Spacer(1, 4 * mm),
        _p(
            f"被处罚人于{doc.occurred_at}在{doc.place}实施{doc.offence}的违法行为。"
            f"依据《中华人民共和国道路交通安全法》及其实施条例的有关规定，决定处以罚款{doc.fine}，"
            f"记{doc.points}分。",
            styles["body"],
        ),
        Spacer(1, 2 * mm),
        _p(f"{LATE_FEE_NOTICE}本决定的缴款期限至{doc.payment_due}。", styles["body"]),
        Spacer(1, 2 * mm),
        _p(REMEDY_NOTICE, styles["body"]),
    ]
    if doc.paid:
        story += [Spacer(1, 2 * mm), _p(f"缴款情况：{doc.paid}", styles["body"])]
    story += [
        Spacer(1, 10 * mm),
        _p(doc.unit, styles["right"]),
        _p(doc.decided_on, styles["right"]),
    ]
    return _render(A4, 20 * mm, title, story)


def receipt_pdf(doc: ReceiptDocument) -> bytes:
    """交通违法罚款缴款凭证, A5."""
    font = document_font()
    styles = _styles(font)
    width = A5[0] - 24 * mm
    title = "交通违法罚款缴款凭证"
    story = [
        _p(title, styles["title"]),
        _p(f"决定书编号：{doc.decision_number}", styles["number"]),
        Spacer(1, 3 * mm),
        _grid(
            [
                ("执收单位", doc.unit),
                ("被处罚人", doc.party_name),
                ("身份证明号码", doc.party_id_number),
                ("车辆号牌", doc.plate_number),
                ("罚款", doc.fine),
                ("加处罚款", doc.late_fee),
                ("实缴金额", doc.total),
                ("缴款时间", doc.paid_at),
                ("缴款渠道", doc.channel),
                ("缴款流水号", "、".join(doc.references)),
            ],
            styles,
            width,
        ),
        Spacer(1, 4 * mm),
        _p(
            f"本凭证由{doc.issued_by}根据缴款记录出具，证明上述罚款已缴纳；可凭决定书编号在平台或违法处理窗口核对。",
            styles["small"],
        ),
    ]
    return _render(A5, 12 * mm, title, story)


__all__ = ["DecisionDocument", "ReceiptDocument", "decision_pdf", "document_font", "receipt_pdf"]
