"""Application services and selectors (issue 13) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jiaoguan.applications import selectors, services
from jiaoguan.applications.deadlines import accept_due
from jiaoguan.applications.models import Application, ApplicationEvent
from jiaoguan.applications.rules import State
from jiaoguan.applications.services import DeliveryInput
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.models import AuditEntry, OutboxMessage
from jiaoguan.registry.rules import add_years

POST = DeliveryInput(
    method="post", recipient_name="张伟", recipient_phone="13800138000", address_division="411702",
    address_line="驻马店市驿城区解放路1号",
)  # fmt: skip
PICKUP = DeliveryInput(method="pickup")


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    # Every test makes logins; the password hash is not what is tested.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def driver(make_person, make_licence, citizen):
    """A counter-registered citizen with a C1 licence of the Zhumadian DMV: (user, licence).

    The licence's 10 years end in 30 days and a recent certificate is on file, so renewal
    (B8) is open today (S1 art. 62, 74).
    """
    today = timezone.localdate()

    def make(*, name="张伟", mobile="13800138000", division="411702", level="counter"):
        person = make_person(name=name, mobile=mobile, area=division)
        valid_from = add_years(today + timedelta(days=30), -10)
        licence = make_licence(
            holder=person, division=division, first_issued_on=valid_from, valid_from=valid_from,
            last_medical_on=today - timedelta(days=10),
        )  # fmt: skip
        return citizen(person, level=level), licence

    return make


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-zhumadian")


def _submit(user, licence, *, code="B8", delivery=POST):
    return services.application_submit(
        actor=user, business_code=code, licence_id=licence.pk, delivery=delivery
    )


def _fee_paid(app):
    """Acceptance waits for the fee (issue 13); paying it through payments is tested in test_fees."""
    Application.objects.filter(pk=app.pk).update(fee_paid_at=timezone.now())
    return app


# ---------------------------------------------------------------- submission


@pytest.mark.django_db
def test_submit_records_the_application_its_event_and_the_outbox_message(driver):
    user, licence = driver()
    app = _submit(user, licence)
    assert app.state == State.SUBMITTED and app.division == "411702" and app.business_code == "B8"
    assert app.number.startswith("411702-") and app.fee_fen == 1000
    assert (app.accept_due_on, app.deadline_known) == accept_due(app.submitted_at)
    assert app.subject_person_id == user.person_id and app.licence_id == licence.pk
    assert app.delivery_method == "post" and app.address_line == POST.address_line
    event = ApplicationEvent.objects.get(application=app)
    assert (event.from_state, event.to_state, event.action, event.actor_id) == (
        "",
        "submitted",
        "submit",
        user.pk,
    )
    assert OutboxMessage.objects.filter(
        topic="applications.state_changed", payload__number=app.number
    ).exists()


@pytest.mark.django_db
def test_a_second_open_application_of_the_same_business_is_refused(driver):
    user, licence = driver()
    _submit(user, licence)
    with pytest.raises(Conflict) as refused:
        _submit(user, licence, delivery=PICKUP)
    assert refused.value.code == "applications.already_open"
    assert "期满换领驾驶证" in refused.value.message_zh
    assert Application.objects.count() == 1
    _submit(user, licence, code="B10")  # another business is another application


@pytest.mark.django_db
def test_after_withdrawal_the_business_may_be_applied_for_again(driver):
    user, licence = driver()
    first = _submit(user, licence)
    services.application_withdraw(actor=user, application_id=first.pk)
    second = _submit(user, licence)
    assert second.pk != first.pk and Application.objects.get(pk=first.pk).state == State.WITHDRAWN


@pytest.mark.django_db
def test_the_database_holds_one_open_application_when_the_service_is_bypassed(driver):
    user, licence = driver()
    app = _submit(user, licence)
    copy = {
        f.attname: getattr(app, f.attname)
        for f in Application._meta.concrete_fields
        if f.attname not in ("id", "number", "created_at")
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(number="411702-20261207-99999", **copy)
    # A closed one does not count.
    Application.objects.create(number="411702-20261207-99998", **{**copy, "state": State.WITHDRAWN})


@pytest.mark.django_db
def test_the_database_refuses_a_rejection_without_reason_and_an_unknown_state(driver):
    user, licence = driver()
    app = _submit(user, licence)
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=app.pk).update(state=State.REJECTED, reject_reason="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=app.pk).update(state="lost")


@pytest.mark.django_db
def test_online_registered_user_gets_the_true_remedy(driver):
    user, licence = driver(level="online")
    with pytest.raises(NotAllowed) as refused:
        _submit(user, licence)
    assert refused.value.code == "accounts.counter_registration_required"


@pytest.mark.django_db
def test_someone_elses_licence_is_not_found(driver):
    user, _ = driver()
    _, other_licence = driver(name="李强", mobile="13800138003")
    with pytest.raises(NotFound):
        _submit(user, other_licence)
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_bad_delivery_is_refused_with_nothing_saved(driver):
    user, licence = driver()
    with pytest.raises(ValidationFailed):
        _submit(user, licence, delivery=DeliveryInput())
    with pytest.raises(ValidationFailed):
        _submit(user, licence, delivery=DeliveryInput(method="post", recipient_name="张伟"))
    assert not Application.objects.exists()


# ---------------------------------------------------------------- visibility and jurisdiction


@pytest.mark.django_db
def test_someone_elses_application_is_invisible(driver):
    owner, licence = driver()
    other, _ = driver(name="李强", mobile="13800138003")
    app = _submit(owner, licence)
    with pytest.raises(NotFound):
        selectors.my_application(actor=other, application_id=app.pk)
    with pytest.raises(NotFound):
        services.application_withdraw(actor=other, application_id=app.pk)
    assert selectors.my_applications(actor=other).items == []
    assert selectors.my_application(actor=owner, application_id=app.pk) == app


@pytest.mark.django_db
def test_a_clerk_outside_the_jurisdiction_is_refused(driver, make_staff):
    user, licence = driver()
    app = _submit(user, licence)
    outsider = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou")
    with pytest.raises(NotFound):
        services.application_claim(actor=outsider, application_id=app.pk)
    with pytest.raises(NotFound):
        services.application_accept(actor=outsider, application_id=app.pk)
    assert selectors.staff_queue(actor=outsider, today=timezone.localdate()) == []
    officer = make_staff(role="violation_officer", jurisdiction="411700", username="officer")
    with pytest.raises(NotAllowed):
        services.application_accept(actor=officer, application_id=app.pk)
    assert Application.objects.get(pk=app.pk).state == State.SUBMITTED


@pytest.mark.django_db
def test_staff_may_not_apply_and_citizens_may_not_handle(driver, clerk):
    user, licence = driver()
    app = _submit(user, licence)
    with pytest.raises(NotAllowed):
        services.application_accept(actor=user, application_id=app.pk)
    with pytest.raises(NotAllowed):
        services.application_submit(actor=clerk, business_code="B8", licence_id=licence.pk, delivery=POST)


# ---------------------------------------------------------------- the whole way through


@pytest.mark.django_db
def test_posted_renewal_timeline_lists_every_state_with_actor_and_time(driver, clerk):
    user, licence = driver()
    app = _fee_paid(_submit(user, licence))
    services.application_claim(actor=clerk, application_id=app.pk)
    services.application_accept(actor=clerk, application_id=app.pk)
    services.application_start_production(actor=clerk, application_id=app.pk)
    services.application_post(actor=clerk, application_id=app.pk, waybill_number="ea123456785cn")
    done = services.application_complete(actor=clerk, application_id=app.pk)
    assert done.state == State.COMPLETED and done.waybill_number == "EA123456785CN"
    assert done.accepted_at and done.production_started_at and done.posted_at and done.completed_at
    steps = selectors.timeline(done)
    assert [(e.from_state, e.to_state) for e in steps] == [
        ("", "submitted"), ("submitted", "accepted"), ("accepted", "in_production"),
        ("in_production", "posted"), ("posted", "completed"),
    ]  # fmt: skip
    assert [e.actor_id for e in steps] == [user.pk] + [clerk.pk] * 4
    assert all(e.at is not None for e in steps)
    audited = list(
        AuditEntry.objects.filter(subject_id=str(app.pk)).order_by("pk").values_list("summary", flat=True)
    )
    assert [s.split()[0] for s in audited] == ["认领申请", "受理申请", "开始制证", "邮寄", "办结"]
    assert OutboxMessage.objects.filter(topic="applications.state_changed").count() == 5


@pytest.mark.django_db
def test_pickup_code_is_shown_once_stored_hashed_and_checked(driver, clerk):
    user, licence = driver()
    app = _fee_paid(_submit(user, licence, delivery=PICKUP))
    for step in (services.application_accept, services.application_start_production):
        step(actor=clerk, application_id=app.pk)
    with pytest.raises(Conflict):  # the applicant chose pickup
        services.application_post(actor=clerk, application_id=app.pk, waybill_number="EA123456785CN")
    app, code = services.application_ready_for_pickup(actor=clerk, application_id=app.pk)
    assert len(code) == 8 and code.isdigit() and code not in app.pickup_code_hash
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    with pytest.raises(ValidationFailed):
        services.application_hand_over(actor=clerk, application_id=app.pk, pickup_code=wrong)
    assert Application.objects.get(pk=app.pk).state == State.READY_FOR_PICKUP
    done = services.application_hand_over(actor=clerk, application_id=app.pk, pickup_code=code)
    assert done.state == State.COMPLETED


@pytest.mark.django_db
def test_return_once_supplement_then_reject_with_reason(driver, clerk):
    user, licence = driver()
    app = _submit(user, licence)
    due = timezone.localdate() + timedelta(days=5)
    with pytest.raises(ValidationFailed):
        services.application_return_for_supplement(
            actor=clerk, application_id=app.pk, reason="", supplement_due_on=due
        )
    returned = services.application_return_for_supplement(
        actor=clerk, application_id=app.pk, reason="照片不符合要求", supplement_due_on=due
    )
    assert returned.state == State.RETURNED and returned.supplement_due_on == due
    with pytest.raises(Conflict):  # waiting for the applicant, not the clerk
        services.application_accept(actor=clerk, application_id=app.pk)
    services.application_supplement(actor=user, application_id=app.pk, note="已重新上传照片")
    with pytest.raises(Conflict) as refused:
        services.application_return_for_supplement(
            actor=clerk, application_id=app.pk, reason="again", supplement_due_on=due
        )
    assert refused.value.code == "applications.returned_once"
    with pytest.raises(ValidationFailed):
        services.application_reject(actor=clerk, application_id=app.pk, reason="  ")
    rejected = services.application_reject(actor=clerk, application_id=app.pk, reason="驾驶证已注销")
    assert rejected.state == State.REJECTED and rejected.reject_reason == "驾驶证已注销"
    with pytest.raises(Conflict):  # final
        services.application_withdraw(actor=user, application_id=app.pk)


@pytest.mark.django_db
def test_a_deferral_completes_without_production(driver, clerk):
    user, licence = driver()
    until = (timezone.localdate() + timedelta(days=365)).isoformat()
    app = services.application_submit(
        actor=user,
        business_code="B12",
        licence_id=licence.pk,
        particulars={"reason": "abroad", "until": until},
    )
    assert app.delivery_method == "" and app.fee_fen == 0
    services.application_accept(actor=clerk, application_id=app.pk)
    with pytest.raises(Conflict):
        services.application_start_production(actor=clerk, application_id=app.pk)
    assert services.application_complete(actor=clerk, application_id=app.pk).state == State.COMPLETED


@pytest.mark.django_db
def test_late_supplement_is_refused_and_withdrawal_remains(driver, clerk):
    user, licence = driver()
    app = _submit(user, licence)
    due = timezone.localdate() + timedelta(days=3)
    services.application_return_for_supplement(
        actor=clerk, application_id=app.pk, reason="照片模糊", supplement_due_on=due
    )
    Application.objects.filter(pk=app.pk).update(supplement_due_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        services.application_supplement(actor=user, application_id=app.pk)
    assert refused.value.code == "applications.supplement_late"
    assert services.application_withdraw(actor=user, application_id=app.pk).state == State.WITHDRAWN


@pytest.mark.django_db
def test_a_retried_submission_with_the_same_idempotency_key_gets_the_first_answer(driver):
    """What the API will do: the retry of a submission that went through answers it again, not 409."""
    from jiaoguan.core.idempotency import idempotent_call

    user, licence = driver()
    body = {"business_code": "B8", "licence_id": licence.pk, "delivery_method": "pickup"}

    def call():
        app = services.application_submit(
            actor=user, business_code="B8", licence_id=licence.pk, delivery=PICKUP
        )
        return 201, {"id": app.pk, "number": app.number}

    first = idempotent_call(scope="applications", owner=f"user:{user.pk}", key="k-1", body=body, call=call)
    again = idempotent_call(scope="applications", owner=f"user:{user.pk}", key="k-1", body=body, call=call)
    assert first == again and first[0] == 201 and Application.objects.count() == 1
    status, answer = idempotent_call(
        scope="applications", owner=f"user:{user.pk}", key="k-2", body=body, call=call
    )
    assert status == 409 and answer["code"] == "applications.already_open"


@pytest.mark.django_db
def test_withdrawal_only_before_acceptance(driver, clerk):
    user, licence = driver()
    app = _fee_paid(_submit(user, licence))
    services.application_accept(actor=clerk, application_id=app.pk)
    with pytest.raises(Conflict):
        services.application_withdraw(actor=user, application_id=app.pk)


# ---------------------------------------------------------------- claims


@pytest.mark.django_db
def test_a_second_clerk_is_refused_naming_the_holder_until_the_claim_is_stale(driver, clerk, make_staff):
    user, licence = driver()
    app = _fee_paid(_submit(user, licence))
    other = make_staff(role="counter_clerk", jurisdiction="411702", username="clerk-yicheng")
    services.application_claim(actor=clerk, application_id=app.pk)
    with pytest.raises(Conflict) as refused:
        services.application_accept(actor=other, application_id=app.pk)
    assert refused.value.detail["claimed_by"] == "clerk-zhumadian"
    Application.objects.filter(pk=app.pk).update(claimed_at=timezone.now() - timedelta(minutes=31))
    taken = services.application_accept(actor=other, application_id=app.pk)
    assert taken.claimed_by_id == other.pk and taken.state == State.ACCEPTED


# ---------------------------------------------------------------- selectors


@pytest.mark.django_db
def test_my_applications_are_keyset_paged_newest_first(driver):
    user, licence = driver()
    made = [_submit(user, licence, code=code) for code in ("B8", "B10", "B11")]
    until = (timezone.localdate() + timedelta(days=365)).isoformat()
    made.append(
        services.application_submit(
            actor=user,
            business_code="B12",
            licence_id=licence.pk,
            particulars={"reason": "abroad", "until": until},
        )
    )
    seen, after = [], None
    while True:
        page = selectors.my_applications(actor=user, after=after, limit=2)
        seen += [a.pk for a in page.items]
        after = page.after
        if after is None:
            break
    assert seen == sorted((a.pk for a in made), reverse=True)


@pytest.mark.django_db
def test_the_queue_sorts_by_deadline_and_filters(driver, clerk):
    user, licence = driver()
    b8, b10, b11 = (_submit(user, licence, code=code) for code in ("B8", "B10", "B11"))
    today = timezone.localdate()
    Application.objects.filter(pk=b8.pk).update(accept_due_on=today - timedelta(days=1), deadline_known=True)
    Application.objects.filter(pk=b10.pk).update(accept_due_on=today + timedelta(days=1), deadline_known=True)
    queue = selectors.staff_queue(actor=clerk, today=today)
    assert [a.pk for a in queue] == [b8.pk, b10.pk, b11.pk]  # unknown deadline last
    assert selectors.is_overdue(queue[0], today=today) and not selectors.is_overdue(queue[1], today=today)
    assert [a.pk for a in selectors.staff_queue(actor=clerk, today=today, overdue=True)] == [b8.pk]
    assert [a.pk for a in selectors.staff_queue(actor=clerk, today=today, business="B11")] == [b11.pk]
    services.application_accept(actor=clerk, application_id=_fee_paid(b11).pk)
    assert [a.pk for a in selectors.staff_queue(actor=clerk, today=today, state="accepted")] == [b11.pk]
    with pytest.raises(ValidationFailed):
        selectors.staff_queue(actor=clerk, today=today, state="lost")


# ---------------------------------------------------------------- races (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_two_clerks_claiming_at_once_one_wins(driver, make_staff, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    user, licence = driver()
    app = _submit(user, licence)
    clerks = [
        make_staff(role="counter_clerk", jurisdiction="411700", username=f"clerk-{n}") for n in range(4)
    ]
    results = run_together(
        *[lambda c=c: services.application_claim(actor=c, application_id=app.pk) for c in clerks]
    )
    won = [r for r in results if isinstance(r, Application)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 3, results
    holder = Application.objects.select_related("claimed_by").get(pk=app.pk).claimed_by
    assert all(r.detail["claimed_by"] == holder.username for r in lost)


@pytest.mark.django_db(transaction=True)
def test_two_clerks_accepting_at_once_accept_once(driver, make_staff, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    user, licence = driver()
    app = _fee_paid(_submit(user, licence))
    clerks = [
        make_staff(role="counter_clerk", jurisdiction="411700", username=f"clerk-{n}") for n in range(3)
    ]
    results = run_together(
        *[lambda c=c: services.application_accept(actor=c, application_id=app.pk) for c in clerks]
    )
    assert sum(isinstance(r, Application) for r in results) == 1, results
    assert ApplicationEvent.objects.filter(application=app, action="accept").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_once_make_one_application(driver, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    user, licence = driver()
    results = run_together(*[lambda: _submit(user, licence)] * 4)
    assert sum(isinstance(r, Application) for r in results) == 1, results
    assert all(isinstance(r, (Application, Conflict)) for r in results), results
    assert Application.objects.count() == 1


@pytest.mark.django_db
def test_acceptance_is_due_one_working_day_after_receipt_on_the_official_calendar():
    """S1 on the calendar of core.workdays: an adjusted working Sunday counts; beyond the known
    calendar nothing is guessed."""
    shanghai = ZoneInfo("Asia/Shanghai")
    # Friday 2024-09-27 before the cut-off is the receipt day; Sunday 09-29 was worked (调休).
    assert accept_due(datetime(2024, 9, 27, 10, 0, tzinfo=shanghai)) == (date(2024, 9, 29), True)
    # Monday 2024-09-30 after the cut-off: received the next working day, which is 10-08.
    assert accept_due(datetime(2024, 9, 30, 18, 0, tzinfo=shanghai)) == (date(2024, 10, 9), True)


@pytest.mark.django_db
def test_a_deadline_beyond_the_known_calendar_is_flagged_not_guessed():
    assert accept_due(datetime(2099, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))) == (None, False)
