"""The report files (N2): CSV that Excel opens, and a PDF whose pages all carry the header row."""

from __future__ import annotations

import csv
import io

from pypdf import PdfReader

from jiaoguan.reports.documents import Sheet, render_csv, render_pdf


def _sheet(rows: int) -> Sheet:
    return Sheet(
        code="R04", title="R04 客货运车辆逾期未检验和未报废信息", issuer="驻马店市公安局交通管理支队",
        recipient="驻马店市交通运输局", period="2026-11（2026-11-01 至 2026-11-30）", generated_at="2026-12-01 02:00",
        headers=["号牌号码 plate", "所有人 owner"],
        rows=[[f"豫Q{n:05d}", f"运输公司, \"第{n}号\""] for n in range(rows)],
    )  # fmt: skip


def test_the_csv_has_a_bom_and_quotes_commas_and_quotes():
    data = render_csv(_sheet(2))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table == [
        ["号牌号码 plate", "所有人 owner"],
        ["豫Q00000", '运输公司, "第0号"'],
        ["豫Q00001", '运输公司, "第1号"'],
    ]


def test_a_long_report_runs_over_pages_each_with_the_header_and_its_number():
    pdf = PdfReader(io.BytesIO(render_pdf(_sheet(120))))
    assert len(pdf.pages) > 1
    for number, page in enumerate(pdf.pages, start=1):
        text = page.extract_text()
        assert "号牌号码" in text and f"第 {number} 页" in text.replace("\n", " ")
    assert "豫Q00119" in pdf.pages[-1].extract_text()
    assert render_pdf(_sheet(3)) == render_pdf(_sheet(3))  # same values, same bytes: the digest identifies it
