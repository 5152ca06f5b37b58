"""Prepare a database for the province-day load test (bench only; run by ``run.py``).

    DATABASE_URL=postgresql://... JIAOGUAN_DATA_DIR=DIR python bench/province_day/prepare.py \
        --persons 20000 --citizens 2000 --accidents 300 --out DIR/fixture.json

On an empty database: migrate, the signing key, the demo registry (``generate_demo``), the demo
staff logins (``ensure_demo_logins``), then ``--citizens`` online citizen logins with the demo
password, camera records for their first vehicle (``ensure_demo_violations``), the electronic
inspection marks, and ``--accidents`` accident cases each with one of those citizens as party
甲 and its query code. Writes the fixture the locust users read: logins, password and the
accident numbers with their codes (the codes are shown once, as at a real counter).

The citizen logins share one Argon2 hash of the demo password, made with the platform's own
hasher: every login still checks a full-cost hash, and preparing 2,000 of them takes
seconds instead of minutes. Nothing here is used by the platform itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Henan is in neither seed rollout list (A9a); the demo opens the accident services itself.
ACCIDENT_LOCAL_ROLLOUT = "online_query=2020-06-01,evidence_review=2021-07-01"


def _step(message: str, started: float) -> None:
    print(f"prepare: {message} ({time.monotonic() - started:.0f} s)", flush=True)


def prepare(*, persons: int, citizens: int, accidents: int, seed: int, out: Path) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")
    os.environ.setdefault("JIAOGUAN_ACCIDENT_LOCAL_ROLLOUT", ACCIDENT_LOCAL_ROLLOUT)
    os.environ.setdefault("JIAOGUAN_CREDENTIAL_AUTO_KEY", "1")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from jiaoguan.accidents import services as accident_services
    from jiaoguan.accounts.models import User
    from jiaoguan.core.counters import ensure_demo_counters
    from jiaoguan.credentials.keys import signing_key_ready
    from jiaoguan.credentials.services import credential_status_sync, inspection_marks_bulk_issue
    from jiaoguan.demo.generate import demo_password, ensure_demo_logins, generate_demo
    from jiaoguan.registry.models import DrivingLicence, Person, Vehicle
    from jiaoguan.violations.demo import ensure_demo_violations

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    _step(f"migrated; signing key {signing_key_ready().kid}", started)
    today = timezone.localdate()
    password = demo_password()
    if not Person.objects.exists():
        generate_demo(persons=persons, seed=seed, today=today)
        _step(f"{persons:,} demo persons generated", started)
    staff = {row["role"]: row["username"] for row in ensure_demo_logins(today=today, password=password)}
    ensure_demo_counters()
    officer = User.objects.get(username=staff["accident_officer"])

    # Citizens who can do everything the mix asks: a valid licence and a vehicle with a plate.
    candidates = (
        Person.objects.filter(id_type="resident_id", account__isnull=True)
        .filter(Exists(DrivingLicence.objects.filter(holder=OuterRef("pk"), status="A")))
        .filter(Exists(Vehicle.objects.filter(owner_person=OuterRef("pk"), plate_number__gt="")))
        .order_by("pk")[:citizens]
    )
    shared_hash = make_password(password)
    now = timezone.now()
    User.objects.bulk_create(
        [
            User(
                username=person.id_number,
                kind=User.Kind.INDIVIDUAL,
                registration_level=User.Level.ONLINE,
                person=person,
                first_name=person.name,
                mobile=person.mobile,
                mobile_verified_at=now,
                password=shared_hash,
            )
            for person in candidates
        ],
        batch_size=1000,
    )
    logins = list(
        User.objects.filter(kind=User.Kind.INDIVIDUAL, password=shared_hash)
        .order_by("pk")
        .values_list("username", "person_id")
    )
    _step(f"{len(logins):,} citizen logins", started)
    made = ensure_demo_violations(today=today, usernames=[username for username, _ in logins])
    _step(f"{made:,} camera records for their vehicles", started)
    issued = inspection_marks_bulk_issue(today=today)
    credential_status_sync(today=today)
    _step(f"{issued:,} electronic inspection marks", started)

    cases = []
    people = {p.pk: p for p in Person.objects.filter(pk__in=[pid for _, pid in logins[:accidents]])}
    for index, (_, person_id) in enumerate(logins[:accidents]):
        person = people[person_id]
        case = accident_services.case_open(
            actor=officer,
            occurred_at=now - timedelta(days=1 + index % 60),
            place="驻马店市驿城区解放大道与中华路交叉口",
            division="411702",
        )
        _, _, code = accident_services.party_add(
            actor=officer, case_id=case.pk, label="甲", name=person.name,
            id_type=person.id_type, id_number=person.id_number,
        )  # fmt: skip
        cases.append({"number": case.number, "code": code})
    _step(f"{len(cases):,} accident cases with query codes", started)

    fixture = {"password": password, "citizens": [username for username, _ in logins], "accidents": cases}
    out.write_text(json.dumps(fixture, ensure_ascii=False), encoding="utf-8")
    out.chmod(0o600)
    return fixture


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--accidents", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    prepare(
        persons=args.persons, citizens=args.citizens, accidents=args.accidents, seed=args.seed, out=args.out
    )


if __name__ == "__main__":
    main()
