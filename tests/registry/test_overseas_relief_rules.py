"""Relief for licences cancelled while the holder was abroad (O4, seed 004 §八 二): the 6 months
after the first return, counted from 2021-06-01 for returns before it, the last day and the day
after, the two statuses and every refusal."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.registry import overseas_relief_rules as o


@pytest.mark.parametrize(
    ("returned", "last_day"),
    [
        (date(2020, 9, 3), date(2021, 12, 1)),  # before 2021-06-01: counted from 2021-06-01
        (date(2021, 5, 31), date(2021, 12, 1)),
        (date(2021, 6, 1), date(2021, 12, 1)),
        (date(2021, 6, 2), date(2021, 12, 2)),  # after: from the return itself
        (date(2021, 7, 10), date(2022, 1, 10)),
        (date(2021, 8, 31), date(2022, 2, 28)),  # a shorter month ends on its last day
    ],
)
def test_six_months_from_the_first_return_or_from_2021_06_01(returned, last_day):
    assert o.apply_by(returned) == last_day


def _decide(
    *, today, status="R", returned=date(2021, 7, 10), cancelled=date(2021, 3, 1), cause="renewal", abroad=True
):
    return o.restoration(
        status=status, cause=cause, cancelled_on=cancelled, abroad_when_cancelled=abroad,
        first_return_on=returned, today=today,
    )  # fmt: skip


def test_the_last_day_is_in_and_the_day_after_is_out():
    assert _decide(today=date(2022, 1, 10)) == o.Restoration(o.Path.DIRECT, date(2022, 1, 10))
    late = _decide(today=date(2022, 1, 11))
    assert isinstance(late, o.Refusal) and late.code == "licence.relief.too_late"
    assert "2022年01月10日" in late.zh and "2022-01-10" in late.en


def test_a_return_before_2021_06_01_counts_from_that_day():
    assert _decide(today=date(2021, 12, 1), returned=date(2021, 2, 1)).apply_by == date(2021, 12, 1)
    assert _decide(today=date(2021, 12, 2), returned=date(2021, 2, 1)).code == "licence.relief.too_late"


def test_restorable_status_is_restored_directly_cancelled_after_subject_1():
    assert _decide(today=date(2021, 9, 1), status="R").path is o.Path.DIRECT
    assert _decide(today=date(2021, 9, 1), status="G", cause="review").path is o.Path.AFTER_SUBJECT_1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"status": "A"}, "licence.relief.status"),
        ({"cause": "points"}, "licence.relief.cause"),
        ({"cause": None}, "licence.relief.cause"),
        ({"cancelled": date(2022, 1, 1)}, "licence.relief.period"),
        ({"cancelled": date(2019, 12, 31)}, "licence.relief.period"),
        ({"abroad": False}, "licence.relief.not_abroad"),
        ({"returned": None}, "licence.relief.not_abroad"),
    ],
)
def test_refusals(changes, code):
    got = _decide(today=date(2021, 9, 1), **changes)
    assert isinstance(got, o.Refusal) and got.code == code


def test_the_period_includes_its_last_day():
    assert isinstance(_decide(today=date(2022, 1, 5), cancelled=date(2021, 12, 31)), o.Restoration)
