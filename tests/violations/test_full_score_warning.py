"""The counter officer is warned before a decision fills a licence (issue 11 item 2): the page
shows the resulting total and the consequence and asks for a confirmation; the API answers 409
until ``confirm_full_score: true``."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest

from jiaoguan.registry.models import DrivingLicence
from jiaoguan.violations import rules, services
from jiaoguan.violations.models import Violation

from .conftest import SHANGHAI

pytestmark = pytest.mark.django_db


def _words(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.content.decode())))


def _nine_points(owner_driver, record):
    user, person, vehicle, licence = owner_driver()
    for code in ("1625", "1223"):  # 6 + 3
        services.violation_handle_online(
            actor=user, violation_id=record(vehicle, code=code).pk, no_dispute=True, drove_self=True
        )
    return person, vehicle, licence


def _bearer(user) -> dict[str, str]:
    from jiaoguan.accounts.models import ApiToken
    from jiaoguan.accounts.services import _token_hash

    raw = f"full-score-{user.pk}"
    ApiToken.objects.create(
        token_hash=_token_hash(raw), user=user, expires_at=datetime.now(SHANGHAI) + timedelta(hours=1)
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize(
    ("before", "points", "classes", "expected"),
    [
        (9, 3, "C1", 7),
        (11, 6, "B2", 30),
        (0, 12, "A1A2", 30),
    ],
)
def test_full_score_refusal_names_the_total_and_the_study(before, points, classes, expected):
    refusal = rules.full_score_unconfirmed(points_before=before, points=points, classes=classes)
    assert refusal is not None and refusal.status == 409
    assert refusal.detail["points_after"] == before + points
    assert (
        f"将达到 {before + points} 分" in refusal.message_zh and f"满分学习{expected}天" in refusal.message_zh
    )


@pytest.mark.parametrize(("before", "points"), [(0, 11), (8, 3), (12, 0)])
def test_no_confirmation_when_the_decision_does_not_fill_the_licence(before, points):
    assert rules.full_score_unconfirmed(points_before=before, points=points) is None


def test_counter_page_warns_and_records_only_after_the_confirmation(client, owner_driver, record, make_staff):
    person, vehicle, licence = _nine_points(owner_driver, record)
    third = record(vehicle, code="1223")
    officer = make_staff(role="violation_officer")
    client.force_login(officer)
    url = f"/counter/violations/{third.pk}/handle/"
    first = client.post(url, {"handle-licence_number": person.id_number})
    assert first.status_code == 200
    words = _words(first)
    assert 'id="full-score-warning"' in first.content.decode()
    assert "将达到 12 分" in words and "满分学习7天" in words
    assert Violation.objects.get(pk=third.pk).status == "unhandled"
    second = client.post(url, {"handle-licence_number": person.id_number, "handle-confirm_full_score": "on"})
    assert second.status_code == 302
    assert "B" in DrivingLicence.objects.get(pk=licence.pk).status


def test_counter_page_without_a_full_score_has_no_warning(client, owner_driver, record, make_staff):
    _user, person, vehicle, _licence = owner_driver()
    violation = record(vehicle, code="1101")
    client.force_login(make_staff(role="violation_officer"))
    response = client.post(
        f"/counter/violations/{violation.pk}/handle/", {"handle-licence_number": person.id_number}
    )
    assert response.status_code == 302


def test_api_answers_409_until_confirmed(client, owner_driver, record, make_staff):
    person, vehicle, _licence = _nine_points(owner_driver, record)
    third = record(vehicle, code="1223")
    auth = _bearer(make_staff(role="violation_officer"))
    url = f"/api/v1/counter/violations/{third.pk}/handling"
    refused = client.post(url, {"licence_number": person.id_number}, content_type="application/json", **auth)
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "violations.full_score_unconfirmed"
    assert body["detail"]["points_after"] == 12 and body["detail"]["field"] == "confirm_full_score"
    done = client.post(
        url, {"licence_number": person.id_number, "confirm_full_score": True},
        content_type="application/json", **auth,
    )  # fmt: skip
    assert done.status_code == 201 and len(done.json()["decision_number"]) == 15
