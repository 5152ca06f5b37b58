"""Pure rules of the study to reduce points (V7, RULES.md "Points (S2)", "Study to reduce points"):
every exclusion, the windows counted by cycle boundaries, the 6-point cap, and the full-score
education's completion and 30-day deadline."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from jiaoguan.points_study import questions, rules

FIRST = date(2015, 3, 5)  # cycles run 03-05 .. 03-04
AS_OF = date(2026, 12, 6)  # current cycle 2026-03-05 .. 2027-03-04


def facts(**kw):
    base = rules.StudyFacts(
        first_issued_on=FIRST, points_in_cycle=10, status="A", on_probation=False, review_overdue=False,
        offences=(), full_scores=(), vehicles_overdue=(),
    )  # fmt: skip
    return replace(base, **kw)


def codes(f, as_of=AS_OF):
    return [r.code for r in rules.eligibility(f, as_of)]


def test_a_driver_with_points_and_nothing_against_may_study():
    assert codes(facts()) == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"points_in_cycle": 12}, "study.full_score"),  # only below 12 points
        ({"points_in_cycle": 0}, "study.no_points"),
        ({"on_probation": True}, "study.probation"),
        ({"review_overdue": True}, "study.review_overdue"),
        ({"status": "D"}, "study.held"),  # 暂扣
        ({"status": "AU"}, "study.held"),  # 扣留
        ({"status": "G"}, "study.not_in_force"),
        ({"vehicles_overdue": ("豫Q12345",)}, "study.vehicle_overdue"),
    ],
)
def test_each_exclusion_gives_its_reason(change, code):
    reasons = rules.eligibility(facts(**change), AS_OF)
    assert [r.code for r in reasons] == [code]
    assert reasons[0].zh and reasons[0].en  # bilingual


def test_serious_offences_count_from_the_start_of_the_cycle_two_before_the_current_one():
    # Current cycle 2026-03-05..; the three cycles start on 2024-03-05.
    assert rules.cycles_back_start(FIRST, AS_OF, 3) == date(2024, 3, 5)
    assert codes(facts(offences=((date(2024, 3, 5), 12),))) == ["study.serious_offence"]
    assert codes(facts(offences=((date(2024, 3, 4), 12),))) == []
    # A 9-point offence is not a serious one.
    assert codes(facts(offences=((date(2026, 5, 1), 9),))) == []


def test_the_serious_offence_window_moves_on_the_first_day_of_a_cycle():
    offence = ((date(2024, 3, 4), 12),)
    # On the last day of the 2025 cycle the window still starts on 2023-03-05 ...
    assert codes(facts(offences=offence), as_of=date(2026, 3, 4)) == ["study.serious_offence"]
    # ... and on the first day of the next cycle it starts on 2024-03-05.
    assert codes(facts(offences=offence), as_of=date(2026, 3, 5)) == []


def test_two_full_scores_in_this_or_the_previous_cycle_exclude():
    assert codes(facts(full_scores=(date(2025, 3, 5), date(2026, 4, 1)))) == ["study.full_scores"]
    assert codes(facts(full_scores=(date(2025, 3, 4), date(2026, 4, 1)))) == []  # one is older
    assert codes(facts(full_scores=(date(2026, 4, 1),))) == []


def test_a_licence_first_issued_this_cycle_has_no_earlier_cycles():
    first = date(2026, 6, 1)
    assert rules.cycles_back_start(first, date(2026, 12, 6), 3) == first


def test_cycles_of_a_29_february_first_issue_come_from_the_registry():
    assert rules.cycles_back_start(date(2016, 2, 29), date(2020, 3, 1), 2) == date(2019, 2, 28)


@pytest.mark.parametrize(
    ("course", "reduced", "points", "expected"),
    [
        (1, 0, 10, 1),
        (2, 0, 10, 2),
        (2, 5, 10, 1),  # only 1 left of the 6
        (1, 6, 10, 0),
        (2, 0, 1, 1),  # never below 0 points
        (2, 0, 0, 0),
        (2, 7, 10, 0),  # never negative
    ],
)
def test_the_reduction_is_capped(course, reduced, points, expected):
    assert rules.reduction(course_points=course, reduced_in_cycle=reduced, points_in_cycle=points) == expected


def test_scoring_passes_at_nine_of_ten():
    codes_ = questions.draw(7)
    key = questions.answer_key(codes_)
    assert len(codes_) == 10 and rules.score(key, key) == 100
    one_wrong = dict(key, **{codes_[0]: "x"})
    two_wrong = dict(one_wrong, **{codes_[1]: "x"})
    assert rules.score(one_wrong, key) == 90 >= rules.PASS_MARK
    assert rules.score(two_wrong, key) == 80 < rules.PASS_MARK


def test_full_score_requirements_follow_the_classes():
    assert rules.full_score_requirements(["C1"]) == (7, 5, 2)
    assert rules.full_score_requirements(["A2", "D"]) == (30, 10, 5)


def test_full_score_education_completes_on_the_last_day_of_the_period_with_the_days_done():
    days = [(date(2026, 1, d), "online") for d in (1, 2, 3)] + [(date(2026, 1, d), "on_site") for d in (4, 5)]
    args = {"days": 7, "study_days": 5, "on_site": 2, "recorded": days}
    assert not rules.full_score_progress(**args, as_of=date(2026, 1, 6)).complete
    done = rules.full_score_progress(**args, as_of=date(2026, 1, 7))
    assert done.complete and done.period_ends == date(2026, 1, 7) and done.on_site_days == 2
    one_site = days[:4]
    assert not rules.full_score_progress(
        days=7, study_days=5, on_site=2, recorded=one_site, as_of=date(2026, 2, 1)
    ).complete


def test_full_score_missed_is_no_study_by_the_30th_day():
    reached = date(2026, 1, 1)
    assert not rules.full_score_missed(reached_on=reached, first_study_day=None, as_of=date(2026, 1, 31))
    assert rules.full_score_missed(reached_on=reached, first_study_day=None, as_of=date(2026, 2, 1))
    assert not rules.full_score_missed(
        reached_on=reached, first_study_day=date(2026, 1, 31), as_of=date(2026, 3, 1)
    )
    assert rules.full_score_missed(
        reached_on=reached, first_study_day=date(2026, 2, 1), as_of=date(2026, 3, 1)
    )


def test_the_day_a_cycle_reached_12():
    cycle = (date(2026, 3, 5), date(2027, 3, 4))
    entries = [(date(2026, 4, 1), 6), (date(2026, 5, 1), 3), (date(2026, 6, 1), 3), (date(2026, 7, 1), 1)]
    assert rules.full_score_reached_on(entries, cycle) == date(2026, 6, 1)
    assert rules.full_score_reached_on(entries[:2], cycle) is None
