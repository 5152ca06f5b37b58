"""The insurer adapter against the fake insurer exchange, over HTTP (issue 14, REQUIREMENTS O7)."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.identifiers import make_vin
from jiaoguan.integrations.fake_insurer_service import DEFAULT_INSURERS, default_vehicle
from jiaoguan.integrations.insurer import (
    HttpInsurerService,
    InsurerRefused,
    InsurerTimeout,
    InsurerUnavailable,
    Policy,
    vin_valid,
)

VIN = make_vin("LSVAB4BR0M0000011")
VIN_UNINSURED = make_vin("LSVAB4BR0M0000010")  # ends in 0: no policy unless seeded
VIN_TAX_UNPAID = make_vin("LSVAB4BR0M0000019")  # ends in 9: tax unpaid unless seeded


def client(insurer, **overrides) -> HttpInsurerService:
    options = {"timeout": 1.0, "retries": 1, "backoff": (0.05,)} | overrides
    return HttpInsurerService(base_url=insurer.url, client_id=insurer.client_id, key=insurer.key, **options)


def test_the_vins_used_here_are_valid():
    assert all(vin_valid(v) for v in (VIN, VIN_UNINSURED, VIN_TAX_UNPAID))
    assert VIN_UNINSURED.endswith("0") and VIN_TAX_UNPAID.endswith("9")


def test_an_unseeded_vin_is_insured_months_ahead_with_the_tax_paid(insurer_service):
    today = timezone.localdate()
    status = client(insurer_service).vehicle_status(vin=VIN, on=today)
    assert status.insured and status.tax_paid and status.tax_year == today.year
    assert status.policy is not None and status.policy.insurer_name in DEFAULT_INSURERS
    assert status.policy.start <= today - timedelta(days=365) + timedelta(days=1)
    assert today + timedelta(days=27) <= status.policy.end <= today + timedelta(days=367)
    # Deterministic: the same VIN always gets the same policy.
    again = client(insurer_service).vehicle_status(vin=VIN, on=today)
    assert again.policy == status.policy


def test_the_default_rules_by_last_character():
    today = date(2026, 12, 5)
    assert default_vehicle(VIN_UNINSURED, today)["policies"] == []
    assert default_vehicle(VIN_TAX_UNPAID, today)["tax_paid_years"] == []
    vins = [make_vin(f"LSVAB4BR0M{n:07d}") for n in range(1, 200, 3) if n % 10]
    ends = {default_vehicle(vin, today)["policies"][0].end for vin in vins}
    assert len(ends) > 3 and all(date(2027, 1, 5) <= end <= date(2027, 12, 5) for end in ends)


def test_uninsured_and_tax_unpaid_defaults(insurer_service):
    today = timezone.localdate()
    uninsured = client(insurer_service).vehicle_status(vin=VIN_UNINSURED, on=today)
    assert not uninsured.insured and uninsured.policy is None and uninsured.last_policy is None
    assert uninsured.tax_paid
    unpaid = client(insurer_service).vehicle_status(vin=VIN_TAX_UNPAID, on=today)
    assert unpaid.insured and not unpaid.tax_paid


def test_a_seeded_policy_overrides_the_default_and_counts_by_day(insurer_service):
    start, end = date(2026, 1, 10), date(2027, 1, 9)
    insurer_service.set_policy(
        VIN_UNINSURED, start=start, end=end, insurer_name="中国平安财产保险股份有限公司驻马店中心支公司",
        policy_number="PDZA202641170000000099", tax_paid_years=[2026],
    )  # fmt: skip
    adapter = client(insurer_service)
    inside = adapter.vehicle_status(vin=VIN_UNINSURED, on=end)
    assert inside.policy == Policy(
        "PDZA202641170000000099", "中国平安财产保险股份有限公司驻马店中心支公司", start, end
    )
    assert inside.tax_paid is False  # 2027's tax is not paid
    after = adapter.vehicle_status(vin=VIN_UNINSURED, on=end + timedelta(days=1))
    assert after.policy is None and after.last_policy == inside.policy
    before = adapter.vehicle_status(vin=VIN_UNINSURED, on=start - timedelta(days=1))
    assert not before.insured
    assert adapter.vehicle_status(vin=VIN_UNINSURED, on=date(2026, 6, 1)).tax_paid


def test_a_timeout_is_reported_after_the_retry(insurer_service):
    insurer_service.configure(timeout_rate=1.0, timeout_sleep_ms=1500)
    started = time.monotonic()
    with pytest.raises(InsurerTimeout):
        client(insurer_service, timeout=0.5).vehicle_status(vin=VIN, on=timezone.localdate())
    assert time.monotonic() - started < 5
    assert len(insurer_service.requests()) == 2  # the first try and one retry


def test_an_outage_is_retried_then_reported(insurer_service):
    insurer_service.outage()
    with pytest.raises(InsurerUnavailable) as caught:
        client(insurer_service, retries=2).vehicle_status(vin=VIN, on=timezone.localdate())
    assert caught.value.code == "server_error"
    assert [r["status"] for r in insurer_service.requests()] == [503, 503, 503]


def test_a_passing_failure_is_hidden_by_the_retry(insurer_service):
    # seed 3: the first draw fails, the next succeeds (checked below through the request log)
    for seed in range(50):
        insurer_service.control.reset()
        insurer_service.configure(error_rate=0.5, seed=seed)
        try:
            status = client(insurer_service, retries=3).vehicle_status(vin=VIN, on=timezone.localdate())
        except InsurerUnavailable:
            continue
        statuses = [r["status"] for r in insurer_service.requests()]
        if statuses[0] == 503:
            assert statuses[-1] == 200 and status.insured
            return
    pytest.fail("no seed gave a failure then a success")


def test_a_duplicated_answer_to_another_request_is_never_taken(insurer_service):
    adapter = client(insurer_service, retries=1)
    today = timezone.localdate()
    assert not adapter.vehicle_status(vin=VIN_UNINSURED, on=today).insured
    insurer_service.configure(duplicate_rate=1.0)
    # Every answer now repeats the one before it (the uninsured VIN's, then its own first try's).
    with pytest.raises(InsurerUnavailable) as caught:
        adapter.vehicle_status(vin=VIN, on=today)
    assert caught.value.code == "wrong_answer"
    faults = [r["fault"] for r in insurer_service.requests()]
    assert faults == ["", "duplicate", "duplicate"]


def test_one_duplicated_answer_costs_a_retry_only(insurer_service):
    adapter = client(insurer_service, retries=1)
    today = timezone.localdate()
    adapter.vehicle_status(vin=VIN_UNINSURED, on=today)
    for seed in range(50):
        insurer_service.configure(duplicate_rate=0.5, seed=seed)
        before = len(insurer_service.requests())
        try:
            status = adapter.vehicle_status(vin=VIN, on=today)
        except InsurerUnavailable:
            continue
        faults = [r["fault"] for r in insurer_service.requests()[before:]]
        assert status.vin == VIN and status.insured  # never the uninsured VIN's answer
        if faults == ["duplicate", ""]:
            return
    pytest.fail("no seed gave a duplicate then a real answer")


def test_a_wrongly_signed_answer_is_refused(insurer_service):
    insurer_service.configure(bad_signature_rate=1.0)
    with pytest.raises(InsurerUnavailable) as caught:
        client(insurer_service).vehicle_status(vin=VIN, on=timezone.localdate())
    assert caught.value.code == "bad_response_signature"


def test_a_request_signed_with_another_key_is_refused(insurer_service):
    stranger = HttpInsurerService(
        base_url=insurer_service.url, client_id=insurer_service.client_id, key="not-our-key", retries=0
    )
    # The exchange answers 401 signed with the real key, which the stranger cannot verify.
    with pytest.raises(InsurerUnavailable) as caught:
        stranger.vehicle_status(vin=VIN, on=timezone.localdate())
    assert caught.value.code == "bad_response_signature"
    assert insurer_service.requests() == []  # nothing was answered


def test_an_invalid_vin_is_not_sent(insurer_service):
    with pytest.raises(InsurerRefused):
        client(insurer_service).vehicle_status(vin="LSVAB4BR0M000001", on=timezone.localdate())
    assert insurer_service.requests() == []


def test_the_settings_build_the_adapter(insurer_service):
    status = insurer_service.client().vehicle_status(vin=VIN, on=timezone.localdate())
    assert status.vin == VIN
