"""The first-issue date and the recording path of a military licence exchange (O3, seed 004 §七),
with vectors from the seed's wording: the military month and day before, on and after the
exchange's; a military licence obtained below the civilian minimum age; exchanges before and
after 2021-05-31."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.registry import military_licence_rules as m

BORN = date(1990, 4, 12)


@pytest.mark.parametrize(
    ("military", "exchanged", "expected"),
    [
        # month and day before the exchange's: the military year, the exchange's month and day
        (date(2015, 3, 10), date(2021, 7, 10), date(2015, 7, 10)),
        # the same month and day
        (date(2015, 7, 10), date(2021, 7, 10), date(2015, 7, 10)),
        # a day after the exchange's: the next year (seed §七 四.2)
        (date(2015, 7, 11), date(2021, 7, 10), date(2016, 7, 10)),
        (date(2015, 12, 31), date(2022, 1, 1), date(2016, 1, 1)),
        # an exchange on 29 February: 28 February in a common year
        (date(2019, 1, 1), date(2024, 2, 29), date(2019, 2, 28)),
        (date(2019, 3, 1), date(2024, 2, 29), date(2020, 2, 29)),
    ],
)
def test_year_from_the_military_licence_month_and_day_from_the_exchange(military, exchanged, expected):
    got = m.first_issue_date(
        military_first_issued_on=military, birth_date=BORN, classes="C1", exchanged_on=exchanged
    )
    assert got == expected


def test_a_military_licence_below_the_civilian_minimum_age_counts_from_that_age():
    # Born 1997-08-20, military C1 at 16: the civilian minimum (18) is reached on 2015-08-20,
    # after the exchange's 10 July, so the year rolls on (seed §七 四.1 then 四.2).
    born = date(1997, 8, 20)
    got = m.first_issue_date(
        military_first_issued_on=date(2014, 5, 1),
        birth_date=born,
        classes="C1",
        exchanged_on=date(2021, 7, 10),
    )
    assert got == date(2016, 7, 10)
    # A2 needs 22: reached 2017-01-15, before the exchange's 1 March.
    got = m.first_issue_date(
        military_first_issued_on=date(2014, 6, 1), birth_date=date(1995, 1, 15), classes="A2",
        exchanged_on=date(2022, 3, 1),
    )  # fmt: skip
    assert got == date(2017, 3, 1)
    # Old enough at the military first issue: the age floor changes nothing.
    got = m.first_issue_date(
        military_first_issued_on=date(2016, 1, 5),
        birth_date=born,
        classes="C1",
        exchanged_on=date(2021, 7, 10),
    )
    assert got == date(2016, 7, 10)


def test_minimum_age_of_several_classes_is_the_highest():
    assert m.minimum_age("C1") == 18
    assert m.minimum_age("B2") == 20
    assert m.minimum_age("A2D") == 22
    assert m.minimum_age(["C6", "C1"]) == 20
    with pytest.raises(ValueError):
        m.minimum_age("Z9")


def test_the_first_term_after_the_exchange_is_six_years():
    assert m.first_valid_until(date(2021, 7, 10)) == date(2027, 7, 10)
    assert m.first_valid_until(date(2024, 2, 29)) == date(2030, 2, 28)


@pytest.mark.parametrize(
    ("exchanged_on", "number", "today", "expected"),
    [
        (None, "JW1234567", date(2021, 6, 1), m.Path.REISSUE),  # a new application from 2021-06-01
        (date(2021, 6, 1), "XX1234567", date(2021, 6, 2), m.Path.REISSUE),  # finished after the day
        (date(2021, 5, 31), "JW1234567", date(2021, 6, 2), m.Path.RECORD_ONLY),  # exchanged by 05-31
        (date(2019, 3, 4), "wz7654321", date(2023, 1, 1), m.Path.RECORD_ONLY),  # prefixes in any case
        (date(2021, 5, 31), "XX1234567", date(2021, 6, 2), "licence.military.old_licence"),
        (None, "JW1234567", date(2021, 5, 31), "licence.military.not_yet"),
    ],
)
def test_recording_path_before_and_after_2021_05_31(exchanged_on, number, today, expected):
    got = m.recording_path(exchanged_on=exchanged_on, military_number=number, today=today)
    if isinstance(expected, m.Path):
        assert got is expected
    else:
        assert isinstance(got, m.Refusal) and got.code == expected


def test_the_seed_lists_twenty_eight_new_military_prefixes():
    assert len(m.NEW_MILITARY_PREFIXES) == 28
    assert {"JW", "LA", "WZ", "QD"} <= m.NEW_MILITARY_PREFIXES
