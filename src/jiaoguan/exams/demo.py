"""Demo driving tests (驾驶人考试, issue 16): two exam centres of the Zhumadian demo, a driving school
with its login, the exam section's officer ``exams`` (411700), learners at various stages and plans
in each state: a lottery plan and a first-come plan open now, a plan allocated with its proof and
waiting list, a finished plan with passes, fails, a retake and a miss, and a learner licensed.

Made once (the first centre is the marker) through the services where they allow it; the past
(subject 1 passed, a plan examined last week) is written in the tables as it would stand, and its
results are recorded through ``result_record`` so the permit, the retake rule and the licence
follow as they do for real. Small and fast: a dozen learners.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.accounts.services import organisation_register, staff_create
from jiaoguan.core.identifiers import make_uscc
from jiaoguan.registry.models import Organisation, Person

from . import rules, services
from .models import ExamApplication, ExamCentre, ExamPlan, ExamResult, LearnerPermit, TestLocationChange

EXAM_LOGIN = "exams"
DEMO_CENTRES = (
    ("12411700MB0KC0001", "驻马店市机动车驾驶人考试中心", "411702", "驻马店市驿城区雪松大道18号", "0396-2821122",
     (1, 2, 3, 4), ("C1", "C2", "B2")),
    ("12411721MB0KC0002", "西平县机动车驾驶人考试场", "411721", "西平县柏城大道200号", "0396-6201122",
     (1, 2, 3, 4), ("C1", "C2")),
)  # fmt: skip
DEMO_SCHOOL = ("91411702MA4JX0001", "驻马店市安达驾驶培训有限公司", "411702", "驻马店市驿城区开源大道120号")
LEARNERS = 16  # besides the main demo citizen and the school's representative


def _aware(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _number(prefix: str, *parts: Any) -> str:
    digest = int(hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest(), 16)
    return f"{prefix}{digest % 10**16:016d}"


def _officer(password: str) -> User:
    user = User.objects.filter(username=EXAM_LOGIN).first()
    if user is None:
        user = staff_create(
            username=EXAM_LOGIN, password=password, role="exam_officer", jurisdiction="411700", name="周涛"
        )
    return user


def _school(clerk: User, password: str, representative: Person) -> tuple[Organisation, User]:
    uscc = make_uscc(DEMO_SCHOOL[0])
    user = User.objects.filter(username=uscc).first() or User.objects.filter(organisation__uscc=uscc).first()
    if user is None:
        user = organisation_register(
            actor=clerk, uscc=uscc, name=DEMO_SCHOOL[1], kind=Organisation.Kind.DRIVING_SCHOOL,
            division=DEMO_SCHOOL[2], representative_id_type=representative.id_type,
            representative_id_number=representative.id_number, representative_name=representative.name,
            representative_role="legal_representative", mobile=representative.mobile or "13800138000",
            password=password, address=DEMO_SCHOOL[3],
        )  # fmt: skip
    organisation = Organisation.objects.get(uscc=uscc)
    return organisation, user


def _permit(
    person: Person, school: Organisation, *, issued: date | None, today: date, consent: bool = True,
    vehicle_class: str = "C1",
) -> LearnerPermit:  # fmt: skip
    existing = LearnerPermit.objects.filter(person=person, vehicle_class=vehicle_class).first()
    if existing is not None:
        return existing
    return LearnerPermit.objects.create(
        number=_number("XJ", person.pk, vehicle_class), person=person, school=school, vehicle_class=vehicle_class,
        kind=rules.PermitKind.FIRST.value, division="411702", test_division="411702",
        enrolled_on=(issued or today) - timedelta(days=20), issued_on=issued,
        valid_until=rules.permit_valid_until(issued) if issued else None,
        state=LearnerPermit.State.LEARNING if issued else LearnerPermit.State.ENROLLED,
        school_consent_at=timezone.now() if consent else None,
    )  # fmt: skip


def _past_plan(centre: ExamCentre, *, subject: int, on: date, places: int, officer: User) -> ExamPlan:
    """A plan examined in the past, as it stands in the tables once allocated (first come)."""
    opened = _aware(on - timedelta(days=14))
    return ExamPlan.objects.create(
        centre=centre, division=centre.division, subject=subject, vehicle_class="C1", exam_date=on,
        starts_at=time(8, 30), places=places, taken=0, method=ExamPlan.Method.FIRST_COME,
        window_opens_at=opened, window_closes_at=opened + timedelta(days=7), cancel_until=_aware(on - timedelta(days=1), 17),
        state=ExamPlan.State.ALLOCATED, published_at=opened, allocated_at=opened + timedelta(days=7), created_by=officer,
    )  # fmt: skip


def _booked(
    plan: ExamPlan, permit: LearnerPermit, *, state: str = "allocated", ended: bool = False
) -> ExamApplication:
    application = ExamApplication.objects.create(
        number=_number("KS", plan.pk, permit.pk), plan=plan, permit=permit, person_id=permit.person_id,
        subject=plan.subject, state=state, eligible_on=plan.exam_date - timedelta(days=20),
        applied_by=None, decided_at=plan.window_closes_at, ended_on=plan.exam_date if ended else None,
    )  # fmt: skip
    if state in ExamApplication.USED_STATES:
        ExamPlan.objects.filter(pk=plan.pk).update(taken=plan.taken + 1)
        plan.taken += 1
    return application


def _passed_before(
    permit: LearnerPermit,
    centre: ExamCentre,
    subject: int,
    on: date,
    officer: User,
    plans: dict[Any, ExamPlan],
) -> None:
    """A subject passed in the past: its plan (one a centre, subject and day), booking and result
    as the centre reported them."""
    key = (centre.pk, subject, on)
    if key not in plans:
        plans[key] = _past_plan(centre, subject=subject, on=on, places=40, officer=officer)
        ExamPlan.objects.filter(pk=plans[key].pk).update(state=ExamPlan.State.FINISHED)
    application = _booked(plans[key], permit, state="passed", ended=True)
    ExamResult.objects.create(
        application=application,
        attempt=1,
        outcome="passed",
        score=95,
        examiner=f"K01{subject:02d}",
        taken_on=on,
    )


def ensure_demo_exams(*, today: date, password: str, citizen_username: str = "") -> list[dict[str, str]]:
    """Make the demo driving tests once; returns the demo login to print (the driving school),
    the same row on every start."""
    clerk = User.objects.filter(username="clerk").first()
    citizen = User.objects.filter(username=citizen_username).select_related("person").first()
    if clerk is None or citizen is None or citizen.person is None:
        return []
    officer = _officer(password)
    # Learners are persons with no login, those without a licence first (a first licence).
    free = Person.objects.filter(account__isnull=True, id_type="resident_id").exclude(pk=citizen.person.pk)
    learners = list(free.filter(licence__isnull=True).order_by("pk")[: LEARNERS + 1])
    learners += list(free.filter(licence__isnull=False).order_by("pk")[: LEARNERS + 1 - len(learners)])
    if len(learners) < LEARNERS + 1:
        return []
    school, school_user = _school(clerk, password, learners[0])
    first = ExamCentre.objects.filter(organisation__uscc=make_uscc(DEMO_CENTRES[0][0])).first()
    if first is None:
        with transaction.atomic():
            _make(
                today=today,
                clerk=clerk,
                officer=officer,
                school=school,
                citizen=citizen.person,
                learners=learners[1:],
            )
    # The exam officer's login is one of the staff logins (demo/generate.py), printed once.
    return [
        {"role": "driving_school", "username": school_user.username, "password": password,
         "note_zh": f"单位用户：{school.name}（驾驶培训机构），为同意的学员预约考试",
         "note_en": f"Organisation user: {school.name} (driving school); applies for exams for learners who consented"},
    ]  # fmt: skip


def _make(
    *, today: date, clerk: User, officer: User, school: Organisation, citizen: Person, learners: list[Person]
) -> None:
    now = timezone.now()
    centres = []
    for body, name, division, address, phone, subjects, classes in DEMO_CENTRES:
        centres.append(
            services.centre_register(
                actor=clerk,
                data=services.CentreInput(
                    uscc=make_uscc(body),
                    name=name,
                    division=division,
                    address=address,
                    subjects=subjects,
                    vehicle_classes=classes,
                    phone=phone,
                ),
            )
        )
    main, west = centres

    plans: dict[Any, ExamPlan] = {}
    # The main demo citizen: subject 1 passed 41 days ago, permit since, the school may apply.
    issued = today - timedelta(days=40)
    mine = _permit(citizen, school, issued=issued, today=today)
    _passed_before(mine, main, 1, issued - timedelta(days=1), officer, plans)

    # Learners 0-3 wait in the open lottery plan, 4-9 applied to the allocated plan, 10-13 were
    # examined last week, 14 passes the last subject, 15 is enrolled with subject 1 to come.
    permits = [
        _permit(p, school, issued=today - timedelta(days=60 + 10 * (i // 4)), today=today)
        for i, p in enumerate(learners[:15])
    ]
    _permit(learners[15], school, issued=None, today=today)
    for p in permits:
        assert p.issued_on is not None
        _passed_before(p, main, 1, p.issued_on - timedelta(days=1), officer, plans)

    # Ten of them were enrolled in Zhengzhou and moved here by the school this week: what the
    # monitoring page flags (one school moving many learners, transfers from one place; X6).
    for i, p in enumerate(permits[:10]):
        TestLocationChange.objects.create(
            permit=p, school=school, from_division="410102", to_division="411702",
            changed_at=now - timedelta(days=3, hours=-5 * i), changed_by=officer,
        )  # fmt: skip
    LearnerPermit.objects.filter(pk__in=[p.pk for p in permits[:10]]).update(
        division="410102", location_changes=1
    )

    def plan(
        centre: ExamCentre, *, days: int, opened: timedelta, closes: timedelta, method: str, places: int
    ) -> ExamPlan:
        made = services.plan_create(
            actor=officer,
            data=services.PlanInput(
                centre_id=centre.pk, subject=2, vehicle_class="C1", exam_date=today + timedelta(days=days),
                starts_at=time(8, 30), places=places, window_opens_at=now - opened, window_closes_at=now + closes,
                method=method,
            ),
            now=now,
        )  # fmt: skip
        return services.plan_publish(actor=officer, plan_id=made.pk)

    # Open now: a lottery plan (four have applied) and a first-come plan with places left.
    lottery = plan(
        main, days=12, opened=timedelta(days=1), closes=timedelta(days=3), method="lottery", places=30
    )
    for p in permits[:4]:
        _apply(lottery, p, school)
    plan(west, days=9, opened=timedelta(hours=6), closes=timedelta(days=2), method="first_come", places=20)

    # Allocated: six applied for four places; the window closed yesterday; the proof is public.
    allocated = plan(
        main, days=3, opened=timedelta(days=5), closes=-timedelta(days=1), method="lottery", places=4
    )
    for p in permits[4:10]:
        _apply(allocated, p, school)
    services.plan_allocate(plan_id=allocated.pk, now=now)

    # Examined last week, subject 3: a pass, a fail after the retake, a retake passed and a miss;
    # and subject 4 of a learner who passed the rest, who is licensed.
    done = today - timedelta(days=7)
    finished = _past_plan(main, subject=3, on=done, places=10, officer=officer)
    road = []
    for p in permits[10:14]:
        _passed_before(p, main, 2, done - timedelta(days=25), officer, plans)
        road.append(_booked(finished, p))

    def result(application: ExamApplication, **kw: Any) -> None:
        services.result_record(
            actor=officer, data=services.ResultInput(application.number, taken_on=done, **kw), today=today
        )

    result(road[0], score=92, examiner="K0102")
    result(road[1], score=70, examiner="K0102")
    result(road[1], score=78, examiner="K0103")
    result(road[2], score=80, examiner="K0103")
    result(road[2], score=95, examiner="K0103")
    result(road[3], outcome="missed")

    licensed = permits[14]
    for subject in (2, 3):
        _passed_before(licensed, west, subject, done - timedelta(days=30 - subject), officer, plans)
    safety = _past_plan(west, subject=4, on=done, places=5, officer=officer)
    result(_booked(safety, licensed), score=96, examiner="K0201")
    ExamPlan.objects.filter(pk__in=[finished.pk, safety.pk]).update(state=ExamPlan.State.FINISHED)


def _apply(plan: ExamPlan, permit: LearnerPermit, school: Organisation) -> ExamApplication:
    """A school's application for a consenting learner, as the service stores it (the window of
    the allocated plan is already closed, so the row is written as it was then)."""
    return ExamApplication.objects.create(
        number=_number("KS", plan.pk, permit.pk), plan=plan, permit=permit, person_id=permit.person_id,
        subject=plan.subject, state=ExamApplication.State.APPLIED, school=school, consent_at=permit.school_consent_at,
        eligible_on=permit.issued_on + timedelta(days=10) if permit.issued_on else None,
        client_key=services.client_key_of(f"demo-school-{school.pk}"),
    )  # fmt: skip
