"""Concurrent issue of one vehicle's mark keeps exactly one current credential (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from jiaoguan.credentials import services
from jiaoguan.credentials.models import Credential

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_issue_and_bulk_issue_leave_one_current_mark(make_person, make_vehicle):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    vehicle = make_vehicle(owner=make_person(), registered_on=timezone.localdate() - timedelta(days=300))
    barrier = threading.Barrier(5)
    errors: list[Exception] = []

    def issue(bulk: bool) -> None:
        try:
            barrier.wait()
            if bulk:
                services.inspection_marks_bulk_issue()
            else:
                services.inspection_mark_issue(vehicle_id=vehicle.pk, event="race")
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issue, args=(i % 2 == 0,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert Credential.objects.filter(vehicle=vehicle, status__in=["valid", "suspended"]).count() == 1


def test_revoke_racing_a_reissue_never_leaves_the_revoked_mark_current(
    make_person, make_vehicle, make_staff, run_together
):
    """Revocation and a reissue lock the vehicle first: the old mark ends revoked or superseded, never valid."""
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    from jiaoguan.core.errors import Conflict
    from jiaoguan.registry.models import Vehicle

    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    vehicle = make_vehicle(owner=make_person(), registered_on=timezone.localdate() - timedelta(days=300))
    mark = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    Vehicle.objects.filter(pk=vehicle.pk).update(plate_number="豫QB7777")  # the reissue then supersedes
    revoked, reissued = run_together(
        lambda: services.credential_revoke(actor=clerk, credential_id=mark.pk, reason="手机遗失"),
        lambda: services.inspection_mark_issue(vehicle_id=vehicle.pk, event="changed"),
    )
    assert not isinstance(reissued, Exception), reissued
    assert not isinstance(revoked, Exception) or isinstance(revoked, Conflict), revoked
    mark.refresh_from_db()
    assert mark.status in ("revoked", "superseded")
    assert Credential.objects.filter(vehicle=vehicle, status__in=["valid", "suspended"]).count() <= 1


def test_concurrent_scans_of_one_online_qr_give_exactly_one_valid(make_person, make_vehicle, run_together):
    """The first verification consumes the on-screen nonce (issue 10, item 13): of eight scans of
    the same QR at the same moment exactly one is valid, the others say when it was checked."""
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    import json

    from django.test import Client

    from jiaoguan.credentials.models import OnlineNonce
    from jiaoguan.credentials.token import DisplayMode

    vehicle = make_vehicle(owner=make_person(), registered_on=timezone.localdate() - timedelta(days=300))
    mark = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    text, _ = services.credential_token(credential=mark, mode=DisplayMode.ONLINE)

    def scan() -> dict:
        response = Client().post(
            "/api/v1/credentials/verify", json.dumps({"text": text}), content_type="application/json"
        )
        return response.json()

    results = run_together(*[scan for _ in range(8)])
    assert not [r for r in results if isinstance(r, Exception)], results
    reasons = sorted(r["reason"] for r in results)
    assert reasons == ["already_checked"] * 7 + ["ok"], reasons
    assert len({r["checked_at"] for r in results if r["reason"] == "already_checked"}) == 1
    assert OnlineNonce.objects.get(credential=mark).verified_count == 8
