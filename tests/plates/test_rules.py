"""Pure rules of plate pre-selection (号段规则, B19, P1-P5): pools, generated numbers, dates, cool-down.

Hypothesis builds random office rules (patterns of d/l/x/e and fixed characters, excluded letters
and sequences, a letter cap, reserved numbers): every number ``generate`` gives is a GA 36 plate of
the pool's kind with the office's prefix and obeys every rule (P4, P5), and every serial of the
patterns that breaks a rule is refused by ``check_number`` with the code of the rule it breaks,
decided here independently of ``rules.serial_refusal``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.identifiers import PlateKind, parse_plate
from jiaoguan.plates import rules

PREFIX = "豫Q"
KINDS = {"02": PlateKind.ORDINARY, "52": PlateKind.NEW_ENERGY_SMALL}
CLASSES = {
    "d": rules.DIGITS,
    "l": rules.PLATE_LETTERS,
    "x": rules.PLATE_LETTERS + rules.DIGITS,
    "e": rules.ENERGY_LETTERS,
}
PLATE_CHARS = rules.PLATE_LETTERS + rules.DIGITS
MAX_EXAMPLE_SIZE = 4000  # numbers one example may generate: keeps a run in seconds


def _size(pattern: str) -> int:
    size = 1
    for p in pattern:
        size *= len(CLASSES.get(p, "x"))
    return size


# ---------------------------------------------------------------- strategies


@st.composite
def _pattern(draw: st.DrawFn, plate_type: str) -> str:
    """A pattern pool_rules_parse accepts, small enough to expand in a test."""
    fixed = st.sampled_from(PLATE_CHARS)
    if plate_type == "02":
        spots = [draw(st.one_of(st.sampled_from("dlxe"), fixed)) for _ in range(5)]
    else:
        # GA 36 small new energy: energy letter, a letter or digit, then four digits.
        spots = [
            draw(st.one_of(st.just("e"), st.sampled_from(rules.ENERGY_LETTERS))),
            draw(st.one_of(st.sampled_from("dlx"), fixed)),
            *[draw(st.one_of(st.just("d"), st.sampled_from(rules.DIGITS))) for _ in range(4)],
        ]
    # Narrow the widest positions until the pattern is small (an office fixes positions too).
    while _size("".join(spots)) > MAX_EXAMPLE_SIZE // 2:
        wide = max(range(len(spots)), key=lambda i: len(CLASSES.get(spots[i], "x")))
        spots[wide] = CLASSES[spots[wide]][draw(st.integers(0, len(CLASSES[spots[wide]]) - 1))]
    return "".join(spots)


@st.composite
def _rules_data(draw: st.DrawFn) -> dict:
    plate_type = draw(st.sampled_from(["02", "52"]))
    patterns = draw(st.lists(_pattern(plate_type), min_size=1, max_size=3, unique=True))
    while sum(_size(p) for p in patterns) > MAX_EXAMPLE_SIZE and len(patterns) > 1:
        patterns.pop()
    length = 5 if plate_type == "02" else 6
    some_serials = [
        "".join(draw(st.sampled_from(CLASSES.get(p, p))) for p in draw(st.sampled_from(patterns)))
        for _ in range(draw(st.integers(0, 4)))
    ]
    return {
        "plate_type": plate_type,
        "patterns": patterns,
        "excluded_letters": "".join(draw(st.lists(st.sampled_from(rules.PLATE_LETTERS + "IO"), max_size=4))),
        "excluded_sequences": draw(
            st.lists(st.text(alphabet=PLATE_CHARS, min_size=1, max_size=3), max_size=3)
        ),
        "max_letters": draw(st.integers(0, length)),
        # Reserved numbers given either whole (豫Q·A8888) or as the serial alone.
        "reserved": [(PREFIX + "·" + s) if i % 2 else s.lower() for i, s in enumerate(some_serials)],
    }


def _broken_rule(serial: str, parsed: rules.PoolRules) -> str | None:
    """The first rule a serial breaks, in the order the office's rules are checked (oracle)."""
    matches = any(
        len(p) == len(serial)
        and all(c in CLASSES[q] if q in CLASSES else c == q for q, c in zip(p, serial, strict=True))
        for p in parsed.patterns
    )
    if not matches:
        return "plates.rules.pattern"
    if set(serial) & set(parsed.excluded_letters):
        return "plates.rules.letter"
    if any(s in serial for s in parsed.excluded_sequences):
        return "plates.rules.sequence"
    letters = sum(c in rules.PLATE_LETTERS for c in serial) - (1 if parsed.plate_type == "52" else 0)
    if letters > parsed.max_letters:
        return "plates.rules.letters"
    if serial in parsed.reserved:
        return "plates.rules.reserved"
    return None


# ---------------------------------------------------------------- properties (P4, P5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rules_data())
def test_every_generated_number_is_a_ga36_plate_obeying_the_office_rules(data):
    parsed = rules.pool_rules_parse(data)
    generated = rules.generate(PREFIX, parsed)
    assert len(generated) == len(set(generated))
    for number in generated:
        plate = parse_plate(number)
        assert plate.kind is KINDS[parsed.plate_type]
        assert number.startswith(PREFIX) and plate.province + plate.office == PREFIX
        serial = number[2:]
        assert rules.serial_refusal(serial, parsed) is None
        assert _broken_rule(serial, parsed) is None
        assert "I" not in serial and "O" not in serial
        assert not set(serial) & set(parsed.excluded_letters)
        assert not any(s in serial for s in parsed.excluded_sequences)
        letters = sum(c.isalpha() for c in serial) - (1 if parsed.plate_type == "52" else 0)
        assert letters <= parsed.max_letters
        assert serial not in parsed.reserved
        assert rules.check_number(PREFIX, parsed, number) == number
    # ... and nothing the rules allow is left out.
    allowed = {
        PREFIX + s
        for p in parsed.patterns
        for s in rules.pattern_serials(p)
        if _broken_rule(s, parsed) is None
    }
    assert set(generated) == allowed


@settings(max_examples=150, deadline=None)
@given(_rules_data(), st.data())
def test_check_number_refuses_each_broken_rule_with_its_code(data, draw):
    parsed = rules.pool_rules_parse(data)
    # A serial from the patterns' space (or any plate serial of the right length), rules unapplied.
    if draw.draw(st.booleans()):
        pattern = draw.draw(st.sampled_from(parsed.patterns))
        serial = "".join(draw.draw(st.sampled_from(CLASSES.get(p, p))) for p in pattern)
    else:
        serial = draw.draw(st.sampled_from(rules.ENERGY_LETTERS)) if parsed.plate_type == "52" else ""
        serial += draw.draw(st.text(alphabet=PLATE_CHARS, min_size=1, max_size=1))
        serial += draw.draw(
            st.text(
                alphabet=rules.DIGITS if parsed.plate_type == "52" else PLATE_CHARS,
                min_size=parsed.serial_length - len(serial),
                max_size=parsed.serial_length - len(serial),
            )
        )
    expected = _broken_rule(serial, parsed)
    typed = draw.draw(st.sampled_from([serial, PREFIX + serial, f"{PREFIX}·{serial}", serial.lower()]))
    if expected is None:
        assert rules.check_number(PREFIX, parsed, typed) == PREFIX + serial
    else:
        with pytest.raises(ValidationFailed) as refused:
            rules.check_number(PREFIX, parsed, typed)
        assert refused.value.code == expected
        assert refused.value.field == "number"


@given(
    st.lists(st.text(alphabet=PLATE_CHARS, min_size=5, max_size=5), unique=True, max_size=60),
    st.integers(0, 10**6),
)
def test_positions_are_a_permutation_on_consecutive_positions(numbers, start):
    placed = rules.positions(numbers, start=start, salt="salt")
    assert [p for p, _n in placed] == list(range(start, start + len(numbers)))
    assert sorted(n for _p, n in placed) == sorted(numbers)
    # The order depends on the salt and the numbers only, not on the order they were given in.
    assert rules.positions(list(reversed(numbers)), start=start, salt="salt") == placed


# ---------------------------------------------------------------- explicit vectors


def _rules(**data) -> rules.PoolRules:
    return rules.pool_rules_parse({"plate_type": "02", "patterns": "A8ddd"} | data)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "plates.number.required"),
        ("   ", "plates.number.required"),
        ("A8I23", "plate.format"),  # GA 36: no I or O
        ("A8O23", "plate.format"),
        ("A812", "plate.format"),
        ("豫PA8123", "plates.number.office"),
        ("京QA8123", "plates.number.office"),
        ("DA8123", "plates.number.kind"),  # a small new-energy shape in a 02 pool
        ("B8123", "plates.rules.pattern"),
        ("A8D23", "plates.rules.pattern"),  # letter where the office allows only digits
        ("A8444", "plates.rules.sequence"),
        ("A8114", "plates.rules.sequence"),
        ("A8888", "plates.rules.reserved"),
    ],
)
def test_check_number_vectors(typed, code):
    parsed = _rules(excluded_sequences="44, 14", reserved="豫Q·A8888")
    with pytest.raises(ValidationFailed) as refused:
        rules.check_number(PREFIX, parsed, typed)
    assert refused.value.code == code


def test_check_number_accepts_every_spelling():
    parsed = _rules()
    for typed in ["A8123", "a8123", "豫QA8123", "豫Q·A8123", " 豫Q A8123 "]:
        assert rules.check_number(PREFIX, parsed, typed) == "豫QA8123"


def test_letter_rules_vectors():
    parsed = rules.pool_rules_parse(
        {"plate_type": "02", "patterns": ["llddd", "xxddd"], "excluded_letters": "b,z",
         "max_letters": 1}
    )  # fmt: skip
    assert parsed.excluded_letters == "BZ"
    assert rules.serial_refusal("AB123", parsed).code == "plates.rules.letter"
    assert rules.serial_refusal("AC123", parsed).code == "plates.rules.letters"
    assert rules.serial_refusal("A1234", parsed) is None
    # I and O are never used, whatever the office lists: they are dropped from its list.
    assert (
        rules.pool_rules_parse(
            {"plate_type": "02", "patterns": "ddddd", "excluded_letters": "IO"}
        ).excluded_letters
        == ""
    )


def test_new_energy_letter_is_not_counted_and_reserved_are_serials():
    parsed = rules.pool_rules_parse(
        {
            "plate_type": "52",
            "patterns": ["Dxdddd", "edddd8"],
            "max_letters": 1,
            "reserved": "豫QD88888, F12348",
        }
    )
    assert parsed.reserved == frozenset({"D88888", "F12348"})
    assert rules.serial_refusal("DA1234", parsed) is None  # D is the plate's kind, A the one letter
    assert rules.serial_refusal("D88888", parsed).code == "plates.rules.reserved"
    assert rules.serial_refusal("F12348", parsed).code == "plates.rules.reserved"
    numbers = rules.generate(PREFIX, parsed, ["Dd0000"])
    assert numbers == [f"豫QD{n}0000" for n in range(10)]
    assert all(parse_plate(n).kind is PlateKind.NEW_ENERGY_SMALL for n in numbers)


# ---------------------------------------------------------------- pool_rules_parse refusals, field by field


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"plate_type": "01"}, "plates.rules.plate_type", "plate_type"),
        ({"plate_type": ""}, "plates.rules.plate_type", "plate_type"),
        ({"patterns": ""}, "plates.rules.patterns", "patterns"),
        ({"patterns": [f"A{n:04d}" for n in range(51)]}, "plates.rules.patterns", "patterns"),
        ({"patterns": "A8dd"}, "plates.rules.pattern", "patterns"),  # four positions
        ({"patterns": "A8ddI"}, "plates.rules.pattern", "patterns"),  # never I
        ({"patterns": "a8ddd"}, "plates.rules.pattern", "patterns"),  # a is no class
        ({"patterns": "A8dd#"}, "plates.rules.pattern", "patterns"),
        (
            {"plate_type": "52", "patterns": "A8dAdd"},
            "plates.rules.pattern_energy",
            "patterns",
        ),  # a letter among the four digits
        (
            {"plate_type": "52", "patterns": "L1dddd"},
            "plates.rules.pattern_energy",
            "patterns",
        ),  # L no energy
        ({"plate_type": "52", "patterns": "Dedddd"}, "plates.rules.pattern_energy", "patterns"),
        ({"plate_type": "52", "patterns": "Ddddxd"}, "plates.rules.pattern_energy", "patterns"),
        ({"plate_type": "52", "patterns": "Adddd"}, "plates.rules.pattern", "patterns"),  # five positions
        ({"excluded_letters": "A1"}, "plates.rules.excluded_letters", "excluded_letters"),
        ({"excluded_letters": "A;B"}, "plates.rules.excluded_letters", "excluded_letters"),
        ({"excluded_sequences": "SB, 123456"}, "plates.rules.excluded_sequences", "excluded_sequences"),
        ({"excluded_sequences": ["4-4"]}, "plates.rules.excluded_sequences", "excluded_sequences"),
        ({"max_letters": -1}, "plates.rules.max_letters", "max_letters"),
        ({"max_letters": 6}, "plates.rules.max_letters", "max_letters"),
        ({"max_letters": "two"}, "plates.rules.max_letters", "max_letters"),
        (
            {"plate_type": "52", "patterns": "Ddddddd"[:6], "max_letters": 7},
            "plates.rules.max_letters",
            "max_letters",
        ),
        ({"reserved": "8888"}, "plates.rules.reserved", "reserved"),
        ({"reserved": "A8I88"}, "plates.rules.reserved", "reserved"),
    ],
)
def test_pool_rules_parse_refuses_each_field(data, code, field):
    with pytest.raises(ValidationFailed) as refused:
        rules.pool_rules_parse({"plate_type": "02", "patterns": "A8ddd"} | data)
    assert refused.value.code == code
    assert refused.value.field == field
    assert refused.value.message_zh and refused.value.message_en


def test_pool_rules_parse_normalises_and_round_trips():
    parsed = rules.pool_rules_parse(
        {"plate_type": "02", "patterns": "A8ddd, A8ddd\nB6ddd", "excluded_letters": "zb", "excluded_sequences": "sb；44",
         "max_letters": "2", "reserved": ["豫Q·A8888", "b6666"]}
    )  # fmt: skip
    assert parsed.patterns == ("A8ddd", "B6ddd")
    assert parsed.excluded_letters == "BZ"
    assert parsed.excluded_sequences == ("SB", "44")
    assert parsed.reserved == frozenset({"A8888", "B6666"})
    assert rules.pool_rules_parse(parsed.as_data()) == parsed


def test_generation_is_capped_at_max_batch():
    parsed = rules.pool_rules_parse({"plate_type": "02", "patterns": "ddddd"})
    assert len(rules.generate(PREFIX, parsed)) == rules.MAX_BATCH  # 100,000 exactly is allowed
    with pytest.raises(ValidationFailed) as refused:
        rules.generate(PREFIX, parsed, ["ddddd", "A8ddd"])
    assert refused.value.code == "plates.generate.too_many"
    assert refused.value.detail["total"] == rules.MAX_BATCH + 1000
    with pytest.raises(ValidationFailed) as wide:
        rules.generate(PREFIX, rules.pool_rules_parse({"plate_type": "02", "patterns": "xxxxd"}))
    assert wide.value.code == "plates.generate.too_many"
    with pytest.raises(ValidationFailed) as bad:
        rules.generate(PREFIX, parsed, ["A8dd"])
    assert bad.value.code == "plates.rules.pattern"


# ---------------------------------------------------------------- dates (issue 17 §3, §6)


def test_hold_register_and_quarantine_dates():
    at = datetime(2026, 3, 31, 23, 58, tzinfo=UTC)
    assert rules.hold_until(at) == datetime(2026, 4, 1, 0, 3, tzinfo=UTC)
    assert rules.register_by(date(2026, 3, 31)) == date(2026, 4, 15)
    assert rules.register_by(date(2028, 2, 20)) == date(2028, 3, 6)  # a leap year
    # Free again the day after the deadline plus the quarantine.
    assert rules.quarantine_ends(date(2026, 4, 15)) == date(2026, 4, 23)
    assert rules.quarantine_ends(rules.register_by(date(2026, 12, 25))) == date(2027, 1, 17)


# ---------------------------------------------------------------- cool-down after abandoned draws (issue 17 §5)

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_two_abandons_do_not_cool_down_three_do():
    assert rules.cool_down_until([], T0) is None
    assert rules.cool_down_until([T0, T0 + H], T0 + 2 * H) is None
    assert rules.cool_down_until([T0, T0 + H, T0 + 2 * H], T0 + 2 * H) == T0 + 26 * H
    assert rules.cool_down_until([T0, T0 + H, T0 + 2 * H], T0 + 3 * H) == T0 + 26 * H


def test_abandons_exactly_24_hours_apart_are_not_within_a_day():
    # The first is exactly 24 h before the third: not three within 24 hours.
    assert rules.cool_down_until([T0, T0 + H, T0 + 24 * H], T0 + 24 * H) is None
    just_inside = T0 + 24 * H - timedelta(microseconds=1)
    assert rules.cool_down_until([T0, T0 + H, just_inside], just_inside) == just_inside + 24 * H


def test_cool_down_lasts_exactly_24_hours_from_the_third_abandon():
    third = T0 + 2 * H
    abandons = [T0, T0 + H, third]
    assert rules.cool_down_until(abandons, third + 24 * H - timedelta(microseconds=1)) == third + 24 * H
    assert rules.cool_down_until(abandons, third + 24 * H) is None
    # Still closed after the first abandon has left the last 24 hours: the time announced holds.
    assert rules.cool_down_until(abandons, T0 + 25 * H) == third + 24 * H
    # Two old abandons and one new one do not close it again.
    assert rules.cool_down_until([*abandons, T0 + 40 * H], T0 + 40 * H) is None


def test_an_abandon_logged_a_microsecond_ahead_still_counts():
    # A pool's log never goes back in time, so an abandon may be stamped just after the clock
    # of the next request: it closes random selection all the same.
    third = T0 + 2 * H + timedelta(microseconds=1)
    assert rules.cool_down_until([T0, T0 + H, third], T0 + 2 * H) == third + 24 * H
