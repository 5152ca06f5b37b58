"""A paid fine's documents (issue 11 item 4): the penalty decision and the payment receipt as
real PDFs that embed their Chinese font, read back with pypdf; every code in words; full names to
the driver, masked to a vehicle owner who did not drive; and the fine list's amount due today."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.payments import services as payment_services
from jiaoguan.violations import documents, rules, services
from jiaoguan.violations.models import Fine

pytestmark = pytest.mark.django_db

RECEIPT_NUMBER = "HN2026-000777"


def _text(response) -> str:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def _embedded_fonts(content: bytes) -> list[bool]:
    """For every font the pages use: whether its program is inside the file."""
    reader = PdfReader(io.BytesIO(content))
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            found.append(any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")))
    return found


def _paid(owner_driver, record, make_staff, *, driver=None):
    user, person, vehicle, _licence = owner_driver()
    violation = record(vehicle, code="1625")
    officer = make_staff(role="violation_officer")
    holder = driver or person
    fine = services.violation_handle_at_counter(
        actor=officer, violation_id=violation.pk, licence_number=holder.id_number
    )
    payment_services.payable_pay_at_counter(
        reason="当事人现场缴款",
        actor=make_staff(role="counter_clerk"),
        payable_id=fine.payable_id,
        receipt_number=RECEIPT_NUMBER,
    )
    return user, holder, Fine.objects.get(pk=fine.pk)


def test_driver_downloads_decision_and_receipt_with_full_name(client, owner_driver, record, make_staff):
    user, person, fine = _paid(owner_driver, record, make_staff)
    client.force_login(user)
    page = client.get(f"/violations/{fine.violation_id}/").content.decode()
    assert f"/fines/{fine.pk}/decision.pdf" in page and f"/fines/{fine.pk}/receipt.pdf" in page

    decision = _text(client.get(f"/fines/{fine.pk}/decision.pdf"))
    assert "公安交通管理简易程序处罚决定书" in decision and fine.decision_number in decision
    assert person.name in decision and person.id_number in decision
    assert "驾驶机动车违反道路交通信号灯通行（违法代码1625）" in decision
    assert "小型汽车" in decision and "窗口处理" in decision and "¥200.00" in decision
    assert "河南省驻马店市驿城区公安交通管理部门" in decision
    assert "六十日内" in decision and "百分之三" in decision
    for raw in ("counter", "online", "resident_id", "on_site"):
        assert raw not in decision

    receipt = _text(client.get(f"/fines/{fine.pk}/receipt.pdf"))
    assert "交通违法罚款缴款凭证" in receipt and person.name in receipt
    assert "窗口缴款" in receipt and RECEIPT_NUMBER in receipt and "¥200.00" in receipt


def test_owner_who_did_not_drive_sees_the_driver_masked(
    client, owner_driver, record, make_staff, make_person, make_licence
):
    driver = make_person(name="李娜", sequence=571)
    make_licence(holder=driver, valid_from=date(2021, 3, 5))
    owner, _driver, fine = _paid(owner_driver, record, make_staff, driver=driver)
    client.force_login(owner)
    decision = _text(client.get(f"/fines/{fine.pk}/decision.pdf"))
    assert driver.name not in decision and driver.id_number not in decision
    assert mask_name(driver.name) in decision and mask_id_number(driver.id_number) in decision


def test_unpaid_fine_has_a_decision_but_no_receipt(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    fine = services.violation_handle_online(
        actor=user, violation_id=record(vehicle).pk, no_dispute=True, drove_self=True
    )
    client.force_login(user)
    assert client.get(f"/fines/{fine.pk}/receipt.pdf").status_code == 404
    assert "网上处理" in _text(client.get(f"/fines/{fine.pk}/decision.pdf"))
    body = client.get(f"/api/v1/fines/{fine.pk}").json()
    assert body["decision_pdf_url"] == f"/fines/{fine.pk}/decision.pdf" and body["receipt_pdf_url"] == ""


def test_someone_else_cannot_download(client, owner_driver, record, make_staff):
    _user, _person, fine = _paid(owner_driver, record, make_staff)
    stranger, *_rest = owner_driver(name="王芳")
    client.force_login(stranger)
    assert client.get(f"/fines/{fine.pk}/decision.pdf").status_code == 404
    assert client.get(f"/fines/{fine.pk}/receipt.pdf").status_code == 404


def test_api_links_both_documents_of_a_paid_fine(client, owner_driver, record, make_staff):
    user, _person, fine = _paid(owner_driver, record, make_staff)
    client.force_login(user)
    body = client.get(f"/api/v1/fines/{fine.pk}").json()
    assert body["receipt_pdf_url"] == f"/fines/{fine.pk}/receipt.pdf"
    assert client.get(body["receipt_pdf_url"]).status_code == 200


@pytest.mark.skipif(documents.document_font() == documents.FALLBACK_FONT, reason="no CJK TrueType font here")
def test_documents_embed_their_font(client, owner_driver, record, make_staff):
    user, _person, fine = _paid(owner_driver, record, make_staff)
    client.force_login(user)
    for url in (f"/fines/{fine.pk}/decision.pdf", f"/fines/{fine.pk}/receipt.pdf"):
        embedded = _embedded_fonts(client.get(url).content)
        assert embedded and all(embedded), url


def test_list_shows_amount_due_today_with_the_late_fee(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    on_time = services.violation_handle_online(
        actor=user, violation_id=record(vehicle, code="1101").pk, no_dispute=True, drove_self=True
    )
    late = services.violation_handle_online(
        actor=user, violation_id=record(vehicle, code="1625").pk, no_dispute=True, drove_self=True
    )
    decided = date.today() - timedelta(days=rules.PAYMENT_DAYS + 2)  # two days late
    Fine.objects.filter(pk=late.pk).update(decided_on=decided)
    client.force_login(user)
    page = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/violations/?status=unpaid").content.decode())
    )
    fee = rules.late_fee(fine_fen=20000, decided_on=decided, today=date.today())
    assert fee == 1200
    assert "今日应缴 ¥212.00" in page and "含加处罚款 ¥12.00" in page
    assert f"缴款期限 {rules.payment_due(decided):%Y-%m-%d} 已过" in page
    assert f"{rules.payment_due(on_time.decided_on):%Y-%m-%d} 前（含当日）缴纳无加处罚款" in page
    assert "今日应缴 ¥50.00" in page
