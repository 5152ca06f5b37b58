"""The rush for exam places (issue 16 §4, B22).

PostgreSQL: 2,000 applications at once for the 100 places of a first-come plan, from 1,800
learners of whom 200 press the button twice at the same moment, each call on its own thread and
connection: exactly 100 places are allocated, the plan's counter says 100, no learner holds two
places in the subject (the partial unique constraint), and the others are told "full" or
"already applied". On both databases: the per-account and per-client limits refuse a script
(429 with Retry-After), and a repeated Idempotency-Key answers the first answer with no second row.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client

from jiaoguan.accounts.rules import Limit
from jiaoguan.core.errors import Conflict, Throttled
from jiaoguan.exams import rules, services
from jiaoguan.exams.models import ExamApplication, ExamPlan, LearnerPermit

LEARNERS = 1800
TWICE = 200  # learners who send two applications at the same moment
PLACES = 100
# The shared PostgreSQL server allows 100 connections for every suite running on it: the 2,000
# threads start together and hold at most this many connections at a time.
CONNECTIONS = int(os.environ.get("JIAOGUAN_RACE_CONNECTIONS", "40"))


def _learners(count: int, today) -> list[tuple[object, LearnerPermit]]:
    """Learners straight in the tables (a citizen account and a C1 permit issued 60 days ago)."""
    from jiaoguan.accounts.models import User
    from jiaoguan.core.identifiers import make_citizen_id
    from jiaoguan.registry.models import Person
    from jiaoguan.registry.rules import add_years

    born = [add_years(today, -20) - timedelta(days=n // 400) for n in range(count)]
    persons = Person.objects.bulk_create(
        [
            Person(
                id_number=make_citizen_id("411702", born[n], 1 + 2 * (n % 400)), name="张伟", sex="M",
                birth_date=born[n], residence_division="411702", mobile="13800138000",
            )
            for n in range(count)
        ]
    )  # fmt: skip
    users = User.objects.bulk_create(
        [User(username=p.id_number, person=p, kind="individual", registration_level="online", password="!") for p in persons]
    )  # fmt: skip
    issued = today - timedelta(days=60)
    permits = LearnerPermit.objects.bulk_create(
        [
            LearnerPermit(
                number=f"XJRACE{n:08d}", person=p, vehicle_class="C1", kind="first", division="411702",
                test_division="411702", state="learning", enrolled_on=issued - timedelta(days=30),
                issued_on=issued, valid_until=rules.permit_valid_until(issued),
            )
            for n, p in enumerate(persons)
        ]
    )  # fmt: skip
    return list(zip(users, permits, strict=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_two_thousand_applications_for_a_hundred_first_come_places(make_centre, make_plan, today):
    if connection.vendor != "postgresql":
        pytest.skip("the application race is exercised on PostgreSQL (row-level concurrency)")
    plan = make_plan(make_centre(), subject=2, places=PLACES, method="first_come")
    learners = _learners(LEARNERS, today)
    calls = [*range(LEARNERS), *range(TWICE)]  # the first 200 learners twice
    outcomes: list[object] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))
    gate = threading.BoundedSemaphore(CONNECTIONS)

    def apply(i: int) -> None:
        user, permit = learners[calls[i]]
        try:
            barrier.wait()
            with gate:
                try:
                    outcomes[i] = services.application_create(
                        actor=user, permit_id=permit.pk, plan_id=plan.pk, client=f"10.0.{i // 250}.{i % 250}"
                    )
                finally:
                    connections.close_all()
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=apply, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)

    won = [o for o in outcomes if isinstance(o, ExamApplication)]
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    strange = [o for o in outcomes if not isinstance(o, ExamApplication | Conflict)]
    assert not strange, strange[:3]
    assert len(won) == PLACES and len(lost) == len(calls) - PLACES
    assert {e.code for e in lost} <= {"exams.plan_full", "exams.already_applied"}
    plan.refresh_from_db()
    assert plan.taken == PLACES
    allocated = ExamApplication.objects.filter(plan=plan, state="allocated")
    assert allocated.count() == PLACES
    # No learner holds two places (or two active applications) in the subject.
    assert allocated.values("permit_id").distinct().count() == PLACES
    assert ExamApplication.objects.filter(plan=plan).count() == PLACES


@pytest.mark.django_db
def test_the_per_account_limit_refuses_a_script_and_full_is_answered_first(
    make_person, citizen, make_centre, make_permit, make_plan
):
    person = make_person()
    user = citizen(person)
    permit = make_permit(person, issued_days_ago=40)
    plan = make_plan(make_centre(), subject=2, places=1, method="first_come")
    other = make_person(name="李娜")
    services.application_create(
        actor=citizen(other), permit_id=make_permit(other, issued_days_ago=40).pk, plan_id=plan.pk
    )
    codes = []
    for n in range(11):  # the plan is full: each attempt still counts against the account
        try:
            services.application_create(
                actor=user, permit_id=permit.pk, plan_id=plan.pk, client=f"10.1.0.{n}"
            )
        except Conflict as refused:
            codes.append(refused.code)
        except Throttled as throttled:
            codes.append(throttled.code)
            assert throttled.retry_after > 0
    # The "full" answer comes before any count (it reads the plan without a lock): a script
    # polling a full plan is not refused for it, while the places are free it is after 10 a minute.
    assert set(codes) == {"exams.plan_full"}

    # Where each attempt is real (apply, cancel, apply again...), the 11th in a minute is refused.
    free = make_plan(make_centre(), subject=2, places=5)
    answers: list[str] = []
    for n in range(11):
        try:
            made = services.application_create(
                actor=user, permit_id=permit.pk, plan_id=free.pk, client=f"10.2.0.{n}"
            )
        except Throttled as throttled:
            answers.append(throttled.code)
            assert throttled.retry_after > 0
        else:
            services.application_cancel(actor=user, application_id=made.pk)
            answers.append(made.state)
    assert answers == ["applied"] * 10 + ["exams.too_many_applications"]


@pytest.mark.django_db
def test_the_per_client_limit_refuses_many_accounts_from_one_address(
    make_person, citizen, make_centre, make_permit, make_plan, monkeypatch
):
    monkeypatch.setattr(services, "CLIENT_LIMITS", (Limit(3, timedelta(minutes=1)),))
    plan = make_plan(make_centre(), subject=2, places=10)
    answers = []
    for n in range(4):
        person = make_person(name=f"学员{n}")
        permit = make_permit(person, issued_days_ago=40)
        client = Client(REMOTE_ADDR="203.0.113.9")
        client.force_login(citizen(person))
        answers.append(
            client.post(
                "/api/v1/me/exam-applications", {"permit_id": permit.pk, "plan_id": plan.pk},
                content_type="application/json",
            )
        )  # fmt: skip
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[-1].json()["code"] == "exams.too_many_applications" and int(answers[-1]["Retry-After"]) > 0
    assert ExamApplication.objects.filter(plan=plan).count() == 3


@pytest.mark.django_db
def test_an_idempotency_key_repeat_makes_no_second_row(
    make_person, citizen, make_centre, make_permit, make_plan
):
    person = make_person()
    permit = make_permit(person, issued_days_ago=40)
    plan = make_plan(make_centre(), subject=2, places=10, method="first_come")
    client = Client()
    client.force_login(citizen(person))
    body = {"permit_id": permit.pk, "plan_id": plan.pk}
    answers = [
        client.post(
            "/api/v1/me/exam-applications",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="rush-1",
        )
        for _ in range(3)
    ]
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert ExamApplication.objects.filter(permit=permit).count() == 1
    assert ExamPlan.objects.get(pk=plan.pk).taken == 1
    other = client.post(
        "/api/v1/me/exam-applications", {"permit_id": permit.pk, "plan_id": plan.pk + 1000},
        content_type="application/json", HTTP_IDEMPOTENCY_KEY="rush-1",
    )  # fmt: skip
    assert other.status_code in (409, 422)  # the same key with another body is not replayed


@pytest.mark.django_db
def test_an_application_number_drawn_twice_is_drawn_again(
    make_person, citizen, make_centre, make_permit, make_plan, monkeypatch
):
    """Numbers are random: on a busy day two applications may draw the same one. The second is
    given another number, not refused as "already applied"."""
    plan = make_plan(make_centre(), subject=2, places=10)
    first = make_person()
    services.application_create(
        actor=citizen(first), permit_id=make_permit(first, issued_days_ago=40).pk, plan_id=plan.pk
    )
    taken = ExamApplication.objects.get().number
    draws = iter([taken, "KS2099010100000001"])
    monkeypatch.setattr(services, "_new_number", lambda prefix, on: next(draws))
    second = make_person(name="李娜")
    made = services.application_create(
        actor=citizen(second), permit_id=make_permit(second, issued_days_ago=40).pk, plan_id=plan.pk
    )
    assert made.number == "KS2099010100000001" and made.state == "applied"


def test_a_file_number_drawn_twice_is_drawn_again_and_a_second_open_file_is_refused(
    make_person, make_permit, exam_officer, monkeypatch
):
    """Enrolment draws its number at random too: a collision draws again; the same person and class
    a second time is "already enrolled" (one open file per class)."""
    taken = make_permit(make_person(name="赵磊"), issued_days_ago=None).number
    draws = iter([taken, "XJ2099010100000001", "XJ2099010100000002"])
    monkeypatch.setattr(services, "_new_number", lambda prefix, on: next(draws))
    learner = make_person(name="李娜")
    data = services.EnrolInput(id_number=learner.id_number, vehicle_class="C1", test_division="411702")
    made = services.permit_enrol(actor=exam_officer, data=data)
    assert made.number == "XJ2099010100000001" and made.state == "enrolled"
    with pytest.raises(Conflict) as again:
        services.permit_enrol(actor=exam_officer, data=data)
    assert again.value.code == "exams.already_enrolled"
