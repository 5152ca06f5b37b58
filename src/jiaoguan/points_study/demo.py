"""Demo of the study to reduce points and the full-score education (V7): a study centre of
Zhumadian with on-site sessions in the coming days, a driver at 10 points who may study, a driver
excluded by a drink-driving offence (12 points) two cycles ago, and a driver at 12 points in
full-score education with two days of study done.

Made once (each person's ID number is the marker; the centre by its name). The counter clerk of the
demo logins records the on-site results at /counter/points-study/.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from jiaoguan.accounts.demo_people import demo_counter_login, demo_person
from jiaoguan.registry.models import DrivingLicence, Person, PointsEntry
from jiaoguan.registry.rules import scoring_cycle

from .courses import ensure_courses
from .models import Course, FullScoreCase, FullScoreDay, StudyCentre, StudySession

DIVISION = "411702"  # 驿城区, Zhumadian
FIRST_ISSUED = date(2012, 5, 18)


def _person(*, name: str, birth: date, sequence: int, mobile: str) -> Person:
    return demo_person(division=DIVISION, name=name, birth=birth, sequence=sequence, mobile=mobile)


def _licence(
    person: Person, *, archive: str, status: str, entries: list[tuple[date, int, str]]
) -> DrivingLicence:
    licence = DrivingLicence.objects.filter(holder=person).first()
    if licence is None:
        licence = DrivingLicence.objects.create(
            holder=person, archive_number=archive, classes="C1", first_issued_on=FIRST_ISSUED,
            valid_from=date(2018, 5, 18), validity_term="10y", division=DIVISION, status=status,
            mobile=person.mobile,
        )  # fmt: skip
        for on, points, source in entries:
            PointsEntry.objects.create(licence=licence, points=points, occurred_on=on, source=source)
    return licence


def _on(cycle: tuple[date, date], today: date, days: int) -> date:
    """A day ``days`` into the cycle, never after today."""
    return min(cycle[0] + timedelta(days=days), today)


def _sessions(today: date) -> None:
    ensure_courses()
    centre, _created = StudyCentre.objects.get_or_create(
        name="驻马店市车管所学法减分学习点",
        defaults={"address": "驻马店市驿城区练江大道与金山路交叉口", "division": DIVISION},
    )
    tz = timezone.get_current_timezone()
    for days, course, hour in ((2, "onsite-law", 9), (3, "onsite-cases", 14), (7, "onsite-law", 9)):
        starts = datetime.combine(today + timedelta(days=days), time(hour), tzinfo=tz)
        StudySession.objects.get_or_create(
            centre=centre, course=Course.objects.get(code=course), starts_at=starts, defaults={"capacity": 30}
        )


def ensure_demo_points_study(*, today: date, password: str) -> list[dict[str, str]]:
    """Make the demo centre, sessions and drivers once; returns their logins."""
    cycle = scoring_cycle(first_issued_on=FIRST_ISSUED, today=today)
    two_back = scoring_cycle(first_issued_on=FIRST_ISSUED, today=cycle[0] - timedelta(days=370))
    with transaction.atomic():
        _sessions(today)
        # 10 points this cycle: red light (6), handheld phone (3), no seat belt (1).
        studying = _person(name="孙立新", birth=date(1986, 4, 9), sequence=931, mobile="13903960931")
        _licence(studying, archive="411799000931", status="A", entries=[
            (_on(cycle, today, 20), 6, "DEMO-1625"), (_on(cycle, today, 40), 3, "DEMO-1223"),
            (_on(cycle, today, 60), 1, "DEMO-1101"),
        ])  # fmt: skip
        # Drink-driving (12 points) two cycles ago: no study to reduce for three cycles.
        excluded = _person(name="吴海峰", birth=date(1979, 8, 23), sequence=933, mobile="13903960933")
        _licence(excluded, archive="411799000933", status="A", entries=[
            (two_back[0] + timedelta(days=30), 12, "DEMO-1711"), (_on(cycle, today, 10), 3, "DEMO-1301"),
        ])  # fmt: skip
        # 12 points eight days ago: full-score education, two days of study done.
        full = _person(name="郑凯", birth=date(1990, 1, 15), sequence=935, mobile="13903960935")
        reached = max(today - timedelta(days=8), cycle[0])
        licence = _licence(full, archive="411799000935", status="B", entries=[
            (reached, 6, "DEMO-1625B"), (reached, 6, "DEMO-1636"),
        ])  # fmt: skip
        case, created = FullScoreCase.objects.get_or_create(
            licence=licence, reached_on=reached, defaults={"division": DIVISION}
        )
        if created:
            now = timezone.now()
            for back, kind in ((6, "online"), (5, "on_site")):
                FullScoreDay.objects.create(
                    case=case, day=today - timedelta(days=back), kind=kind, started_at=now, finished_at=now
                )
        users = {p.pk: demo_counter_login(p, password) for p in (studying, excluded, full)}
    return [
        {"role": "citizen_points", "username": users[studying.pk].username, "password": password,
         "note_zh": "记分10分：学法减分（/points-study/）网络学习减1分、预约现场学习减2分",
         "note_en": "10 points: study online (1 point) or book on-site study (2) at /points-study/"},
        {"role": "citizen_points_excluded", "username": users[excluded.pk].username, "password": password,
         "note_zh": "两个周期前饮酒驾驶（记12分）：不能学法减分，页面说明原因",
         "note_en": "drink-driving (12 points) two cycles ago: excluded, with the reason shown"},
        {"role": "citizen_full_score", "username": users[full.pk].username, "password": password,
         "note_zh": "记满12分：满分学习进度，已学习2天（其中现场1天）",
         "note_en": "12 points: full-score education, 2 days done (1 on site)"},
    ]  # fmt: skip
