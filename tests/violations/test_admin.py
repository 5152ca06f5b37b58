"""Back office: violations and payments are read-only, scoped to the jurisdiction, opens audited."""

from __future__ import annotations

import pytest

from jiaoguan.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_officer_sees_own_jurisdiction_and_v6_records_read_only(
    client, owner_driver, record, make_staff, make_vehicle, make_person
):
    _user, _person, vehicle, _l = owner_driver()
    local = record(vehicle)
    other_province_local_car = record(vehicle, division="320102")
    outsider = make_vehicle(
        owner=make_person(name="赵敏", area="410102"), division="410102", plate="豫A12345"
    )
    elsewhere = record(outsider, division="410102")
    officer = make_staff(role="violation_officer")
    client.force_login(officer)
    listing = client.get("/admin/violations/violation/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert local.record_number in body and other_province_local_car.record_number in body
    assert elsewhere.record_number not in body
    page = client.get(f"/admin/violations/violation/{local.pk}/change/")
    assert page.status_code == 200
    assert AuditEntry.objects.filter(
        subject_type="violations.violation", subject_id=str(local.pk), action="view"
    ).exists()
    assert client.get(f"/admin/violations/violation/{elsewhere.pk}/change/").status_code in (302, 404)
    assert (
        client.post(f"/admin/violations/violation/{local.pk}/change/", {"status": "cancelled"}).status_code
        == 403
    )
    assert client.get("/admin/violations/violation/add/").status_code == 403


def test_accident_officer_has_no_violation_pages(client, make_staff):
    client.force_login(make_staff(role="accident_officer"))
    assert client.get("/admin/violations/violation/").status_code == 403
    assert client.get("/admin/payments/paymentorder/").status_code == 403


def test_back_office_lists_speak_chinese_and_beijing_time(client, owner_driver, record, make_staff, settings):
    """Choices in words, amounts in yuan, times in Beijing time (the stored value is UTC)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from jiaoguan.payments import services as payment_services
    from jiaoguan.violations.services import violation_handle_online

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user, _person, vehicle, _l = owner_driver()
    occurred = datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # 15:30 UTC
    violation = record(vehicle, occurred_at=occurred)
    fine = violation_handle_online(actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True)
    payment_services.payable_pay_at_counter(
        reason="当事人现场缴款",
        actor=make_staff(role="counter_clerk"),
        payable_id=fine.payable_id,
        receipt_number="HN2026-000901",
    )
    client.force_login(make_staff(role="administrator"))
    body = client.get("/admin/violations/violation/").content.decode()
    assert "02 小型汽车" in body and "电子监控 camera" in body and "已处理 handled" in body
    assert "2026-11-30 23:30:00" in body and "¥200.00" in body and "small_passenger" not in body
    assert "违法时间（北京时间）" in body
    body = client.get("/admin/payments/payable/").content.decode()
    assert "交通违法罚款 traffic fine" in body and "已缴款 paid" in body and "窗口缴款 counter" in body
    body = client.get("/admin/payments/paymentorder/").content.decode()
    assert "缴款订单" in body and fine.decision_number in body and "已支付 paid" in body
    body = client.get(f"/admin/violations/fine/{fine.pk}/change/").content.decode()
    assert "决定书编号 decision number" in body and "罚款金额（分） fine in fen" in body


def test_nothing_is_added_changed_or_deleted_in_the_payments_back_office(client, make_staff):
    client.force_login(make_staff(role="administrator"))
    for model in ("payable", "paymentorder", "refund", "gatewaycharge", "callbacklog", "reconciliationrun"):
        assert client.get(f"/admin/payments/{model}/add/").status_code == 403, model
    assert client.get("/admin/payments/callbacklog/").status_code == 200
    client.force_login(make_staff(role="counter_clerk"))
    assert client.get("/admin/payments/callbacklog/").status_code == 403  # administrators only
