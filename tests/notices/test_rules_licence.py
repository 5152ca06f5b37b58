"""The 22 licence notices (驾驶证业务告知信息, seed 002 附件2, REQ N1) and the probation safety
warning (N4): each with a registry state that triggers it and one that must not, at the edges.

The scan day is pinned (TODAY); cycles, probation, expiry, review and certificate deadlines come
from registry.rules (S1, S2). Cancellations are facts the registry records with a reason
(registry 0013); they are told within the lookback of 30 days.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jiaoguan.registry.models import PointsEntry

DAY = timedelta(days=1)
TODAY = date(2026, 6, 15)


def points(licence, value, on, *, unpaid=False):
    PointsEntry.objects.create(
        licence=licence, points=value, occurred_on=on, source="test", fine_unpaid=unpaid
    )


@pytest.fixture
def licence(make_person, make_licence):
    """Make a licence of a new holder; keyword arguments go to the licence (birth_date to the person)."""

    def make(*, birth_date=date(1985, 6, 15), **kw):
        return make_licence(holder=make_person(birth_date=birth_date), **kw)

    return make


# ---------------------------------------------------------------- probation (L01, L02, L03, L08, S02)


def test_l01_ab_probation_nine_points(licence, scan_messages):
    added = licence(classes="A2", first_issued_on=date(2010, 1, 1), probation_started_on=date(2026, 3, 1))
    points(added, 6, date(2026, 4, 1))
    points(added, 2, date(2026, 5, 1))
    assert scan_messages("L01", added, TODAY) == []  # 8 points
    points(added, 1, date(2026, 6, 1))
    [message] = scan_messages("L01", added, TODAY)
    assert "9分" in message.body_zh


def test_l01_not_for_small_classes(licence, scan_messages):
    car = licence(classes="C1", first_issued_on=date(2026, 3, 1), probation_started_on=date(2026, 3, 1))
    points(car, 9, date(2026, 4, 1))
    assert scan_messages("L01", car, TODAY) == []


def test_l02_probation_extended_at_six_points(licence, scan_messages):
    new = licence(classes="C1", first_issued_on=date(2026, 1, 10), probation_started_on=date(2026, 1, 10))
    points(new, 3, date(2026, 2, 1))
    points(new, 2, date(2026, 3, 1))
    assert scan_messages("L02", new, TODAY) == []  # 5 points
    points(new, 1, date(2026, 6, 1))
    [message] = scan_messages("L02", new, TODAY)
    assert "2028年01月09日" in message.body_zh  # probation to 2027-01-09, extended a year


def test_l03_ab_extended_probation_three_points(licence, scan_messages):
    added = licence(classes="A2", first_issued_on=date(2010, 1, 1), probation_started_on=date(2025, 3, 1))
    points(added, 6, date(2025, 6, 1))  # probation to 2026-02-28, extended to 2027-02-28
    points(added, 2, date(2026, 4, 1))
    assert scan_messages("L03", added, TODAY) == []
    points(added, 1, date(2026, 5, 1))
    assert len(scan_messages("L03", added, TODAY)) == 1


def test_l08_ab_test_after_probation_ends(licence, scan_messages):
    added = licence(classes="B2", first_issued_on=date(2010, 1, 1), probation_started_on=date(2025, 6, 15))
    # Probation to 2026-06-14; the test within 30 days after.
    assert scan_messages("L08", added, date(2026, 6, 14)) == []
    [message] = scan_messages("L08", added, date(2026, 6, 15))
    assert "2026年07月14日" in message.body_zh
    assert scan_messages("L08", added, date(2026, 7, 15)) == []  # told once


def test_s02_probation_start_safety_warning(licence, scan_messages):
    new = licence(classes="C1", first_issued_on=TODAY - 30 * DAY, probation_started_on=TODAY - 30 * DAY)
    [message] = scan_messages("S02", new, TODAY)
    assert message.category == "safety" and not message.required
    assert scan_messages("S02", new, TODAY + DAY) == []


# ---------------------------------------------------------------- renewal, review, certificate (L09, L13, L14, L16)


def test_l09_renewal_overdue_the_day_after_expiry(licence, scan_messages):
    old = licence(classes="C1", first_issued_on=date(2020, 6, 14), term="6y")  # valid to 2026-06-14
    assert scan_messages("L09", old, date(2026, 6, 14)) == []
    [message] = scan_messages("L09", old, date(2026, 6, 15))
    assert "2026年06月14日" in message.body_zh
    assert scan_messages("L09", old, date(2027, 6, 15)) == []  # over a year: cancellable, no longer L09


def test_l09_not_while_renewal_is_deferred(licence, scan_messages):
    old = licence(
        classes="C1", first_issued_on=date(2020, 6, 14), term="6y", renewal_deferred_until=date(2026, 12, 31)
    )
    assert scan_messages("L09", old, TODAY) == []


@pytest.fixture
def ab_driver(licence):
    """A2 since 2010-05-01: the previous cycle is 2025-05-01..2026-04-30, review due 2026-05-30."""
    return licence(classes="A2", first_issued_on=date(2010, 5, 1), valid_from=date(2022, 5, 1))


def test_l13_review_overdue(ab_driver, scan_messages):
    points(ab_driver, 3, date(2025, 8, 1))
    assert scan_messages("L13", ab_driver, date(2026, 5, 30)) == []
    [message] = scan_messages("L13", ab_driver, date(2026, 5, 31))
    assert "2026年05月30日" in message.body_zh


def test_l13_not_after_the_review_nor_without_points(ab_driver, scan_messages):
    assert scan_messages("L13", ab_driver, TODAY) == []  # no points: no review due
    points(ab_driver, 3, date(2025, 8, 1))
    ab_driver.last_reviewed_on = date(2026, 5, 10)
    ab_driver.save()
    assert scan_messages("L13", ab_driver, TODAY) == []


def test_l14_two_cycles_without_review(ab_driver, scan_messages):
    points(ab_driver, 3, date(2025, 8, 1))
    assert scan_messages("L14", ab_driver, TODAY) == []  # only the last cycle
    points(ab_driver, 1, date(2024, 8, 1))
    [message] = scan_messages("L14", ab_driver, TODAY)
    assert "2026年05月30日" in message.body_zh


def test_l16_medical_certificate_overdue_under_a_year(licence, scan_messages):
    elderly = licence(
        birth_date=date(1950, 1, 1),
        classes="C1",
        first_issued_on=date(2000, 3, 1),
        last_medical_on=date(2025, 3, 1),
    )
    # Aged 70+: every year within 30 days after the cycle; the 2025 deadline was met, the one
    # after the cycle ending 2026-02-28 is 2026-03-30.
    assert scan_messages("L16", elderly, date(2026, 3, 30)) == []
    [message] = scan_messages("L16", elderly, date(2026, 3, 31))
    assert "2026年03月30日" in message.body_zh


def test_l16_not_with_a_recent_certificate_nor_under_70(licence, scan_messages):
    met = licence(
        birth_date=date(1950, 1, 1),
        classes="C1",
        first_issued_on=date(2000, 3, 1),
        last_medical_on=date(2026, 1, 15),
    )
    assert scan_messages("L16", met, TODAY) == []
    young = licence(birth_date=date(1980, 1, 1), classes="C1", first_issued_on=date(2000, 3, 1))
    assert scan_messages("L16", young, TODAY) == []


# ---------------------------------------------------------------- cancellations (recorded facts)

CANCELLATIONS = [
    # code, reason, licence fields, holder birth date, a state of the same reason that must not fire
    ("L04", "probation_full_score", {"classes": "C1", "first_issued_on": date(2026, 1, 1), "probation_started_on": date(2026, 1, 1)}, None,
     {"probation_started_on": date(2026, 2, 1)}),
    ("L05", "probation_full_score", {"classes": "C1B2", "first_issued_on": date(2015, 1, 1), "probation_started_on": date(2026, 1, 1)}, None,
     {"probation_started_on": date(2015, 1, 1)}),
    ("L06", "extended_probation", {"classes": "B2", "first_issued_on": date(2024, 1, 1), "probation_started_on": date(2024, 1, 1)}, None,
     {"classes": "C1"}),
    ("L07", "extended_probation", {"classes": "C1A2", "first_issued_on": date(2015, 1, 1), "probation_started_on": date(2024, 1, 1)}, None,
     {"probation_started_on": date(2015, 1, 1)}),
    ("L10", "renewal_overdue", {"classes": "C1"}, None, {"cancellation_reason": "own_request"}),
    ("L11", "fatal_accident", {"classes": "C1", "downgraded_from": "A2"}, None, {"downgraded_from": ""}),
    ("L12", "full_score", {"classes": "B2"}, None, {"classes": "C1"}),
    ("L15", "review_overdue", {"classes": "A2"}, None, {"cancellation_reason": "full_score"}),
    ("L17", "medical_overdue", {"classes": "C1"}, date(1960, 1, 1), {"classes": "C5"}),
    ("L18", "medical_overdue", {"classes": "C5"}, None, {"classes": "C1"}),
    ("L19", "age_limit", {"classes": "N"}, date(1960, 1, 1), {"classes": "C3"}),
    ("L20", "age_limit", {"classes": "C3"}, date(1950, 1, 1), {"classes": "C3N"}),
    ("L21", "drug_addiction", {"classes": "C1"}, None, {"cancellation_reason": "death"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "reason", "fields", "born", "other"), CANCELLATIONS, ids=[c[0] for c in CANCELLATIONS]
)
def test_cancellation_notices(code, reason, fields, born, other, licence, scan_messages):
    def make(**changes):
        kw = {
            "status": "G",
            "cancellation_reason": reason,
            "cancelled_on": TODAY - 30 * DAY,
            **fields,
            **changes,
        }
        kw.setdefault("first_issued_on", date(2012, 1, 1))
        return licence(birth_date=born or date(1985, 6, 15), **kw)

    fired = make()
    [message] = scan_messages(code, fired, TODAY)
    assert message.required and message.category == "licences"
    assert scan_messages(code, make(cancelled_on=TODAY - 31 * DAY), TODAY) == []  # outside the lookback
    assert scan_messages(code, make(**other), TODAY) == []


def test_l17_only_from_60(licence, scan_messages):
    young = licence(
        birth_date=date(1970, 1, 1),
        classes="C1",
        first_issued_on=date(2000, 1, 1),
        status="G",
        cancellation_reason="medical_overdue",
        cancelled_on=TODAY,
    )
    assert scan_messages("L17", young, TODAY) == []


def test_l22_school_bus_qualification_cancelled_goes_to_the_employer(licence, make_company, scan_messages):
    school = make_company(name="驻马店市实验小学")
    driver = licence(classes="A1", first_issued_on=date(2005, 1, 1), employer=school,
                     school_bus_qualification_cancelled_on=TODAY - 30 * DAY)  # fmt: skip
    messages = scan_messages("L22", driver, TODAY)
    assert {(m.person_id, m.organisation_id) for m in messages} == {
        (driver.holder_id, None),
        (None, school.pk),
    }
    driver.school_bus_qualification_cancelled_on = TODAY - 31 * DAY
    driver.save()
    assert scan_messages("L22", driver, TODAY + DAY) == []
