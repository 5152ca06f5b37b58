"""Input rules of a military licence exchange application (O3), pure: no ORM, no clock.

The date rules themselves are ``registry.military_licence_rules``; this module checks what the
applicant typed (the licence number, classes, dates) and says which path the case takes.
"""

from __future__ import annotations

import re
from datetime import date

from jiaoguan.registry import military_licence_rules as mrules

MILITARY_NUMBER_RE = re.compile(r"^[A-Z]{2}[0-9]{6,18}$")
MAX_ADDED = 6


class InputError(ValueError):
    def __init__(self, code: str, zh: str, en: str, field: str) -> None:
        super().__init__(code)
        self.code, self.zh, self.en, self.field = code, zh, en, field


def clean_number(value: str) -> str:
    """A military licence number: a two-letter prefix and digits (JW12345678)."""
    number = (value or "").strip().upper().replace(" ", "")
    if not MILITARY_NUMBER_RE.fullmatch(number):
        raise InputError(
            "military_exchange.number_format", "军队（武警）驾驶证号应为两位字母字头加数字。",
            "A military licence number is a two-letter prefix followed by digits.", "military_number",
        )  # fmt: skip
    return number


def clean_classes(value: str, field: str = "classes") -> str:
    """Licence classes as the registry writes them ("B1", "A2D"), every one known."""
    text = (value or "").strip().upper().replace(" ", "").replace(",", "")
    try:
        mrules.minimum_age(text)
    except ValueError:
        raise InputError(
            "military_exchange.classes", "准驾车型不正确。", "Unknown licence classes.", field
        ) from None
    return text


def clean_day(value: date | None, *, field: str, today: date) -> date:
    if value is None or value > today or value.year < 1950:
        raise InputError(
            "military_exchange.date", "日期不正确。", "The date is not valid.", field
        )  # fmt: skip
    return value


def clean_added(
    rows: list[tuple[str, date | None]], *, first_issued_on: date, today: date
) -> list[list[str]]:
    """Added classes (增驾车型) with their days, oldest first; none before the first issue."""
    if len(rows) > MAX_ADDED:
        raise InputError("military_exchange.added", "增驾车型过多。", "Too many added classes.", "added")
    out: list[list[str]] = []
    for code, on in rows:
        code = clean_classes(code, "added")
        day = clean_day(on, field="added", today=today)
        if day < first_issued_on:
            raise InputError(
                "military_exchange.added_before_first", "增驾时间不能早于初次领证日期。",
                "A class cannot be added before the first issue.", "added",
            )  # fmt: skip
        out.append([code, day.isoformat()])
    return sorted(out, key=lambda row: row[1])


def path_for(
    *, earlier_exchanged_on: date | None, military_number: str, today: date
) -> mrules.Path | mrules.Refusal:
    """REISSUE for a new exchange (or one after 2021-05-31); RECORD_ONLY for a licence exchanged by
    2021-05-31 with a new-style military licence; a refusal otherwise (seed §七 三)."""
    return mrules.recording_path(
        exchanged_on=earlier_exchanged_on, military_number=military_number, today=today
    )
