"""Demo people for acting for others and the licence reliefs of issue 18: an elderly father whose
licence is due for renewal and his daughter (O2, U6), a veteran with a military licence on the
fake military registry (O3), and a driver whose licence was cancelled while abroad, with her
crossings on the fake exit and entry records (O4).

Made once (each person's ID number is the marker). The record systems are outside processes: their
side of the demo is written to a seed file that ``jiaoguan up`` hands to the fake record service.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction

from jiaoguan.accounts.demo_people import demo_counter_login, demo_person
from jiaoguan.integrations.exit_entry import Movement, movement_to_json
from jiaoguan.integrations.military_licence import MilitaryLicence, licence_to_json
from jiaoguan.registry.models import DrivingLicence, Person

DIVISION = "411702"  # 驿城区, Zhumadian


def _person(*, name: str, birth: date, sequence: int, mobile: str) -> Person:
    return demo_person(division=DIVISION, name=name, birth=birth, sequence=sequence, mobile=mobile)


def _licence(
    person: Person, *, archive: str, classes: str, first: date, valid_from: date, **extra: object
) -> None:
    if not DrivingLicence.objects.filter(holder=person).exists():
        DrivingLicence.objects.create(
            holder=person, archive_number=archive, classes=classes, first_issued_on=first, valid_from=valid_from,
            validity_term="10y", division=DIVISION, **extra,
        )  # fmt: skip


def ensure_demo_acting(*, today: date, password: str, data_dir: Path) -> list[dict[str, str]]:
    """Make the demo people once and write the record systems' seed file; returns their logins."""
    with transaction.atomic():
        # O2: a 72-year-old father whose 10-year licence runs out next month, and his daughter.
        father = _person(name="张建国", birth=date(today.year - 72, 3, 2), sequence=911, mobile="13903960072")
        _licence(father, archive="411799000911", classes="C1", first=date(1996, 1, 18),
                 valid_from=today.replace(day=1) - timedelta(days=3650) + timedelta(days=40))  # fmt: skip
        daughter = _person(
            name="张丽", birth=date(today.year - 41, 9, 12), sequence=912, mobile="13903960041"
        )
        # O3: a veteran who drove in the army from 2008 and holds no civilian licence yet.
        veteran = _person(name="刘洋", birth=date(1988, 5, 20), sequence=913, mobile="13903960088")
        # O4: a driver abroad from 2019 whose licence was cancelled (注销可恢复) in 2021 for a missed
        # review, back home six weeks ago.
        returned = _person(name="陈静", birth=date(1983, 11, 4), sequence=914, mobile="13903960083")
        _licence(returned, archive="411799000914", classes="C1", first=date(2005, 7, 1), valid_from=date(2017, 7, 1),
                 status="R", cancelled_on=date(2021, 3, 1), cancellation_reason="review_overdue")  # fmt: skip
        users = {p.pk: demo_counter_login(p, password) for p in (father, daughter, veteran, returned)}
    seeds = {
        "exit-entry": {
            returned.id_number: [
                movement_to_json(Movement("exit", date(2019, 8, 1), "上海浦东国际机场")),
                movement_to_json(Movement("entry", today - timedelta(days=42), "郑州新郑国际机场")),
            ]
        },
        "military": [
            licence_to_json(
                MilitaryLicence(
                    number="JW20080301", id_number=veteran.id_number, name=veteran.name, classes="B1",
                    first_issued_on=date(2008, 3, 1), issued_on=date(2018, 6, 1),
                    added=(("A1", date(2012, 5, 1)),),
                )
            )
        ],
    }  # fmt: skip
    path = data_dir / "records_seeds.json"
    path.write_text(json.dumps(seeds, ensure_ascii=False, indent=1), encoding="utf-8")
    return [
        {"role": "citizen_elder", "username": users[father.pk].username, "password": password,
         "note_zh": "72岁老人张建国：驾驶证即将期满，可查看谁替我办理了业务",
         "note_en": "Zhang Jianguo, 72: licence due for renewal; sees who acted for him"},
        {"role": "citizen_relative", "username": users[daughter.pk].username, "password": password,
         "note_zh": f"张建国的女儿：老年人代办（老人身份证号 {father.id_number}）",
         "note_en": f"his daughter: elderly proxy (the father's ID number {father.id_number})"},
        {"role": "citizen_veteran", "username": users[veteran.pk].username, "password": password,
         "note_zh": "退役军人：军队驾驶证 JW20080301 换领地方驾驶证",
         "note_en": "veteran: exchange military licence JW20080301"},
        {"role": "citizen_abroad", "username": users[returned.pk].username, "password": password,
         "note_zh": "出国期间驾驶证被注销（R），回国6周：恢复驾驶资格",
         "note_en": "licence cancelled (R) while abroad, back 6 weeks: restore it"},
    ]  # fmt: skip
