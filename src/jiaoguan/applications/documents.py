"""The acceptance slip (受理回执) of an application as PDF, printed at the counter (issue 13).

Pure: no ORM, no clock. The caller passes every value in words and decides what is masked
(the slip goes to the applicant, but it lies on a counter: the ID number is masked). Drawn
with reportlab's platypus on A5, ``invariant=1`` so the same values give the same bytes, in
the platform's embedded document font (core.fonts).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from jiaoguan.core import fonts

_GREY = Color(0.35, 0.35, 0.35)
_LINE = Color(0.25, 0.25, 0.25)


@dataclass(frozen=True)
class AcceptanceSlip:
    """What the slip prints, every value in words."""

    unit: str  # the handling DMV in words
    number: str
    business: str  # "B11 损毁换领驾驶证"
    applicant_name: str
    applicant_id_number: str  # masked
    state: str
    submitted_at: str
    accepted_at: str  # "" before acceptance
    accept_due: str  # "2026-12-07" or words saying the calendar cannot tell yet
    materials: str  # the materials received, in words
    delivery: str  # how the result reaches the applicant, in words
    fee: str  # "¥10.00", with whether it is paid
    printed_at: str


def _styles(font: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17, wordWrap="CJK")
    return {
        "unit": ParagraphStyle("unit", parent=body, fontSize=12, alignment=TA_CENTER, leading=18),
        "title": ParagraphStyle("title", parent=body, fontSize=17, alignment=TA_CENTER, leading=26),
        "number": ParagraphStyle("number", parent=body, fontSize=9.5, alignment=TA_RIGHT, textColor=_GREY),
        "body": body,
        "label": ParagraphStyle("label", parent=body, textColor=_GREY),
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=14, textColor=_GREY),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def acceptance_slip_pdf(slip: AcceptanceSlip) -> bytes:
    """业务受理回执, A5."""
    font = fonts.register_cjk_font()
    styles = _styles(font)
    width = A5[0] - 24 * mm
    title = "业务受理回执"
    rows = [
        ("申请编号", slip.number),
        ("业务", slip.business),
        ("申请人", slip.applicant_name),
        ("身份证明号码", slip.applicant_id_number),
        ("当前状态", slip.state),
        ("提交时间", slip.submitted_at),
        ("受理时间", slip.accepted_at),
        ("受理时限", slip.accept_due),
        ("已收材料", slip.materials),
        ("领取方式", slip.delivery),
        ("费用", slip.fee),
    ]
    table = Table(
        [[_p(label, styles["label"]), _p(value or "—", styles["body"])] for label, value in rows],
        colWidths=[width * 0.28, width * 0.72],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, _LINE),
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    story = [
        _p(slip.unit, styles["unit"]),
        _p(title, styles["title"]),
        _p(f"申请编号：{slip.number}", styles["number"]),
        Spacer(1, 3 * mm),
        table,
        Spacer(1, 4 * mm),
        _p("凭申请编号可在交管12123平台“我的申请”中查询办理进度。", styles["small"]),
        _p(f"打印时间：{slip.printed_at}", styles["small"]),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A5, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
        title=title, author="", creator="jiaoguan", invariant=1, initialFontName=font, initialFontSize=10.5,
    )  # fmt: skip
    document.build(story)
    return buffer.getvalue()
