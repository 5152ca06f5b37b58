"""Pure rules of the insurance check (O7)."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.insurance import rules
from jiaoguan.registry.rules import VehicleKind


@pytest.mark.parametrize("kind", list(VehicleKind))
def test_only_motorcycles_low_speed_trucks_and_tricycles_are_not_asked(kind):
    # O7: "not for motorcycles, low-speed trucks, tricycles"
    exempt = {"motorcycle", "moped", "three_wheeled_motorcycle", "three_wheeled", "low_speed_truck"}
    assert rules.insurance_required(kind.value) is (kind.value not in exempt)
    assert rules.insurance_required(kind) is (kind.value not in exempt)


def test_missing_items_in_a_fixed_order():
    assert rules.missing_items(insured=True, tax_paid=True) == ()
    assert rules.missing_items(insured=False, tax_paid=True) == ("compulsory_insurance",)
    assert rules.missing_items(insured=True, tax_paid=False) == ("vehicle_tax",)
    assert rules.missing_items(insured=False, tax_paid=False) == ("compulsory_insurance", "vehicle_tax")


def test_messages_say_what_is_missing_and_what_to_do():
    assert rules.missing_message((), tax_year=2026) == ("", "")
    zh, en = rules.missing_message(("compulsory_insurance", "vehicle_tax"), tax_year=2026)
    assert "交强险" in zh and "2026年度车船税" in zh and zh.endswith("。")
    assert "compulsory traffic insurance" in en and "2026" in en
    zh, en = rules.missing_message(("vehicle_tax",), tax_year=2027)
    assert "未查询到有效" not in zh and "2027" in zh and "insurance in force" not in en


def test_iso_weeks():
    assert rules.week_parse("2026-W49") == (date(2026, 11, 30), date(2026, 12, 7))
    assert rules.week_of(date(2026, 12, 5)) == "2026-W49"
    assert rules.week_of(date(2026, 12, 7)) == "2026-W50"
    # ISO years: 1 January 2027 is a Friday of 2026's week 53.
    assert rules.week_of(date(2027, 1, 1)) == "2026-W53"
    for bad in ("2026-49", "2026-W54", "2026-W00", "W49", ""):
        with pytest.raises(ValueError):
            rules.week_parse(bad)
