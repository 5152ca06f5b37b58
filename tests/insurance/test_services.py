"""insurance_check against the real fake insurer exchange (issue 14, REQUIREMENTS O7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jiaoguan.core.errors import Unavailable, ValidationFailed
from jiaoguan.core.identifiers import make_vin
from jiaoguan.insurance.models import InsuranceCheckFailure
from jiaoguan.insurance.services import InsuranceAnswer, insurance_check

pytestmark = pytest.mark.django_db

VIN = make_vin("LSVAB4BR0M0000021")
VIN_UNINSURED = make_vin("LSVAB4BR0M0000020")  # ends in 0: the exchange has no policy
VIN_TAX_UNPAID = make_vin("LSVAB4BR0M0000029")  # ends in 9: tax unpaid

PICC = "中国人民财产保险股份有限公司驻马店市分公司"


def check(vin: str = VIN, **kw) -> InsuranceAnswer:
    options = {
        "kind": "small_passenger",
        "purpose": "inspection",
        "on": timezone.localdate(),
        "plate_number": "豫Q12345",
        "division": "411702",
        "requested_by": "station:4117001",
    } | kw
    return insurance_check(vin=vin, **options)


def test_an_insured_vehicle_with_the_tax_paid_passes_and_nothing_is_recorded(insurer_service):
    today = timezone.localdate()
    insurer_service.set_policy(
        VIN, start=today - timedelta(days=200), end=today + timedelta(days=165), insurer_name=PICC,
        policy_number="PDZA202641170000000123",
    )  # fmt: skip
    answer = check()
    assert answer.ok and answer.required and answer.insured and answer.tax_paid
    assert answer.insured_until == today + timedelta(days=165)
    assert (answer.insurer_name, answer.policy_number) == (PICC, "PDZA202641170000000123")
    assert answer.missing == () and answer.message_zh == answer.message_en == ""
    assert not InsuranceCheckFailure.objects.exists()


def test_an_unseeded_vehicle_passes_by_default(insurer_service):
    answer = check(purpose="registration")
    assert answer.ok and answer.insured_until is not None and answer.insurer_name


def test_no_policy_is_refused_and_recorded_without_an_insurer(insurer_service):
    answer = check(VIN_UNINSURED, purpose="temporary_plate")
    assert not answer.ok and answer.required and not answer.insured
    assert answer.missing == ("compulsory_insurance",)
    assert answer.insured_until is None and answer.insurer_name == ""
    assert "交强险" in answer.message_zh and "insurance" in answer.message_en
    row = InsuranceCheckFailure.objects.get()
    assert (row.vin, row.plate_number, row.purpose, row.missing) == (
        VIN_UNINSURED, "豫Q12345", "temporary_plate", "compulsory_insurance"
    )  # fmt: skip
    assert (row.insurer_name, row.division, row.requested_by) == ("", "411702", "station:4117001")
    assert row.checked_for == timezone.localdate()


def test_a_lapsed_policy_names_its_insurer_for_the_feedback(insurer_service):
    today = timezone.localdate()
    insurer_service.set_policy(
        VIN, start=today - timedelta(days=400), end=today - timedelta(days=35), insurer_name=PICC,
        policy_number="PDZA202541170000000777",
    )  # fmt: skip
    answer = check()
    assert answer.missing == ("compulsory_insurance",) and answer.insured_until is None
    assert (answer.insurer_name, answer.policy_number) == (PICC, "PDZA202541170000000777")
    assert InsuranceCheckFailure.objects.get().insurer_name == PICC


def test_unpaid_tax_is_refused_and_recorded_with_the_insurer(insurer_service):
    answer = check(VIN_TAX_UNPAID)
    assert answer.insured and not answer.tax_paid and answer.missing == ("vehicle_tax",)
    assert f"{timezone.localdate().year}年度车船税" in answer.message_zh
    row = InsuranceCheckFailure.objects.get()
    assert row.missing == "vehicle_tax" and row.insurer_name == answer.insurer_name != ""


def test_both_missing(insurer_service):
    insurer_service.set_uninsured(VIN, tax_paid_years=[])
    answer = check()
    assert answer.missing == ("compulsory_insurance", "vehicle_tax")
    assert InsuranceCheckFailure.objects.get().missing == "compulsory_insurance,vehicle_tax"


@pytest.mark.parametrize(
    "kind", ["motorcycle", "moped", "three_wheeled_motorcycle", "three_wheeled", "low_speed_truck"]
)
def test_exempt_kinds_are_not_asked(insurer_service, kind):
    # O7: not for motorcycles, low-speed trucks and tricycles, even a VIN the insurers do not know.
    answer = check(VIN_UNINSURED, kind=kind)
    assert answer.ok and not answer.required and answer.missing == ()
    assert insurer_service.requests() == []
    assert not InsuranceCheckFailure.objects.exists()


def test_a_timeout_is_unavailable_and_nothing_is_recorded(insurer_service):
    insurer_service.timeout()
    with pytest.raises(Unavailable) as caught:
        check(VIN_UNINSURED)
    assert caught.value.code == "insurance.unavailable" and caught.value.status == 503
    assert "稍后重试" in caught.value.message_zh and "try again later" in caught.value.message_en
    assert not InsuranceCheckFailure.objects.exists()


def test_an_outage_is_retried_then_unavailable(insurer_service):
    insurer_service.outage()
    with pytest.raises(Unavailable):
        check(VIN_UNINSURED)
    assert [r["status"] for r in insurer_service.requests()] == [503, 503]  # INSURER_RETRIES = 1
    assert not InsuranceCheckFailure.objects.exists()


def test_duplicated_answers_are_never_taken_for_the_vehicle(insurer_service):
    check(VIN)  # the exchange's last answer now says VIN is insured
    insurer_service.configure(duplicate_rate=1.0)
    with pytest.raises(Unavailable):
        check(VIN_UNINSURED)  # every answer repeats the one before: never "insured" for this VIN
    assert not InsuranceCheckFailure.objects.exists()


def test_a_wrongly_signed_answer_is_unavailable(insurer_service):
    insurer_service.configure(bad_signature_rate=1.0)
    with pytest.raises(Unavailable):
        check(VIN_UNINSURED)
    assert not InsuranceCheckFailure.objects.exists()


def test_bad_input_is_refused_before_asking(insurer_service):
    with pytest.raises(ValidationFailed) as caught:
        check(purpose="scrapping")
    assert caught.value.code == "insurance.bad_purpose"
    with pytest.raises(ValidationFailed) as caught:
        check("LSVAB4BR0M00000")
    assert caught.value.code == "insurance.bad_vin"
    assert insurer_service.requests() == []


def test_a_lower_case_vin_is_checked_as_written_in_capitals(insurer_service):
    assert check(VIN_UNINSURED.lower()).missing == ("compulsory_insurance",)
    assert InsuranceCheckFailure.objects.get().vin == VIN_UNINSURED


@pytest.mark.django_db(transaction=True)
def test_the_failure_stays_when_the_caller_then_rolls_back(insurer_service):
    """Callers check before their own transaction (O7 feedback): a refused business keeps the row."""
    from jiaoguan.registry.models import Person

    answer = check(VIN_UNINSURED)
    with pytest.raises(RuntimeError), transaction.atomic():
        Person.objects.create(
            id_number="411702198506150013", name="张伟", sex="M", birth_date="1985-06-15",
            residence_division="411702", mobile="13800138000",
        )  # fmt: skip
        if not answer.ok:
            raise RuntimeError(answer.message_en)
    assert not Person.objects.exists()
    assert InsuranceCheckFailure.objects.count() == 1
