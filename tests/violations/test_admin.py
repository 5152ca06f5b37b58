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
