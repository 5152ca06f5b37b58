"""A report as the files sent: CSV (UTF-8 with a byte order mark, so Excel opens the Chinese text)
and a Chinese PDF in the platform's embedded document font (core.fonts).

Pure: no ORM, no clock; the caller passes the values in words. ``invariant=1`` makes the same
values give the same PDF bytes, so a digest identifies what was sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from jiaoguan.core import fonts

BOM = "\ufeff"
_GREY = Color(0.35, 0.35, 0.35)
_LINE = Color(0.3, 0.3, 0.3)
_HEAD = Color(0.9, 0.92, 0.95)


@dataclass(frozen=True)
class Sheet:
    """What a report file holds, every value in words."""

    code: str
    title: str  # "R02 每月辖区校车标牌信息"
    issuer: str  # the sending office
    recipient: str
    period: str  # "2026-11（2026-11-01 至 2026-11-30）"
    generated_at: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]


def render_csv(sheet: Sheet) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(sheet.headers)
    writer.writerows(sheet.rows)
    return (BOM + out.getvalue()).encode("utf-8")


def _styles(font: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=15, leading=22, alignment=TA_CENTER),
        "meta": ParagraphStyle("meta", parent=body, fontSize=9.5, leading=14, textColor=_GREY),
        "cell": body,
        "head": ParagraphStyle("head", parent=body, fontSize=8, leading=10),
    }


def render_pdf(sheet: Sheet) -> bytes:
    """The report on landscape A4: title, sender, recipient, period, then the rows as a table
    repeated with its header on each page; a report with no rows says so."""
    font = fonts.register_cjk_font()
    styles = _styles(font)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title=sheet.title, author=sheet.issuer, invariant=1,
    )  # fmt: skip
    story: list = [
        Paragraph(escape(f"交通安全信息通报 · {sheet.title}"), styles["title"]),
        Spacer(1, 3 * mm),
        Paragraph(escape(f"通报单位：{sheet.issuer}　　接收单位：{sheet.recipient}"), styles["meta"]),
        Paragraph(escape(f"统计期间：{sheet.period}　　生成时间：{sheet.generated_at}"), styles["meta"]),
        Paragraph(escape(f"共 {len(sheet.rows)} 条记录"), styles["meta"]),
        Spacer(1, 3 * mm),
    ]
    if sheet.rows:
        data = [[Paragraph(escape(h), styles["head"]) for h in sheet.headers]]
        data += [[Paragraph(escape(str(v)), styles["cell"]) for v in row] for row in sheet.rows]
        width = doc.width / max(1, len(sheet.headers))
        table = LongTable(data, colWidths=[width] * len(sheet.headers), repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, _LINE),
                    ("BACKGROUND", (0, 0), (-1, 0), _HEAD),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
    else:
        story.append(Paragraph("本期无记录。", styles["meta"]))

    def footer(canvas: Any, document: Any) -> None:
        # Each page says which report and period it belongs to: printed pages get separated.
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(_GREY)
        canvas.drawRightString(
            document.pagesize[0] - 12 * mm, 7 * mm, f"{sheet.code} {sheet.period} · 第 {document.page} 页"
        )
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
