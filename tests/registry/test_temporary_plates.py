"""Dealers' temporary plates (B18, issue 14): 30 days, 3 issues per VIN, never beyond the compulsory
insurance (RULES.md), numbers without duplicates, the insurer asked online first (O7)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import count

import pytest
from django.db import connection
from django.utils import timezone

from jiaoguan.core.errors import Conflict, NotAllowed, Unavailable, ValidationFailed
from jiaoguan.core.identifiers import make_vin
from jiaoguan.registry import services
from jiaoguan.registry import temporary_plates as rules
from jiaoguan.registry.models import TemporaryPlate

pytestmark = pytest.mark.django_db

_serial = count(1)


def new_vin(last: str = "7") -> str:
    """A valid VIN (GB 16735) no registry vehicle has; the insurer fake reads the last character:
    "0" uninsured, anything else insured by default."""
    return make_vin(f"LFV2A21K0P{next(_serial):06d}{last}")


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    """Signing keys of this test only (the plate's QR is signed)."""
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    from jiaoguan.credentials.keys import trust_cache_clear

    trust_cache_clear()
    yield
    trust_cache_clear()


@pytest.fixture
def dealer(organisation_user):
    """A car dealer's organisation user in Zhumadian (411702)."""
    return organisation_user(name="驻马店市天中汽车销售服务有限公司", kind="car_dealer", suffix="0DLR17")


def insured(until: date | None = None) -> services.InsuranceFacts:
    today = timezone.localdate()
    return services.InsuranceFacts(
        required=True, insured_until=until or today + timedelta(days=200), insurer_name="中国人保财险",
        policy_number="PDZA2026411700000001",
    )  # fmt: skip


def issue(actor, vin: str, *, days: int = 30, facts=None, today: date | None = None) -> TemporaryPlate:
    application = services.temporary_plate_request_check(
        actor=actor,
        data={"vin": vin, "kind": "small_passenger", "brand_model": "比亚迪牌 BYD7006BEV", "days": days},
    )
    return services.temporary_plate_issue(
        actor=actor, application=application, insurance=facts or insured(), today=today
    )


# ---------------------------------------------------------------- the rules, pure


def test_validity_is_at_most_30_days_from_the_start():
    start = date(2026, 12, 5)
    assert rules.validity(
        start=start, days=30, insured_until=None, insurance_required=False
    ).valid_until == date(2027, 1, 3)
    for bad in (0, 31, "x", None):
        with pytest.raises(ValidationFailed) as refused:
            rules.check_days(bad)
        assert refused.value.code == "registry.temporary_plate.days"


def test_insurance_end_caps_the_validity_and_no_insurance_refuses():
    start = date(2026, 12, 5)
    capped = rules.validity(start=start, days=30, insured_until=date(2026, 12, 20), insurance_required=True)
    assert (capped.valid_until, capped.capped_by_insurance) == (date(2026, 12, 20), True)
    with pytest.raises(Conflict) as refused:
        rules.validity(start=start, days=30, insured_until=date(2026, 12, 4), insurance_required=True)
    assert refused.value.code == "registry.temporary_plate.not_insured"


def test_at_most_three_issues():
    assert [rules.check_issue_count(n) for n in (0, 1, 2)] == [1, 2, 3]
    with pytest.raises(Conflict) as refused:
        rules.check_issue_count(3)
    assert refused.value.code == "registry.temporary_plate.too_many"


def test_number_format_is_office_prefix_temporary_mark_and_serial():
    assert rules.office_prefix("411702") == "豫Q"
    assert rules.plate_number("豫Q", 42) == "豫Q临00042"
    with pytest.raises(Conflict):
        rules.office_prefix("110101")  # no plate office of this platform


# ---------------------------------------------------------------- the registry service


def test_a_dealer_gets_a_plate_for_30_days_with_a_new_number(dealer):
    user = dealer
    today = timezone.localdate()
    plate = issue(user, new_vin())
    assert plate.valid_from == today and plate.valid_until == today + timedelta(days=29)
    assert re.fullmatch(r"豫Q临\d{5}", plate.number)
    assert plate.issue_no == 1 and plate.dealer_id == user.organisation_id
    assert plate.insurer_name == "中国人保财险" and plate.division == "411702"
    second = issue(user, new_vin())
    assert second.number != plate.number


def test_the_insurance_end_caps_a_plate(dealer):
    user = dealer
    end = timezone.localdate() + timedelta(days=9)
    plate = issue(user, new_vin(), facts=insured(end))
    assert plate.valid_until == end == plate.insured_until


def test_a_fourth_plate_for_one_vin_is_refused(dealer):
    user = dealer
    vin = new_vin()
    assert [issue(user, vin, days=5).issue_no for _ in range(3)] == [1, 2, 3]
    with pytest.raises(Conflict) as refused:
        issue(user, vin)
    assert refused.value.code == "registry.temporary_plate.too_many"
    assert TemporaryPlate.objects.filter(vin=vin).count() == 3


def test_a_registered_vin_is_refused(dealer, make_person, make_vehicle):
    vehicle = make_vehicle(owner=make_person())
    with pytest.raises(Conflict) as refused:
        issue(dealer, vehicle.vin)
    assert refused.value.code == "registry.temporary_plate.registered"


def test_only_car_dealers_apply(organisation_user, owner_driver):
    transport = organisation_user()  # a transport company
    with pytest.raises(NotAllowed) as refused:
        issue(transport, new_vin())
    assert refused.value.code == "accounts.car_dealer_only"
    citizen, *_ = owner_driver()
    with pytest.raises(NotAllowed):
        issue(citizen, new_vin())
    assert not TemporaryPlate.objects.exists()


def test_a_bad_vin_is_refused_before_anything(dealer):
    with pytest.raises(ValidationFailed) as refused:
        issue(dealer, "LFV2A21K1P0000001")  # wrong check digit
    assert refused.value.code == "vehicle.vin_checksum"


def test_staff_revoke_and_see_only_their_jurisdiction(dealer, make_staff):
    plate = issue(dealer, new_vin())
    outside = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou")
    with pytest.raises(Exception) as hidden:
        services.temporary_plate_revoke(actor=outside, plate_id=plate.pk, reason="车辆已售出转籍")
    assert getattr(hidden.value, "status", None) in (403, 404)
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    services.temporary_plate_revoke(actor=clerk, plate_id=plate.pk, reason="车辆已售出转籍")
    plate.refresh_from_db()
    assert plate.revoked_at is not None and plate.revoked_by == clerk


# ---------------------------------------------------------------- through the insurer (O7)


def apply(user, vin: str, **data):
    from jiaoguan.credentials.temporary_plates import temporary_plate_apply

    body = {"vin": vin, "kind": "small_passenger", "brand_model": "比亚迪牌 BYD7006BEV", "days": 30, **data}
    return temporary_plate_apply(actor=user, data=body)


def test_the_insurers_end_caps_the_plate(dealer, insurer_service):
    vin = new_vin()
    end = timezone.localdate() + timedelta(days=12)
    insurer_service.set_policy(vin, start=timezone.localdate() - timedelta(days=300), end=end)
    plate = apply(dealer, vin)
    assert plate.valid_until == end and plate.insured_until == end
    assert plate.policy_number and plate.insurer_name


def test_an_uninsured_car_is_refused_with_the_insurers_words(dealer, insurer_service):
    vin = new_vin(last="0")  # the fake's default: a VIN ending in 0 is uninsured
    with pytest.raises(Conflict) as refused:
        apply(dealer, vin)
    assert refused.value.code == "registry.temporary_plate.not_insured"
    assert "交强险" in refused.value.message_zh
    assert not TemporaryPlate.objects.filter(vin=vin).exists()


def test_an_insurer_timeout_is_503_and_nothing_is_issued(dealer, insurer_service):
    insurer_service.timeout()
    vin = new_vin()
    with pytest.raises(Unavailable) as refused:
        apply(dealer, vin)
    assert refused.value.code == "insurance.unavailable" and refused.value.status == 503
    assert not TemporaryPlate.objects.filter(vin=vin).exists()


def test_a_motorcycle_is_not_asked_about_insurance(dealer, insurer_service):
    insurer_service.outage()  # would be 503 if it were asked
    plate = apply(dealer, new_vin(last="0"), kind="motorcycle", brand_model="五羊-本田牌 WH125")
    assert plate.insurance_required is False and plate.insured_until is None
    assert plate.valid_until == timezone.localdate() + timedelta(days=29)


@pytest.mark.django_db(transaction=True)
def test_parallel_applications_at_the_third_issue_give_exactly_one_plate(
    dealer, insurer_service, run_together
):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    user = dealer
    vin = new_vin()
    for _ in range(2):
        apply(user, vin, days=3)
    results = run_together(*[lambda: apply(user, vin, days=10) for _ in range(8)])
    issued = [r for r in results if isinstance(r, TemporaryPlate)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(issued) == 1, results
    assert len(refused) == 7 and {r.code for r in refused} <= {
        "registry.temporary_plate.too_many",
        "registry.temporary_plate.concurrent",
    }
    plates = TemporaryPlate.objects.filter(vin=vin)
    assert sorted(p.issue_no for p in plates) == [1, 2, 3]
    assert len({p.number for p in TemporaryPlate.objects.all()}) == TemporaryPlate.objects.count()


@pytest.mark.django_db(transaction=True)
def test_parallel_applications_for_different_cars_never_share_a_number(dealer, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    user = dealer
    vins = [new_vin() for _ in range(8)]
    results = run_together(*[lambda vin=vin: issue(user, vin) for vin in vins])
    assert all(isinstance(r, TemporaryPlate) for r in results), results
    assert len({r.number for r in results}) == 8


def test_an_organisation_with_a_uscc_outside_the_offices_is_told(organisation_user):
    from jiaoguan.registry.models import Organisation

    user = organisation_user(kind="car_dealer", suffix="0BJX17")
    Organisation.objects.filter(pk=user.organisation_id).update(division="110101")
    user.organisation.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        issue(user, new_vin())
    assert refused.value.code == "registry.temporary_plate.no_office"


def test_the_data_check_reports_a_bad_stored_plate(dealer):
    from jiaoguan.core.datachecks import CheckContext, run_checks

    good = issue(dealer, new_vin())
    bad = issue(dealer, new_vin())
    TemporaryPlate.objects.filter(pk=bad.pk).update(
        number="豫Q12345", valid_until=bad.valid_from + timedelta(days=40), insured_until=None
    )
    context = CheckContext(today=timezone.localdate(), batch_size=1)
    findings = [f for _name, f in run_checks(context=context, only=["registry.temporary_plates"])]
    assert {(f.id, f.field) for f in findings} == {(str(bad.pk), "number"), (str(bad.pk), "valid_until")}
    assert str(good.pk) not in {f.id for f in findings}
