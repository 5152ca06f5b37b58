"""Irreversible counter actions through the API (issue 11 item 6): the reason is required (400 in
Chinese and English without it) and kept in the action's audit entry."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from jiaoguan.core.models import AuditEntry
from jiaoguan.violations import services
from jiaoguan.violations.models import Fine, Violation

from .conftest import SHANGHAI

pytestmark = pytest.mark.django_db


def _bearer(user) -> dict[str, str]:
    from jiaoguan.accounts.models import ApiToken
    from jiaoguan.accounts.services import _token_hash

    raw = f"confirm-{user.pk}"
    ApiToken.objects.create(
        token_hash=_token_hash(raw), user=user, expires_at=datetime.now(SHANGHAI) + timedelta(hours=1)
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("reason", [None, "", "  错 "])
def test_cancel_without_a_reason_is_400_in_both_languages(client, owner_driver, record, make_staff, reason):
    _user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    auth = _bearer(make_staff(role="violation_officer"))
    body = {"confirm": True} if reason is None else {"confirm": True, "reason": reason}
    response = client.post(
        f"/api/v1/counter/violations/{violation.pk}/cancellation",
        body,
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "violations.cancel_reason"
    assert response.json()["detail"]["field"] == "reason"
    english = client.post(
        f"/api/v1/counter/violations/{violation.pk}/cancellation", body, content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en", **auth,
    )  # fmt: skip
    assert "at least 4 characters" in english.json()["message"]
    assert "至少4个字" in response.json()["message"]
    assert Violation.objects.get(pk=violation.pk).status == "unhandled"


def test_cancel_with_a_reason_is_audited(client, owner_driver, record, make_staff):
    _user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    auth = _bearer(make_staff(role="violation_officer"))
    response = client.post(
        f"/api/v1/counter/violations/{violation.pk}/cancellation",
        {"confirm": True, "reason": "核实为套牌车辆"}, content_type="application/json", **auth,
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert AuditEntry.objects.get(summary=f"撤销违法 {violation.record_number}").reason == "核实为套牌车辆"


def test_counter_payment_api_needs_a_reason_and_audits_it(client, owner_driver, record, make_staff):
    user, _person, vehicle, _licence = owner_driver()
    fine = services.violation_handle_online(
        actor=user, violation_id=record(vehicle).pk, no_dispute=True, drove_self=True
    )
    auth = _bearer(make_staff(role="counter_clerk"))
    url = f"/api/v1/counter/violations/{fine.violation_id}/payment"
    refused = client.post(url, {"receipt_number": "HN2026-000401"}, content_type="application/json", **auth)
    assert refused.status_code == 400 and refused.json()["code"] == "payments.reason_required"
    assert Fine.objects.get(pk=fine.pk).status == "unpaid"
    done = client.post(
        url, {"receipt_number": "HN2026-000401", "reason": "当事人现场刷卡"}, content_type="application/json",
        **auth,
    )  # fmt: skip
    assert done.status_code == 201 and done.json()["state"] == "paid" and done.json()["amount_fen"] == 20000
    assert Fine.objects.get(pk=fine.pk).status == "paid"
    assert AuditEntry.objects.get(summary__startswith="窗口收款").reason == "当事人现场刷卡"
    again = client.post(
        url, {"receipt_number": "HN2026-000402", "reason": "当事人现场刷卡"}, content_type="application/json",
        **auth,
    )  # fmt: skip
    assert again.status_code == 409
