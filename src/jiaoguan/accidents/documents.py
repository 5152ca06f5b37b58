"""Accident documents printed as PDF, and stamps on downloaded evidence (A3, A5, A6, A8).

Pure functions: no ORM, no settings. Every document is drawn with reportlab and its built-in
CJK font STSong-Light (no font files), with ``invariant=1`` so the same arguments always give
the same bytes, and laid out like the paper forms of the traffic police: the issuing unit and
the title centred, the document number top right, the body as bordered grids and paragraphs,
and the issuing unit and date at the bottom right over a dashed seal area (印章). Long bodies
wrap and flow onto further pages; a document of more than one page carries "第 n 页 共 m 页"
at the foot of every page and its title and number at the head of every page after the first.

- :func:`determination_pdf` 道路交通事故认定书, :func:`certificate_pdf` 道路交通事故证明 and
  :func:`review_conclusion_pdf` 道路交通事故认定复核结论: A4 portrait.
- :func:`query_credential_pdf` 道路交通事故查询凭证: A5 portrait, with the QR code drawn as
  vectors (error correction M, 34 mm).
- :func:`review_credential_pdf` 道路交通事故证据材料网上查阅凭证: A6 portrait.
- :func:`stamp_pdf` and :func:`stamp_image` mark every evidence download with who took it.

Values are printed as given, in words (document types, roles, levels; never a code): the copy
delivered to the parties shows names and ID numbers in full, as the law requires; a copy for a
third party is masked by the caller and says so with ``copy_note`` under the title.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import pypdfium2
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.errors import PdfReadError
from reportlab.lib.colors import Color, black, white
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, A5, A6
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from jiaoguan.core import fonts
from jiaoguan.credentials.render import (
    PDF_QR_QUIET_MODULES,
    draw_qr,
    make_qr,
)

__all__ = [
    "RESPONSIBILITY_LEVELS",
    "certificate_pdf",
    "determination_pdf",
    "query_credential_pdf",
    "review_conclusion_pdf",
    "review_credential_pdf",
    "stamp_image",
    "stamp_pdf",
]

# The levels of fault a determination may assign to a party.
RESPONSIBILITY_LEVELS = ("全部责任", "主要责任", "同等责任", "次要责任", "无责任")

REVIEW_NOTICE = (
    "当事人对道路交通事故认定有异议的，可以自道路交通事故认定书送达之日起三日内，"
    "向上一级公安机关交通管理部门提出书面复核申请。复核申请应当载明复核请求及其理由和主要证据。"
)
CERTIFICATE_NOTICE = (
    "当事人对道路交通事故证明有异议的，可以自道路交通事故证明送达之日起三日内，"
    "向上一级公安机关交通管理部门提出书面复核申请；也可以申请损害赔偿调解或者直接向人民法院提起民事诉讼。"
)
REVIEW_CONCLUSION_NOTICE = "道路交通事故认定的复核以一次为限。"

# Printed QR on the query credential: side of the symbol without its quiet zone.
CREDENTIAL_QR_SIDE = 34 * mm

# Stamps on downloaded evidence.
STAMP_PDF_SIZE = 7.0
STAMP_PDF_SMALLEST = 3.0

_GREY = Color(0.35, 0.35, 0.35)
_LIGHT_GREY = Color(0.6, 0.6, 0.6)
_RULE_GREY = Color(0.25, 0.25, 0.25)
_EMPTY = "—"


@dataclass(frozen=True)
class _Layout:
    """Page size and type sizes of one paper format."""

    pagesize: tuple[float, float]
    margin: float
    top: float
    bottom: float
    framed: bool
    unit_size: float
    title_size: float
    body_size: float
    small_size: float
    big_size: float
    seal_radius: float

    @property
    def leading(self) -> float:
        return self.body_size * 1.65


_A4 = _Layout(
    pagesize=A4,
    margin=20 * mm,
    top=18 * mm,
    bottom=20 * mm,
    framed=False,
    unit_size=14,
    title_size=20,
    body_size=12,
    small_size=9.5,
    big_size=16,
    seal_radius=21 * mm,
)
_A5 = _Layout(
    pagesize=A5,
    margin=13 * mm,
    top=13 * mm,
    bottom=14 * mm,
    framed=True,
    unit_size=10.5,
    title_size=16,
    body_size=9.5,
    small_size=8,
    big_size=18,
    seal_radius=16 * mm,
)
_A6 = _Layout(
    pagesize=A6,
    margin=8 * mm,
    top=9 * mm,
    bottom=10 * mm,
    framed=True,
    unit_size=7.5,
    title_size=10.5,
    body_size=7.5,
    small_size=6.2,
    big_size=12,
    seal_radius=12 * mm,
)


# ---------------------------------------------------------------- fonts

# A document handed to a party must print the same on any reader: the platform's document font
# (core.fonts) is embedded; the bold Latin of the number line too where the system has it.
LATIN_BOLD_FONT = "JiaoguanLatinBold"
_LATIN_BOLD_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",)


def _latin_bold(fallback: str) -> str:
    for path in _LATIN_BOLD_FILES:
        if os.path.isfile(path):
            try:
                pdfmetrics.registerFont(TTFont(LATIN_BOLD_FONT, path))
            except (TTFError, OSError, ValueError, KeyError):
                continue
            return LATIN_BOLD_FONT
    return fallback


@functools.cache
def _fonts() -> tuple[str, str]:
    """(text font, bold Latin font) to draw with, embedded where the system has them."""
    cjk = fonts.register_cjk_font()
    return cjk, _latin_bold(cjk)


def register_fonts() -> None:
    _fonts()


def _cjk() -> str:
    return _fonts()[0]


# ---------------------------------------------------------------- styles


@dataclass(frozen=True)
class _Styles:
    unit: ParagraphStyle
    title: ParagraphStyle
    number: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    plain: ParagraphStyle
    cell: ParagraphStyle
    label: ParagraphStyle
    big: ParagraphStyle
    note: ParagraphStyle
    seal: ParagraphStyle
    caption: ParagraphStyle
    copy_note: ParagraphStyle


def _styles(layout: _Layout) -> _Styles:
    register_fonts()
    size = layout.body_size
    base = ParagraphStyle("base", fontName=_cjk(), fontSize=size, leading=layout.leading, wordWrap="CJK")
    cell_size = size * 0.85 if layout is _A4 else size
    return _Styles(
        unit=ParagraphStyle(
            "unit",
            parent=base,
            fontSize=layout.unit_size,
            leading=layout.unit_size * 1.4,
            alignment=TA_CENTER,
        ),
        title=ParagraphStyle(
            "title",
            parent=base,
            fontSize=layout.title_size,
            leading=layout.title_size * 1.35,
            alignment=TA_CENTER,
            spaceAfter=layout.title_size * 0.3,
        ),
        number=ParagraphStyle("number", parent=base, alignment=TA_RIGHT, spaceAfter=size * 0.6),
        heading=ParagraphStyle("heading", parent=base, spaceBefore=size * 0.7, spaceAfter=size * 0.2),
        body=ParagraphStyle("body", parent=base, firstLineIndent=2 * size, alignment=TA_LEFT),
        plain=ParagraphStyle("plain", parent=base),
        cell=ParagraphStyle("cell", parent=base, fontSize=cell_size, leading=cell_size * 1.35),
        label=ParagraphStyle(
            "label",
            parent=base,
            fontSize=cell_size,
            leading=cell_size * 1.35,
            textColor=_GREY,
            alignment=TA_CENTER,
        ),
        big=ParagraphStyle("big", parent=base, fontSize=layout.big_size, leading=layout.big_size * 1.25),
        note=ParagraphStyle(
            "note",
            parent=base,
            fontSize=layout.small_size,
            leading=layout.small_size * 1.5,
            firstLineIndent=2 * layout.small_size,
            textColor=_GREY,
            spaceBefore=size * 0.6,
        ),
        seal=ParagraphStyle("seal", parent=base, alignment=TA_CENTER),
        caption=ParagraphStyle(
            "caption",
            parent=base,
            fontSize=layout.small_size,
            leading=layout.small_size * 1.3,
            textColor=_GREY,
            alignment=TA_CENTER,
        ),
        copy_note=ParagraphStyle(
            "copy_note",
            parent=base,
            fontSize=layout.small_size,
            leading=layout.small_size * 1.4,
            borderColor=_RULE_GREY,
            borderWidth=0.6,
            borderPadding=3,
            spaceBefore=3,
            spaceAfter=layout.body_size * 0.8,
        ),
    )


def _text(value: object) -> str:
    """Paragraph markup for a plain value: escaped, with a dash for an empty one."""
    text = str(value).strip() if value is not None else ""
    return escape(text) if text else _EMPTY


def _paragraphs(text: str, style: ParagraphStyle) -> list[Flowable]:
    """One Paragraph per non-empty line of ``text`` (each flows across pages on its own)."""
    lines = [line.strip() for line in (text or "").splitlines()]
    return [Paragraph(escape(line), style) for line in lines if line] or [Paragraph("（无）", style)]


# ---------------------------------------------------------------- flowables


class _SealBlock(Flowable):
    """The issuing unit and the date at the bottom right, under a dashed round seal area."""

    def __init__(self, unit: str, issued_on: str, *, style: ParagraphStyle, radius: float, label_size: float):
        super().__init__()
        self._unit = Paragraph(_text(unit), style)
        self._date = Paragraph(_text(issued_on), style)
        self._radius = radius
        self._label_size = label_size
        self._style = style
        self.width = 0.0
        self.height = 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab API
        self.width = availWidth
        size = self._style.fontSize
        widest = max(
            pdfmetrics.stringWidth(self._unit.getPlainText(), _cjk(), size),
            pdfmetrics.stringWidth(self._date.getPlainText(), _cjk(), size),
            2 * self._radius,
        )
        self._column = min(availWidth, widest + 4 * mm)
        _, unit_height = self._unit.wrap(self._column, availHeight)
        _, date_height = self._date.wrap(self._column, availHeight)
        self._text_height = unit_height + date_height
        self.height = max(2 * self._radius, self._text_height + 2 * self._label_size) + 4 * mm
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        center_x = self.width - self._column / 2
        center_y = self.height / 2
        left = self.width - self._column
        canvas.saveState()
        canvas.setStrokeColor(_LIGHT_GREY)
        canvas.setLineWidth(0.8)
        canvas.setDash(3, 2)
        canvas.circle(center_x, center_y, self._radius, stroke=1, fill=0)
        canvas.setFillColor(_LIGHT_GREY)
        canvas.setFont(_cjk(), self._label_size)
        canvas.drawCentredString(center_x, center_y + self._radius - 1.4 * self._label_size, "（印章）")
        canvas.restoreState()
        top = center_y + self._text_height / 2
        _, unit_height = self._unit.wrap(self._column, self.height)
        self._unit.drawOn(canvas, left, top - unit_height)
        _, date_height = self._date.wrap(self._column, self.height)
        self._date.drawOn(canvas, left, top - unit_height - date_height)


class _QrCode(Flowable):
    """A QR code drawn as vector squares (sharp at any printer resolution) inside its white
    quiet zone, with a caption under it. ``side`` is the symbol without the quiet zone."""

    def __init__(self, text: str, *, side: float, caption: str, style: ParagraphStyle):
        super().__init__()
        self._qr = make_qr(text)
        self._side = side
        self._caption = Paragraph(_text(caption), style) if caption else None
        self._quiet = PDF_QR_QUIET_MODULES * side / len(self._qr.matrix)
        self.width = side + 2 * self._quiet
        self.height = self.width

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803 - reportlab API
        self._caption_height = 0.0
        if self._caption is not None:
            _, self._caption_height = self._caption.wrap(self.width, availHeight)
        self.height = self.width + self._caption_height
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        draw_qr(canvas, self._qr, self._quiet, self._caption_height + self._quiet, self._side)
        if self._caption is not None:
            self._caption.drawOn(canvas, 0, 0)


# ---------------------------------------------------------------- pages


def _canvas_class(layout: _Layout, running_head: str) -> type[Canvas]:
    """A canvas that holds its pages back until the end, so that every page of a document
    longer than one page can say "第 n 页 共 m 页", and every page after the first its title
    and number."""

    class _NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # The page preamble names a font too: the embedded one, so no other is referenced.
            kwargs["initialFontName"] = kwargs.get("initialFontName") or _cjk()
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab API
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for index, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                if total > 1:
                    self._mark(index, total)
                super().showPage()
            super().save()

        def _mark(self, index: int, total: int) -> None:
            width, height = layout.pagesize
            self.saveState()
            self.setFillColor(_GREY)
            self.setFont(_cjk(), layout.small_size)
            self.drawCentredString(
                width / 2, layout.bottom / 2 - layout.small_size / 3, f"第 {index} 页 共 {total} 页"
            )
            if index > 1 and running_head:
                self.drawRightString(
                    width - layout.margin, height - layout.top / 2 - layout.small_size / 3, running_head
                )
            self.restoreState()

    return _NumberedCanvas


def _draw_frame(canvas: Canvas, document: BaseDocTemplate) -> None:
    """The double border of a printed credential."""
    width, height = document.pagesize
    canvas.saveState()
    canvas.setStrokeColor(_RULE_GREY)
    canvas.setLineWidth(1.2)
    canvas.rect(4 * mm, 4 * mm, width - 8 * mm, height - 8 * mm, stroke=1, fill=0)
    canvas.setLineWidth(0.4)
    canvas.rect(5 * mm, 5 * mm, width - 10 * mm, height - 10 * mm, stroke=1, fill=0)
    canvas.restoreState()


def _render(
    layout: _Layout, *, title: str, number: str, unit: str, story: list[Flowable], subject: str
) -> bytes:
    register_fonts()
    width, height = layout.pagesize
    out = io.BytesIO()
    document = BaseDocTemplate(
        out,
        pagesize=layout.pagesize,
        leftMargin=layout.margin,
        rightMargin=layout.margin,
        topMargin=layout.top,
        bottomMargin=layout.bottom,
        title=f"{title} {number}".strip(),
        author=unit,
        subject=subject,
        creator="jiaoguan",
        producer="jiaoguan",
        invariant=1,
        pageCompression=1,
        lang="zh-CN",
        displayDocTitle=1,
    )
    frame = Frame(
        layout.margin,
        layout.bottom,
        width - 2 * layout.margin,
        height - layout.top - layout.bottom,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    on_page = _draw_frame if layout.framed else None
    document.addPageTemplates(
        [PageTemplate(id="page", frames=[frame], onPage=on_page or (lambda c, d: None))]
    )
    document.build(story, canvasmaker=_canvas_class(layout, f"{title} {number}".strip()))
    return out.getvalue()


def _content_width(layout: _Layout) -> float:
    return layout.pagesize[0] - 2 * layout.margin


def _head(layout: _Layout, styles: _Styles, *, unit: str, title: str, number: str) -> list[Flowable]:
    """Issuing unit and title centred, document number on the right under them."""
    head: list[Flowable] = []
    if unit.strip():
        head.append(Paragraph(_text(unit), styles.unit))
    head.append(Paragraph(_text(title), styles.title))
    if number.strip():
        head.append(Paragraph(_text(number), styles.number))
    return head


def _grid(
    rows: list[list[Any]], widths: list[float], *, spans: list[tuple[int, int, int]] | None = None
) -> Table:
    """A bordered grid as on the paper form; ``spans`` are (row, first column, last column)."""
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.6, _RULE_GREY),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("FONTNAME", (0, 0), (-1, -1), _cjk()),  # empty cells too: no font but the embedded one
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    for row, first, last in spans or []:
        commands.append(("SPAN", (first, row), (last, row)))
    return Table(rows, colWidths=widths, style=TableStyle(commands), splitInRow=1, hAlign="LEFT")


def _case_grid(
    layout: _Layout,
    styles: _Styles,
    *,
    accident_number: str,
    occurred_at: str,
    place: str,
    weather: str | None,
) -> Table:
    width = _content_width(layout)
    label = 26 * mm
    cell = styles.cell

    def lab(text: str) -> Paragraph:
        return Paragraph(text, styles.label)

    rows: list[list[Any]] = [[lab("事故编号"), Paragraph(_text(accident_number), cell), "", ""]]
    if weather is None:
        rows.append([lab("事故时间"), Paragraph(_text(occurred_at), cell), "", ""])
        spans = [(0, 1, 3), (1, 1, 3), (2, 1, 3)]
    else:
        rows.append(
            [
                lab("事故时间"),
                Paragraph(_text(occurred_at), cell),
                lab("天气"),
                Paragraph(_text(weather), cell),
            ]
        )
        spans = [(0, 1, 3), (2, 1, 3)]
    rows.append([lab("事故地点"), Paragraph(_text(place), cell), "", ""])
    weather_label = 18 * mm
    weather_value = 34 * mm
    widths = [label, width - label - weather_label - weather_value, weather_label, weather_value]
    return _grid(rows, widths, spans=spans)


def _party_role(party: dict[str, Any]) -> str:
    role = str(party.get("role") or party.get("label") or "").strip()
    if role and not role.startswith("当事人"):
        role = f"当事人{role}"
    return role


def _parties_grid(layout: _Layout, styles: _Styles, parties: list[dict[str, Any]]) -> Flowable:
    if not parties:
        return Paragraph("（无）", styles.body)
    width = _content_width(layout)
    header = ["当事人", "姓名", "证件类型", "证件号码", "车辆号牌", "保险公司"]
    fixed = [20 * mm, 22 * mm, 24 * mm, 40 * mm, 25 * mm]
    widths = [*fixed, width - sum(fixed)]
    rows: list[list[Any]] = [[Paragraph(text, styles.label) for text in header]]
    for party in parties:
        values = [
            _party_role(party),
            party.get("name"),
            party.get("id_type"),
            party.get("id_number"),
            party.get("plate"),
            party.get("insurer"),
        ]
        rows.append([Paragraph(_text(value), styles.cell) for value in values])
    table = _grid(rows, widths)
    table.repeatRows = 1
    return table


def _copy_note(note: str, styles: _Styles) -> list[Flowable]:
    """Which copy this is, under the title, where it is not the one delivered to the parties."""
    return [Paragraph(escape(note), styles.copy_note)] if note.strip() else []


def _closing(layout: _Layout, styles: _Styles, *, unit: str, issued_on: str) -> Flowable:
    return _SealBlock(
        unit, issued_on, style=styles.seal, radius=layout.seal_radius, label_size=layout.small_size
    )


# ---------------------------------------------------------------- A4 documents


def determination_pdf(
    *,
    number: str,
    accident_number: str,
    occurred_at: str,
    place: str,
    weather: str,
    parties: list[dict[str, Any]],
    facts: str,
    evidence: str,
    responsibility: list[tuple[str, str]],
    unit: str,
    issued_on: str,
    copy_note: str = "",
) -> bytes:
    """道路交通事故认定书 on A4 portrait.

    ``parties`` are dicts with the keys ``label`` ("甲") or ``role`` ("当事人甲"), ``name``,
    ``id_type``, ``id_number``, ``plate`` and ``insurer`` (missing ones print as a dash), all
    masked as the caller wants them printed. ``responsibility`` pairs a party ("当事人甲 张**")
    with one of :data:`RESPONSIBILITY_LEVELS`.

    Raises ``ValueError`` for an empty responsibility list or an unknown level.
    """
    if not responsibility:
        raise ValueError("a determination states every party's responsibility")
    for _, level in responsibility:
        if level not in RESPONSIBILITY_LEVELS:
            raise ValueError(f"unknown responsibility level: {level!r}")
    layout = _A4
    styles = _styles(layout)
    title = "道路交通事故认定书"
    story: list[Flowable] = [
        *_head(layout, styles, unit=unit, title=title, number=number),
        *_copy_note(copy_note, styles),
        _case_grid(
            layout,
            styles,
            accident_number=accident_number,
            occurred_at=occurred_at,
            place=place,
            weather=weather,
        ),
        Paragraph("当事人、车辆、道路和交通环境等基本情况：", styles.heading),
        _parties_grid(layout, styles, parties),
        Paragraph("道路交通事故发生经过：", styles.heading),
        *_paragraphs(facts, styles.body),
        Paragraph("道路交通事故证据及事故形成原因分析：", styles.heading),
        *_paragraphs(evidence, styles.body),
        Paragraph("当事人导致交通事故的过错及责任或者意外原因：", styles.heading),
        *[Paragraph(f"{_text(party)}：{escape(level)}。", styles.body) for party, level in responsibility],
        Spacer(1, layout.body_size),
        _closing(layout, styles, unit=unit, issued_on=issued_on),
        Paragraph(escape(REVIEW_NOTICE), styles.note),
    ]
    return _render(layout, title=title, number=number, unit=unit, story=story, subject=accident_number)


def certificate_pdf(
    *,
    number: str,
    accident_number: str,
    occurred_at: str,
    place: str,
    parties: list[dict[str, Any]],
    facts: str,
    unit: str,
    issued_on: str,
    copy_note: str = "",
) -> bytes:
    """道路交通事故证明 on A4 portrait, for a case whose cause cannot be determined: time,
    place, the parties (as in :func:`determination_pdf`) and the facts found."""
    layout = _A4
    styles = _styles(layout)
    title = "道路交通事故证明"
    story: list[Flowable] = [
        *_head(layout, styles, unit=unit, title=title, number=number),
        *_copy_note(copy_note, styles),
        _case_grid(
            layout,
            styles,
            accident_number=accident_number,
            occurred_at=occurred_at,
            place=place,
            weather=None,
        ),
        Paragraph("当事人基本情况：", styles.heading),
        _parties_grid(layout, styles, parties),
        Paragraph("经调查得到的事实：", styles.heading),
        *_paragraphs(facts, styles.body),
        Paragraph(
            "经调查，本起道路交通事故成因无法查清，依照《道路交通事故处理程序规定》出具本证明。", styles.body
        ),
        Spacer(1, layout.body_size),
        _closing(layout, styles, unit=unit, issued_on=issued_on),
        Paragraph(escape(CERTIFICATE_NOTICE), styles.note),
    ]
    return _render(layout, title=title, number=number, unit=unit, story=story, subject=accident_number)


def review_conclusion_pdf(
    *,
    number: str,
    accident_number: str,
    applicant: str,
    request: str,
    conclusion: str,
    unit: str,
    issued_on: str,
    copy_note: str = "",
) -> bytes:
    """道路交通事故认定复核结论 on A4 portrait: the applicant, the request and its reasons,
    and the conclusion of the review."""
    layout = _A4
    styles = _styles(layout)
    title = "道路交通事故认定复核结论"
    width = _content_width(layout)
    grid = _grid(
        [
            [Paragraph("事故编号", styles.label), Paragraph(_text(accident_number), styles.cell)],
            [Paragraph("复核申请人", styles.label), Paragraph(_text(applicant), styles.cell)],
        ],
        [26 * mm, width - 26 * mm],
    )
    story: list[Flowable] = [
        *_head(layout, styles, unit=unit, title=title, number=number),
        *_copy_note(copy_note, styles),
        grid,
        Paragraph("复核请求及理由：", styles.heading),
        *_paragraphs(request, styles.body),
        Paragraph("复核结论：", styles.heading),
        *_paragraphs(conclusion, styles.body),
        Spacer(1, layout.body_size),
        _closing(layout, styles, unit=unit, issued_on=issued_on),
        Paragraph(escape(REVIEW_CONCLUSION_NOTICE), styles.note),
    ]
    return _render(layout, title=title, number=number, unit=unit, story=story, subject=accident_number)


# ---------------------------------------------------------------- credentials


def _big_value(value: str, styles: _Styles) -> Paragraph:
    """A number or code in large type: bold Latin for ASCII, so that 0/O and 1/I read apart."""
    text = value.strip()
    if text and text.isascii():
        return Paragraph(f'<font name="{_fonts()[1]}">{escape(text)}</font>', styles.big)
    return Paragraph(_text(text), styles.big)


def _numbered(heading: str, items: list[str], styles: _Styles) -> list[Flowable]:
    flow: list[Flowable] = [Paragraph(escape(heading), styles.heading)]
    size = styles.plain.fontSize
    hang = ParagraphStyle(
        "item", parent=styles.plain, leftIndent=size * 1.6, bulletFontName=_cjk(), bulletFontSize=size
    )
    entries = [item.strip() for item in items if item and item.strip()]
    for index, item in enumerate(entries, start=1):
        flow.append(Paragraph(escape(item), hang, bulletText=f"{index}."))
    if not entries:
        flow.append(Paragraph(_EMPTY, hang))
    return flow


def _credential_story(
    layout: _Layout,
    styles: _Styles,
    *,
    title: str,
    big: list[tuple[str, str]],
    rows: list[tuple[str, str]],
    channels_heading: str,
    channels: list[str],
    rights: list[str],
    closing: Flowable,
) -> list[Flowable]:
    width = _content_width(layout)
    label = max(pdfmetrics.stringWidth(text, _cjk(), styles.label.fontSize) for text, _ in [*big, *rows]) + 9
    big_grid = _grid(
        [[Paragraph(escape(text), styles.label), _big_value(value, styles)] for text, value in big],
        [label, width - label],
    )
    story: list[Flowable] = [*_head(layout, styles, unit="", title=title, number=""), big_grid]
    if rows:
        story.append(Spacer(1, layout.body_size * 0.5))
        story.append(
            _grid(
                [
                    [Paragraph(escape(text), styles.label), Paragraph(_text(value), styles.cell)]
                    for text, value in rows
                ],
                [label, width - label],
            )
        )
    story += _numbered(channels_heading, channels, styles)
    story += _numbered("权利义务", rights, styles)
    story.append(Spacer(1, layout.body_size * 0.6))
    story.append(closing)
    return story


def query_credential_pdf(
    *,
    accident_number: str,
    query_code: str,
    holder: str,
    holder_role: str,
    channels: list[str],
    rights: list[str],
    qr_text: str | None,
    unit: str,
    issued_on: str,
) -> bytes:
    """道路交通事故查询凭证 on A5 portrait (A5): the accident number and the query code in
    large type, the holder, how to query, the rights and obligations, and at the bottom the
    QR code (when ``qr_text`` is given; 34 mm, error correction M, drawn as vectors) beside
    the seal area with the issuing unit and date."""
    layout = _A5
    styles = _styles(layout)
    title = "道路交通事故查询凭证"
    seal = _closing(layout, styles, unit=unit, issued_on=issued_on)
    closing: Flowable
    if qr_text:
        qr = _QrCode(
            qr_text, side=CREDENTIAL_QR_SIDE, caption="扫码查询事故处理进度和结果", style=styles.caption
        )
        width = _content_width(layout)
        closing = Table(
            [[qr, seal]],
            colWidths=[qr.width + 4 * mm, width - qr.width - 4 * mm],
            style=TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("FONTNAME", (0, 0), (-1, -1), _cjk()),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                ]
            ),
            hAlign="LEFT",
        )
    else:
        closing = seal
    story = _credential_story(
        layout,
        styles,
        title=title,
        big=[("事故编号", accident_number), ("查询码", query_code)],
        rows=[("持有人", holder), ("查询人身份", holder_role)],
        channels_heading="查询途径",
        channels=channels,
        rights=rights,
        closing=KeepTogether([closing]),
    )
    return _render(layout, title=title, number=accident_number, unit=unit, story=story, subject=holder_role)


def review_credential_pdf(
    *,
    accident_number: str,
    review_code: str,
    holder: str,
    person_type: str,
    id_type: str,
    id_number_masked: str,
    phone_masked: str,
    channels: list[str],
    rights: list[str],
    unit: str,
    issued_on: str,
) -> bytes:
    """道路交通事故证据材料网上查阅凭证 on A6 portrait (A6): the accident number and the review
    code in large type, the person reviewing (type, ID, phone, masked by the caller), the
    channels, the rights and obligations, and the seal area with the issuing unit and date."""
    layout = _A6
    styles = _styles(layout)
    title = "道路交通事故证据材料网上查阅凭证"
    story = _credential_story(
        layout,
        styles,
        title=title,
        big=[("事故编号", accident_number), ("查阅码", review_code)],
        rows=[
            ("查阅人", holder),
            ("人员类型", person_type),
            ("身份证明类型", id_type),
            ("身份证明号码", id_number_masked),
            ("联系电话", phone_masked),
        ],
        channels_heading="查阅途径",
        channels=channels,
        rights=rights,
        closing=_closing(layout, styles, unit=unit, issued_on=issued_on),
    )
    return _render(layout, title=title, number=accident_number, unit=unit, story=story, subject=person_type)


# ---------------------------------------------------------------- stamps on downloads


def _stamp_overlay(width: float, height: float, text: str) -> bytes:
    """One transparent page of ``width`` x ``height`` with ``text`` centred in its bottom
    margin over a light, semi-opaque band, shrunk to fit the width."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(width, height), invariant=1, pageCompression=1, initialFontName=_cjk())
    pad = min(4 * mm, width * 0.03)
    room = max(width - 2 * pad, 1.0)
    size = min(STAMP_PDF_SIZE, max(STAMP_PDF_SMALLEST, height * 0.012))
    measured = pdfmetrics.stringWidth(text, _cjk(), size)
    if measured > room:
        size = max(STAMP_PDF_SMALLEST, size * room / measured)
    baseline = min(3 * mm, height * 0.02) + size * 0.3
    text_width = min(pdfmetrics.stringWidth(text, _cjk(), size), room)
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.setFillAlpha(0.8)
    canvas.rect(
        (width - text_width) / 2 - size * 0.4,
        baseline - size * 0.35,
        text_width + size * 0.8,
        size * 1.3,
        stroke=0,
        fill=1,
    )
    canvas.restoreState()
    canvas.setFillColor(_GREY)
    canvas.setFont(_cjk(), size)
    canvas.drawCentredString(width / 2, baseline, text)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def stamp_pdf(pdf: bytes, *, text: str) -> bytes:
    """The same PDF with ``text`` stamped in small type at the bottom margin of every page.

    Works on pages of any size, on rotated pages (the stamp goes at the bottom as the page is
    seen) and on pages whose crop box does not start at the origin; the page count is kept.
    Raises ``ValueError`` for bytes that are not a readable PDF, or one that needs a password.
    """
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("the PDF needs a password")
        writer = PdfWriter(clone_from=reader)
    except (PdfReadError, OSError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError("not a readable PDF") from exc
    overlays: dict[tuple[float, float], Any] = {}
    for page in writer.pages:
        if page.rotation % 360:
            page.transfer_rotation_to_content()
        box = page.cropbox
        key = (round(float(box.width), 2), round(float(box.height), 2))
        if key not in overlays:
            overlays[key] = PdfReader(io.BytesIO(_stamp_overlay(key[0], key[1], text))).pages[0]
        page.merge_transformed_page(
            overlays[key], Transformation().translate(float(box.left), float(box.bottom))
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_mask(text: str, width: int, height: int) -> Image.Image:
    """``text`` rendered by reportlab (so Chinese has glyphs) and rasterised by pdfium into a
    ``width`` x ``height`` greyscale mask: 255 where the text is, 0 elsewhere."""
    register_fonts()
    scale = max(1.0, width / 14000)  # keep the page within what PDF viewers accept
    page_width, page_height = width / scale, height / scale
    size = page_height * 0.55
    room = page_width - page_height
    measured = pdfmetrics.stringWidth(text, _cjk(), size)
    if measured > room > 0:
        size *= room / measured
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(page_width, page_height), invariant=1, initialFontName=_cjk())
    canvas.setFillColor(white)
    canvas.rect(0, 0, page_width, page_height, stroke=0, fill=1)
    canvas.setFillColor(black)
    canvas.setFont(_cjk(), size)
    canvas.drawCentredString(page_width / 2, (page_height - size * 0.8) / 2, text)
    canvas.showPage()
    canvas.save()
    document = pypdfium2.PdfDocument(out.getvalue())
    try:
        rendered = document[0].render(scale=scale, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    if rendered.size != (width, height):
        rendered = rendered.resize((width, height))
    return ImageOps.invert(rendered)


def stamp_image(image: bytes, *, text: str) -> bytes:
    """PNG of the photo with ``text`` in white on a dark semi-opaque band along its bottom.

    The photo keeps its size as displayed (an EXIF rotation is applied first) and its
    transparency, if it has any. Raises ``ValueError`` for bytes that are not a JPEG or PNG.
    """
    try:
        with Image.open(io.BytesIO(image), formats=("JPEG", "PNG")) as opened:
            opened.load()
            photo = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError("not an image") from exc
    has_alpha = photo.mode in ("RGBA", "LA", "PA") or (photo.mode == "P" and "transparency" in photo.info)
    mode = "RGBA" if has_alpha else "RGB"
    photo = photo.convert(mode)
    width, height = photo.size
    band = min(height, max(14, round(height * 0.055)))
    top = height - band
    region = photo.crop((0, top, width, height))
    shade = Image.new(mode, region.size, (0, 0, 0, 255) if has_alpha else (0, 0, 0))
    region = Image.blend(region, shade, 0.55)
    ink = Image.new(mode, region.size, (255, 255, 255, 255) if has_alpha else (255, 255, 255))
    region = Image.composite(ink, region, _text_mask(text, width, band))
    photo.paste(region, (0, top))
    out = io.BytesIO()
    photo.save(out, format="PNG", optimize=False)
    return out.getvalue()
