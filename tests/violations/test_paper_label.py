"""No fine for not displaying the paper inspection label when the electronic mark was valid (E3, seed
003, issue 14 point 6): the import refuses the record with the reason in the batch report, and
neither the counter nor an officer on site can decide one."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.credentials import services as credential_services
from jiaoguan.credentials.selectors import inspection_mark_valid_on
from jiaoguan.violations import rules
from jiaoguan.violations.importing import import_records
from jiaoguan.violations.models import Fine, Violation
from jiaoguan.violations.services import violation_handle_at_counter, violation_record_on_site

pytestmark = pytest.mark.django_db

LABEL = "1010"  # 上道路行驶的机动车未按规定放置检验合格标志


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    from jiaoguan.credentials.keys import trust_cache_clear

    trust_cache_clear()
    yield
    trust_cache_clear()


def occurred(days_ago: int) -> datetime:
    return (timezone.localtime() - timedelta(days=days_ago)).replace(microsecond=0)


def line(serial: int, plate: str, *, code: str = LABEL, days_ago: int = 3) -> dict:
    when = occurred(days_ago)
    return {
        "record_number": rules.record_number_make(
            division="411702", source="monitoring", occurred_on=when.date(), serial=serial
        ),
        "plate_number": plate,
        "plate_type": "02",
        "occurred_at": when.isoformat(),
        "place": "驿城区解放大道与交通路交叉口",
        "code": code,
        "recording_division": "411702",
        "device_id": "CAM-411702-0001",
    }


def run_import(*rows: dict):
    data = ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n").encode()
    return import_records(io.BytesIO(data), fmt="jsonl", submitted_by="test")


@pytest.fixture
def in_date(make_person, make_vehicle):
    """A car within its inspection validity, with its electronic mark issued (E1)."""
    today = timezone.localdate()
    vehicle = make_vehicle(owner=make_person(), registered_on=today - timedelta(days=300), plate="豫QE7101")
    assert credential_services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test") is not None
    return vehicle


@pytest.fixture
def overdue(make_person, make_vehicle):
    """A car long past its inspection (registered 2010, never inspected since): no valid mark."""
    return make_vehicle(owner=make_person(name="刘洋"), registered_on=date(2010, 3, 1), plate="豫QE7102")


def test_the_code_is_in_the_table_without_points_under_s2():
    version = rules.code_version(LABEL, on=timezone.localdate())
    assert version.points == 0 and version.fine_min_fen == 2000 and version.fine_max_fen == 20000
    assert rules.paper_label_refusal(code=LABEL, mark_valid=True).code == "violations.electronic_mark_valid"
    assert rules.paper_label_refusal(code=LABEL, mark_valid=False) is None
    assert rules.paper_label_refusal(code="1625", mark_valid=True) is None


def test_one_question_answers_from_the_mark_or_the_inspection_validity(in_date, overdue):
    today = timezone.localdate()
    assert inspection_mark_valid_on(plate_number=in_date.plate_number, on=today - timedelta(days=3))
    assert not inspection_mark_valid_on(plate_number=overdue.plate_number, on=today - timedelta(days=3))
    assert not inspection_mark_valid_on(plate_number="豫QZ9999", on=today)


def test_import_refuses_a_paper_label_record_with_the_reason_in_the_batch_report(in_date, overdue):
    batch = run_import(
        line(1, in_date.plate_number),  # mark valid: refused
        line(2, overdue.plate_number),  # no valid mark: kept
        line(3, in_date.plate_number, code="1625"),  # another offence: kept
    )
    assert (batch.total_rows, batch.accepted_rows, batch.invalid_rows) == (3, 2, 1)
    [error] = batch.errors
    assert error["line"] == 1 and error["code"] == "violations.electronic_mark_valid"
    assert error["field"] == "code"
    assert "电子凭证" in error["message_zh"] and "electronic inspection mark" in error["message_en"]
    assert set(Violation.objects.values_list("plate_number", "code")) == {
        (overdue.plate_number, LABEL),
        (in_date.plate_number, "1625"),
    }


def test_the_counter_cannot_decide_a_paper_label_record(in_date, record, make_licence, make_staff):
    # A record already kept (say, imported before its mark was issued) is still never decided.
    violation = record(in_date, code=LABEL)
    licence = make_licence(holder=in_date.owner_person)
    officer = make_staff(role="violation_officer", jurisdiction="411700")
    with pytest.raises(Conflict) as refused:
        violation_handle_at_counter(
            actor=officer, violation_id=violation.pk, licence_number=licence.holder.id_number
        )
    assert refused.value.code == "violations.electronic_mark_valid" and refused.value.status == 409
    violation.refresh_from_db()
    assert violation.status == Violation.Status.UNHANDLED
    assert not Fine.objects.filter(violation=violation).exists()


def test_an_officer_on_site_cannot_fine_it_and_nothing_is_kept(in_date, make_licence, make_staff):
    licence = make_licence(holder=in_date.owner_person)
    officer = make_staff(role="violation_officer", jurisdiction="411700")
    before = Violation.objects.count()
    with pytest.raises(Conflict) as refused:
        violation_record_on_site(
            actor=officer, plate_number=in_date.plate_number, plate_type="02",
            licence_number=licence.holder.id_number, code=LABEL, occurred_at=occurred(0), place="驿城区文明路",
            fine_fen=5000,
        )  # fmt: skip
    assert refused.value.code == "violations.electronic_mark_valid"
    assert Violation.objects.count() == before


def test_an_overdue_vehicle_is_fined_for_the_label(overdue, record, make_licence, make_staff):
    violation = record(overdue, code=LABEL)
    licence = make_licence(holder=overdue.owner_person)
    officer = make_staff(role="violation_officer", jurisdiction="411700")
    fine = violation_handle_at_counter(
        actor=officer, violation_id=violation.pk, licence_number=licence.holder.id_number
    )
    assert fine.amount_fen == 5000


def test_a_mark_that_covered_the_day_counts_and_one_revoked_before_it_does_not(overdue):
    """The registry says the car is overdue today; its mark record still answers for a past day."""
    from jiaoguan.credentials.models import Credential

    day = timezone.localdate() - timedelta(days=30)
    mark = Credential.objects.create(
        kind="VI1", vehicle=overdue, data={}, valid_until=day + timedelta(days=10), event="test",
        status="suspended", status_changed_at=timezone.now() - timedelta(days=15),
    )  # fmt: skip
    Credential.objects.filter(pk=mark.pk).update(issued_at=timezone.now() - timedelta(days=200))
    assert inspection_mark_valid_on(plate_number=overdue.plate_number, on=day)
    # Suspended before the day: no valid mark that day.
    Credential.objects.filter(pk=mark.pk).update(status_changed_at=timezone.now() - timedelta(days=40))
    assert not inspection_mark_valid_on(plate_number=overdue.plate_number, on=day)
    # Issued after the day: not a mark of that day either.
    Credential.objects.filter(pk=mark.pk).update(
        status="valid", status_changed_at=None, issued_at=timezone.now() - timedelta(days=5)
    )
    assert not inspection_mark_valid_on(plate_number=overdue.plate_number, on=day)
