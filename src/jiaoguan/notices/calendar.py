"""The private due-date calendar (个人到期日历, iCalendar RFC 5545) a user chose to subscribe to.

Events are the owner's and driver's own dates as the registry computes them today: inspection
valid-until of each own vehicle, licence validity (renewal window opening and end), review and
medical-certificate deadlines. No personal data beyond the plate goes into the feed: a calendar
service keeps a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.utils import timezone

from jiaoguan.registry.models import DrivingLicence, Vehicle
from jiaoguan.registry.selectors import licence_status, vehicle_status


@dataclass(frozen=True)
class DueDate:
    uid: str
    on: date
    summary: str
    description: str
    path: str


_LICENCE_DATES: dict[str, tuple[str, str]] = {
    "renewal-window": (
        "驾驶证可以申请期满换证 Licence renewal opens",
        "有效期满前90日内可申请换证。 Renewal may be applied for from today.",
    ),
    "renewal": (
        "驾驶证有效期止 Licence expires",
        "请在此日期前办理期满换证。 Renew the licence before this date.",
    ),
    "review": (
        "驾驶证审验截止 Licence review deadline",
        "请在此日期前参加审验教育。 Attend the review before this date.",
    ),
    "medical": (
        "提交身体条件证明截止 Medical certificate deadline",
        "请在此日期前提交身体条件证明。 Submit the medical certificate before this date.",
    ),
}


def due_dates(*, person_id: int, today: date) -> list[DueDate]:
    """The person's coming (and overdue) dates, earliest first."""
    found: list[DueDate] = []
    for vehicle in Vehicle.objects.filter(owner_person_id=person_id).exclude(status__contains="E"):
        vstatus = vehicle_status(vehicle, today=today)
        plate = vehicle.plate_number or "未上牌"
        found.append(
            DueDate(
                uid=f"inspection-{vehicle.pk}-{vstatus.inspection_valid_until:%Y%m%d}",
                on=vstatus.inspection_valid_until,
                summary=f"机动车{plate}检验有效期至 Inspection of {plate} due",
                description=(
                    "可在到期前三个月内申请检验或领取检验标志。"
                    " The inspection or label may be taken in the 3 months before this date."
                ),
                path=f"/vehicles/{vehicle.pk}/",
            )
        )
        if vstatus.scrapping_date is not None and vstatus.scrapping_date >= today:
            found.append(
                DueDate(
                    uid=f"scrapping-{vehicle.pk}-{vstatus.scrapping_date:%Y%m%d}",
                    on=vstatus.scrapping_date,
                    summary=f"机动车{plate}强制报废期止 Scrapping date of {plate}",
                    description="达到强制报废标准的机动车不得上道路行驶。 The vehicle may not be driven after this date.",
                    path=f"/vehicles/{vehicle.pk}/",
                )
            )
    licence = DrivingLicence.objects.filter(holder_id=person_id).exclude(status__contains="G").first()
    if licence is not None:
        status = licence_status(licence, today=today)
        dates = {
            "renewal-window": status.renewal_window_start if status.valid_until is not None else None,
            "renewal": status.valid_until,
            "review": status.review_due,
            "medical": status.medical_due,
        }
        for kind, on in dates.items():
            if on is not None:
                summary, description = _LICENCE_DATES[kind]
                found.append(
                    DueDate(
                        uid=f"{kind}-{licence.pk}-{on:%Y%m%d}", on=on, summary=summary,
                        description=description, path="/licences/",
                    )
                )  # fmt: skip
    return sorted(found, key=lambda d: (d.on, d.uid))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 §3.1) without splitting a character."""
    out: list[str] = []
    current = ""
    for ch in line:
        limit = 75 if not out else 74  # continuation lines start with a space
        if len((current + ch).encode()) > limit:
            out.append(current)
            current = ch
        else:
            current += ch
    out.append(current)
    return "\r\n ".join(out)


def ical(*, dates: list[DueDate], base_url: str, now: datetime | None = None, host: str = "jiaoguan") -> str:
    """The feed as iCalendar text: one all-day event per date, with a reminder a week before."""
    stamp = (now or timezone.now()).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//jiaoguan//due dates//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:交管到期提醒 Traffic due dates",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for d in dates:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{d.uid}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{d.on:%Y%m%d}",
            f"DTEND;VALUE=DATE:{d.on + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_escape(d.summary)}",
            f"DESCRIPTION:{_escape(d.description)}",
            f"URL:{base_url.rstrip('/')}{d.path}",
            "TRANSP:TRANSPARENT",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{_escape(d.summary)}",
            "TRIGGER:-P7D",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def feed_for(user: Any, *, base_url: str, today: date | None = None) -> str:
    today = today or timezone.localdate()
    dates = due_dates(person_id=user.person_id, today=today) if user.person_id else []
    return ical(dates=dates, base_url=base_url)
