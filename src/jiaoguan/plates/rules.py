"""Rules of plate pre-selection (预选机动车号牌, B19, P1-P5): pools, patterns, limits and dates.

Pure decisions, no ORM and no clock: every function takes the time it needs. Sources: seed 002
(附件5 "互联网选号规则提示"), RULES.md "Plates" (GA 36-2018; S3 art. 43-45), requirements P1-P5.

A pool (号源) belongs to one plate office (发牌机关, the prefix such as 豫Q) and one plate type
(02 small car, 52 small new-energy car). Its numbers are generated from patterns the office
configures as data, one character class per serial position:

- ``d`` a digit, ``l`` a letter, ``x`` a letter or a digit, ``e`` an energy letter (A-H, J, K);
- any upper-case letter or digit stands for itself (``A8ddd`` is A8000 to A8999).

Letters never include I and O (GA 36); an office may exclude more letters, forbid character
sequences anywhere in the serial, cap the number of letters, and reserve numbers for other
channels (the counter's own selection, police and special series); reserved numbers never
enter the pool and cannot be self-composed.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.identifiers import PlateKind, parse_plate

# Plate types that can be pre-selected online (P2: new small cars, including new-energy plates).
SMALL_CAR = "02"
SMALL_NEW_ENERGY = "52"
PLATE_TYPES: dict[str, tuple[str, str, PlateKind, int]] = {
    # plate type: (zh, en, GA 36 shape, serial length)
    SMALL_CAR: ("小型汽车号牌", "small car plate", PlateKind.ORDINARY, 5),
    SMALL_NEW_ENERGY: ("小型新能源汽车号牌", "small new-energy car plate", PlateKind.NEW_ENERGY_SMALL, 6),
}

CANDIDATES = 5  # random selection offers 5 numbers, the user keeps one (seed 002: 5选1, P4)
HOLD_MINUTES = 5  # a held set or self-composed number is kept this long for the user's choice
REGISTER_WITHIN_DAYS = 15  # a selected number lapses if not registered at the DMV by then
QUARANTINE_DAYS = 7  # a lapsed number stays out of the pool this long before it is free again
ABANDONS_BEFORE_COOL_DOWN = 3  # draws given up or let expire within a day ...
COOL_DOWN = timedelta(hours=24)  # ... close random selection to the account for this long
MAX_BATCH = 100_000  # numbers one generation or import may add to a pool
MAX_LETTERS_DEFAULT = 2

# Letters that may appear in a serial (GA 36: never I or O, so they cannot be read as 1 and 0).
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"
ENERGY_LETTERS = "ABCDEFGHJK"
_CLASSES = {"d": DIGITS, "l": PLATE_LETTERS, "x": PLATE_LETTERS + DIGITS, "e": ENERGY_LETTERS}
_PATTERN_RE = re.compile(r"[dlxe0-9A-HJ-NP-Z]+")


def _invalid(code: str, zh: str, en: str, field_name: str, **detail: Any) -> ValidationFailed:
    return ValidationFailed(f"plates.{code}", zh, en, field=field_name, detail=detail or None)


# ---------------------------------------------------------------- pool rules (configured as data)


@dataclass(frozen=True)
class PoolRules:
    """What an office allows in one pool: the serial patterns and the exclusions (号段规则)."""

    plate_type: str
    patterns: tuple[str, ...]
    excluded_letters: str = ""
    excluded_sequences: tuple[str, ...] = ()
    max_letters: int = MAX_LETTERS_DEFAULT
    reserved: frozenset[str] = field(default_factory=frozenset)  # serials kept for other channels

    @property
    def serial_length(self) -> int:
        return PLATE_TYPES[self.plate_type][3]

    def as_data(self) -> dict[str, Any]:
        return {
            "plate_type": self.plate_type,
            "patterns": list(self.patterns),
            "excluded_letters": self.excluded_letters,
            "excluded_sequences": list(self.excluded_sequences),
            "max_letters": self.max_letters,
            "reserved": sorted(self.reserved),
        }


def words(value: Any) -> list[str]:
    """A list typed as text (commas, spaces, new lines) or given as a list."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r"[\s,，;；、]+", str(value))
    return [str(item).strip() for item in items if str(item).strip()]


def pool_rules_parse(data: Mapping[str, Any]) -> PoolRules:
    """Check and normalise an office's rules for a pool; every problem names its field."""
    plate_type = str(data.get("plate_type") or "")
    if plate_type not in PLATE_TYPES:
        raise _invalid(
            "rules.plate_type",
            "号源的号牌种类只能是 02 小型汽车 或 52 小型新能源汽车。",
            "A pool's plate type is 02 (small car) or 52 (small new-energy car).",
            "plate_type",
        )
    length = PLATE_TYPES[plate_type][3]
    patterns = words(data.get("patterns"))
    if not patterns or len(patterns) > 50:
        raise _invalid(
            "rules.patterns", "请填写 1 至 50 个号码规则。", "Give 1 to 50 serial patterns.", "patterns"
        )
    for pattern in patterns:
        _check_pattern(pattern, plate_type, length)
    excluded_letters = "".join(sorted(set(str(data.get("excluded_letters") or "").upper()) - {" ", ","}))
    if any(ch not in PLATE_LETTERS + "IO" for ch in excluded_letters):
        raise _invalid(
            "rules.excluded_letters",
            "排除字母只能是英文字母（I 和 O 总是排除）。",
            "Excluded letters must be letters (I and O are always excluded).",
            "excluded_letters",
        )
    sequences = tuple(s.upper() for s in words(data.get("excluded_sequences")))
    for sequence in sequences:
        if not re.fullmatch(r"[0-9A-Z]{1,5}", sequence):
            raise _invalid(
                "rules.excluded_sequences",
                f"排除组合“{sequence[:10]}”应为 1 至 5 位字母或数字。",
                f"The excluded sequence '{sequence[:10]}' must be 1 to 5 letters or digits.",
                "excluded_sequences",
            )
    try:
        max_letters = int(data.get("max_letters", MAX_LETTERS_DEFAULT))
    except (TypeError, ValueError):
        max_letters = -1
    if not 0 <= max_letters <= length:
        raise _invalid(
            "rules.max_letters",
            f"字母个数上限应为 0 至 {length}。",
            f"The letter cap must be 0 to {length}.",
            "max_letters",
        )
    reserved = frozenset(_reserved_serial(item, plate_type) for item in words(data.get("reserved")))
    return PoolRules(
        plate_type=plate_type,
        patterns=tuple(dict.fromkeys(patterns)),
        excluded_letters=excluded_letters.replace("I", "").replace("O", ""),
        excluded_sequences=tuple(dict.fromkeys(sequences)),
        max_letters=max_letters,
        reserved=reserved,
    )


def _check_pattern(pattern: str, plate_type: str, length: int) -> None:
    if len(pattern) != length or not _PATTERN_RE.fullmatch(pattern):
        raise _invalid(
            "rules.pattern",
            f"号码规则“{pattern[:12]}”应为 {length} 位，每位为 d（数字）、l（字母）、x（字母或数字）、"
            "e（能源字母）或一个固定的字母、数字（不用 I、O）。",
            f"The pattern '{pattern[:12]}' must have {length} positions, each d (digit), l (letter), "
            "x (letter or digit), e (energy letter) or a fixed letter or digit (never I or O).",
            "patterns",
            pattern=pattern[:12],
        )
    if plate_type == SMALL_NEW_ENERGY:
        # GA 36: energy letter, then a letter or digit, then four digits.
        first_ok = pattern[0] == "e" or pattern[0] in ENERGY_LETTERS
        rest_ok = all(ch in "d" + DIGITS for ch in pattern[2:])
        if not first_ok or not rest_ok or pattern[1] == "e":
            raise _invalid(
                "rules.pattern_energy",
                f"小型新能源号码规则“{pattern}”应为：能源字母、一位字母或数字、四位数字（如 edddddd 中 e 打头、后四位为 d）。",
                f"A small new-energy pattern ('{pattern}') is an energy letter, a letter or digit, then four "
                "digits (e.g. exdddd).",
                "patterns",
                pattern=pattern,
            )


def _reserved_serial(item: str, plate_type: str) -> str:
    """A reserved number as a serial: '豫Q88888' or '88888' both give '88888'."""
    text = item.upper().replace("·", "")
    length = PLATE_TYPES[plate_type][3]
    serial = text[-length:] if len(text) >= length else text
    if len(serial) != length or not re.fullmatch(r"[0-9A-HJ-NP-Z]+", serial):
        raise _invalid(
            "rules.reserved",
            f"保留号码“{item[:12]}”不是 {length} 位序号。",
            f"The reserved number '{item[:12]}' is not a {length}-character serial.",
            "reserved",
        )
    return serial


@dataclass(frozen=True)
class SerialRefusal:
    """Why a serial is outside an office's rules: a stable code and both languages."""

    code: str
    zh: str
    en: str


def serial_refusal(serial: str, rules: PoolRules) -> SerialRefusal | None:
    """Why a serial breaks the office's rules, or None when it obeys them (P4, P5)."""
    if not any(pattern_matches(pattern, serial) for pattern in rules.patterns):
        return SerialRefusal(
            "plates.rules.pattern",
            "该号码不在本发牌机关开放的号段规则内（字母所在位置或号段不符）。",
            "The number is outside the series this office has opened (letter positions or series).",
        )
    bad_letters = sorted({ch for ch in serial if ch in rules.excluded_letters})
    if bad_letters:
        letters = "、".join(bad_letters)
        return SerialRefusal(
            "plates.rules.letter",
            f"号码中不能使用字母 {letters}。",
            f"The letters {', '.join(bad_letters)} are not used in numbers here.",
        )
    sequence = next((s for s in rules.excluded_sequences if s in serial), None)
    if sequence is not None:
        return SerialRefusal(
            "plates.rules.sequence",
            f"号码中不能出现组合“{sequence}”。",
            f"Numbers here may not contain '{sequence}'.",
        )
    letter_count = sum(ch.isalpha() for ch in serial)
    # The energy letter of a new-energy plate is not counted: it is the plate's kind, not a choice.
    if rules.plate_type == SMALL_NEW_ENERGY:
        letter_count -= 1
    if letter_count > rules.max_letters:
        return SerialRefusal(
            "plates.rules.letters",
            f"号码中最多使用 {rules.max_letters} 个字母。",
            f"Numbers here have at most {rules.max_letters} letters.",
        )
    if serial in rules.reserved:
        return SerialRefusal(
            "plates.rules.reserved",
            "该号码为其他渠道保留的号码，不能网上选取。",
            "This number is reserved for another channel and cannot be selected online.",
        )
    return None


def pattern_matches(pattern: str, serial: str) -> bool:
    if len(pattern) != len(serial):
        return False
    return all(ch in _CLASSES[p] if p in _CLASSES else ch == p for p, ch in zip(pattern, serial, strict=True))


def pattern_size(pattern: str) -> int:
    size = 1
    for p in pattern:
        size *= len(_CLASSES[p]) if p in _CLASSES else 1
    return size


def pattern_serials(pattern: str) -> Iterator[str]:
    """Every serial a pattern describes, in order (A8000, A8001, ...)."""
    choices = [_CLASSES[p] if p in _CLASSES else p for p in pattern]
    for parts in itertools.product(*choices):
        yield "".join(parts)


def generate(prefix: str, rules: PoolRules, patterns: Iterable[str] | None = None) -> list[str]:
    """The full numbers (豫Q A8123) the rules allow from the given patterns (the rules' own by default).

    Each one is checked as a GA 36 plate of the pool's kind, so a pool never holds a number that
    could not be issued. The size is checked before anything is generated.
    """
    chosen = tuple(patterns) if patterns is not None else rules.patterns
    length = rules.serial_length
    for pattern in chosen:
        _check_pattern(pattern, rules.plate_type, length)
    total = sum(pattern_size(p) for p in chosen)
    if total > MAX_BATCH:
        raise _invalid(
            "generate.too_many",
            f"一次最多生成 {MAX_BATCH} 个号码，所选号码规则可生成 {total} 个；请用固定位缩小号段（如 A8ddd）。",
            f"One generation adds at most {MAX_BATCH} numbers; these patterns describe {total}. Fix some "
            "positions to narrow them (e.g. A8ddd).",
            "patterns",
            total=total,
        )
    kind = PLATE_TYPES[rules.plate_type][2]
    numbers: dict[str, None] = {}
    for pattern in chosen:
        for serial in pattern_serials(pattern):
            if serial_refusal(serial, rules) is None:
                number = prefix + serial
                if parse_plate(number).kind is kind:
                    numbers[number] = None
    return list(numbers)


def check_number(prefix: str, rules: PoolRules, text: str) -> str:
    """A number typed by a user or an importer, as stored: right office, type, shape and rules.

    Accepts the whole number (豫Q·A8K23) or the serial alone (A8K23).
    """
    raw = (text or "").strip()
    if not raw:
        raise _invalid("number.required", "请填写号牌号码。", "Enter the plate number.", "number")
    candidate = raw if raw[:1] and not raw[:1].isascii() else prefix + raw
    plate = parse_plate(candidate)  # GA 36 shape, with its own messages (plate.format ...)
    if plate.province + plate.office != prefix:
        raise _invalid(
            "number.office",
            f"号码应以本发牌机关的“{prefix}”开头。",
            f"The number must start with this office's prefix {prefix}.",
            "number",
        )
    zh, en, kind, _length = PLATE_TYPES[rules.plate_type]
    if plate.kind is not kind:
        raise _invalid(
            "number.kind",
            f"号码 {plate.number} 不是{zh}的号码格式。",
            f"{plate.number} is not the shape of a {en}.",
            "number",
        )
    refusal = serial_refusal(plate.serial, rules)
    if refusal is not None:
        raise ValidationFailed(refusal.code, refusal.zh, refusal.en, field="number")
    return plate.number


def positions(numbers: Iterable[str], *, start: int, salt: str) -> list[tuple[int, str]]:
    """Positions for new numbers of a pool: after ``start``, in the order of SHA-256(salt + number).

    A draw walks the pool in position order from a point the seed decides (see ``draw``); hashing
    the order scatters easy-to-remember numbers (88888, A6666) over the pool, so the walk from a
    random point cannot be aimed at a cluster of them.
    """
    ordered = sorted(numbers, key=lambda n: (hashlib.sha256(f"{salt}:{n}".encode()).hexdigest(), n))
    return [(start + offset, number) for offset, number in enumerate(ordered)]


# ---------------------------------------------------------------- selection dates and limits


def hold_until(at: datetime) -> datetime:
    return at + timedelta(minutes=HOLD_MINUTES)


def register_by(chosen_on: date) -> date:
    """The last day a selected number can be registered at the DMV."""
    return chosen_on + timedelta(days=REGISTER_WITHIN_DAYS)


def quarantine_ends(register_by_day: date) -> date:
    """The day a lapsed number is free again (it is out of the pool until then)."""
    return register_by_day + timedelta(days=1 + QUARANTINE_DAYS)


def cool_down_until(abandoned_at: list[datetime], now: datetime) -> datetime | None:
    """When random selection opens again after repeated abandoned draws, or None when open.

    ``abandoned_at`` are the times the account's draws were given up or expired. Three within 24
    hours close random selection for 24 hours from the third: scripts that draw and discard to
    fish for a "good" number are stopped, a person who redraws twice is not.
    """
    # The cool-down runs 24 hours from the third abandon even after the first of the three has
    # left the last 24 hours, so the time announced when it closed is the time it opens again:
    # every run of three within 24 hours counts, not only the last 24 hours' abandons.
    ordered = sorted(abandoned_at)
    n = ABANDONS_BEFORE_COOL_DOWN - 1
    ends = [
        third + COOL_DOWN
        for first, third in zip(ordered, ordered[n:], strict=False)
        if third - first < COOL_DOWN and third + COOL_DOWN > now
    ]
    return max(ends, default=None)
