"""On-site records at the counter page (现场处罚): a record is kept only with its decision, so a
refused one (an unknown licence, a revoked one) leaves nothing behind however often it is sent."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from jiaoguan.core.identifiers import make_citizen_id
from jiaoguan.core.models import AuditEntry
from jiaoguan.payments.models import Payable
from jiaoguan.violations.models import Fine, SerialCounter, Violation

ON_SITE = "/counter/violations/on-site/"


def form_error(response, field: str) -> str:
    match = re.search(rf'id="id_{field}_error">([^<]*)<', response.content.decode())
    return html.unescape(match.group(1)) if match else ""


def on_site(plate: str, licence_number: str) -> dict[str, str]:
    return {
        "onsite-plate_number": plate,
        "onsite-plate_type": "02",
        "onsite-licence_number": licence_number,
        "onsite-code": "1625",
        "onsite-occurred_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "onsite-place": "驻马店市开源大道与乐山大道交叉口",
    }


def nothing_kept() -> bool:
    return not (
        Violation.objects.exists()
        or Fine.objects.exists()
        or Payable.objects.exists()
        or SerialCounter.objects.exists()
        or AuditEntry.objects.filter(subject_type__icontains="violation").exists()
    )


@pytest.mark.django_db
def test_an_unknown_licence_shows_the_error_and_no_retry_keeps_a_record(owner_driver, make_staff):
    _user, person, vehicle, _licence = owner_driver()
    client = Client()
    client.force_login(make_staff(role="violation_officer"))
    unknown = make_citizen_id("411702", date(1990, 1, 1), 555)  # well-formed, on nobody's licence
    for _attempt in range(3):
        response = client.post(ON_SITE, on_site(vehicle.plate_number, unknown))
        assert response.status_code == 200
        assert "没有这本驾驶证" in form_error(response, "onsite-licence_number")
        assert nothing_kept()
    # The right licence: one record, numbered as if the refusals had never happened.
    response = client.post(ON_SITE, on_site(vehicle.plate_number, person.id_number))
    assert response.status_code == 302
    violation = Violation.objects.get()
    assert violation.record_number[13:19] == "000001"
    assert Fine.objects.filter(violation=violation).count() == 1


@pytest.mark.django_db
def test_a_revoked_licence_is_refused_and_nothing_is_kept(owner_driver, make_staff):
    _user, person, vehicle, licence = owner_driver()
    licence.status = "F"
    licence.save(update_fields=["status"])
    client = Client()
    client.force_login(make_staff(role="violation_officer"))
    response = client.post(ON_SITE, on_site(vehicle.plate_number, person.id_number))
    assert response.status_code == 200
    assert "吊销" in form_error(response, "onsite-licence_number")
    assert nothing_kept()


@pytest.mark.django_db(transaction=True)
def test_refused_records_sent_at_the_same_moment_keep_nothing(owner_driver, make_staff, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are exercised on PostgreSQL")
    _user, _person, vehicle, _licence = owner_driver()
    officer = make_staff(role="violation_officer")
    unknown = make_citizen_id("411702", date(1990, 1, 1), 555)

    def send():
        client = Client()
        client.force_login(officer)
        return client.post(ON_SITE, on_site(vehicle.plate_number, unknown)).status_code

    assert run_together(*[send] * 4) == [200] * 4
    assert nothing_kept()
