"""Online handling decided before the form (issue 11 item 3): the JSON detail says whether a
record can be handled online and why not, with the same refusal the service gives."""

from __future__ import annotations

import pytest

from jiaoguan.core.errors import DomainError
from jiaoguan.violations import services

pytestmark = pytest.mark.django_db


def _handle(user, violation):
    return services.violation_handle_online(
        actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True
    )


def test_api_detail_says_handling_is_allowed_with_the_points(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle, code="1223")
    client.force_login(user)
    body = client.get(f"/api/v1/me/violations/{violation.pk}").json()
    assert body["online_handling"] == {
        "allowed": True, "reason_code": "", "reason": "", "reason_zh": "", "reason_en": "",
        "points_now": 0, "points_after": 3,
    }  # fmt: skip


def test_api_detail_refuses_at_twelve_points_like_the_service(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    _handle(user, record(vehicle, code="1625"))  # 6
    _handle(user, record(vehicle, code="1223"))  # 9
    last = record(vehicle, code="1223")  # would reach 12
    client.force_login(user)
    body = client.get(f"/api/v1/me/violations/{last.pk}").json()["online_handling"]
    assert body["allowed"] is False and body["reason_code"] == "violations.points_limit"
    assert "违法处理窗口" in body["reason_zh"] and "counter" in body["reason_en"]
    assert body["reason"] == body["reason_zh"]
    with pytest.raises(DomainError) as refused:
        _handle(user, last)
    assert refused.value.code == body["reason_code"] and refused.value.message_zh == body["reason_zh"]


def test_api_detail_of_a_handled_record_is_not_handleable(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle, code="1101")
    _handle(user, violation)
    client.force_login(user)
    body = client.get(f"/api/v1/me/violations/{violation.pk}").json()["online_handling"]
    assert body["allowed"] is False and body["reason_code"] == "violations.already_handled"


def test_api_list_items_carry_no_handling_verdict(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    record(vehicle)
    client.force_login(user)
    items = client.get("/api/v1/me/violations").json()["items"]
    assert items and items[0]["online_handling"] is None
