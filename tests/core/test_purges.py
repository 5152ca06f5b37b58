"""Scheduled purges of short-lived tables (issue 12, part 5): rows just inside their retention stay,
rows past it go, unsent outbox messages never go, deletes run in batches, one failing purge does
not stop the others, and ``jiaoguan purge --dry-run`` deletes nothing."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from jiaoguan.accidents.models import QueryAttempt
from jiaoguan.accidents.services import query_attempts_purge
from jiaoguan.accounts.models import ApiToken, PasswordSetupLink, SmsCode, User
from jiaoguan.accounts.services import api_tokens_purge, password_links_purge, sms_codes_purge
from jiaoguan.core import purges
from jiaoguan.core.idempotency import idempotency_records_purge
from jiaoguan.core.models import IdempotencyRecord, OutboxMessage
from jiaoguan.core.outbox import MAX_ATTEMPTS, outbox_messages_purge
from jiaoguan.core.tasks import purges_run_task
from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.integrations.sms import fake_sms_purge

pytestmark = pytest.mark.django_db

NOW = timezone.now()
MINUTE = timedelta(minutes=1)
WEEK = timedelta(days=7)


def outbox(n: int, *, sent_at=None, attempts: int = 1) -> OutboxMessage:
    return OutboxMessage.objects.create(
        topic="test.purge", payload={}, dedup_key=f"purge-{n}", sent_at=sent_at, attempts=attempts
    )


@pytest.fixture
def user(make_person, citizen) -> User:
    return citizen(make_person())


def test_sent_outbox_messages_go_after_a_week_and_unsent_ones_never(settings):
    settings.PURGE_OUTBOX_SENT_DAYS = 7
    inside = outbox(1, sent_at=NOW - WEEK + MINUTE)
    outbox(2, sent_at=NOW - WEEK - MINUTE)  # past the week
    waiting = outbox(3)  # being retried
    given_up = outbox(4, attempts=MAX_ATTEMPTS)
    OutboxMessage.objects.filter(pk__in=[waiting.pk, given_up.pk]).update(created_at=NOW - 100 * WEEK)

    assert outbox_messages_purge(now=NOW) == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {inside.pk, waiting.pk, given_up.pk}
    # A shorter retention from the environment is honoured.
    settings.PURGE_OUTBOX_SENT_DAYS = 1
    assert outbox_messages_purge(now=NOW) == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {waiting.pk, given_up.pk}


def test_idempotency_answers_go_after_a_day(settings):
    settings.PURGE_IDEMPOTENCY_HOURS = 24
    for key, age in (("inside", timedelta(hours=23, minutes=59)), ("past", timedelta(hours=24, minutes=1))):
        record = IdempotencyRecord.objects.create(scope="test", owner="u1", key=key, request_hash="x")
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=NOW - age)
    assert idempotency_records_purge(now=NOW) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["inside"]


def test_api_tokens_go_a_week_after_expiry_or_revocation(settings, user):
    settings.PURGE_API_TOKEN_DAYS = 7

    def token(name: str, *, expires_at, revoked_at=None) -> ApiToken:
        return ApiToken.objects.create(
            user=user, token_hash=name, expires_at=expires_at, revoked_at=revoked_at
        )

    token("live", expires_at=NOW + WEEK)
    token("expired-inside", expires_at=NOW - WEEK + MINUTE)
    token("expired-past", expires_at=NOW - WEEK - MINUTE)
    token("revoked-inside", expires_at=NOW + WEEK, revoked_at=NOW - WEEK + MINUTE)
    token("revoked-past", expires_at=NOW + WEEK, revoked_at=NOW - WEEK - MINUTE)

    assert api_tokens_purge(now=NOW, dry_run=True) == 2
    assert ApiToken.objects.count() == 5
    assert api_tokens_purge(now=NOW) == 2
    assert sorted(ApiToken.objects.values_list("token_hash", flat=True)) == [
        "expired-inside",
        "live",
        "revoked-inside",
    ]


def test_sms_codes_go_a_week_after_sending_and_never_within_the_quota_day(settings):
    settings.PURGE_SMS_CODE_DAYS = 7
    for n, age in enumerate((WEEK - MINUTE, WEEK + MINUTE)):
        SmsCode.objects.create(
            mobile="13800000000", purpose=SmsCode.Purpose.REGISTER, code_hash=str(n),
            created_at=NOW - age, expires_at=NOW - age + timedelta(minutes=5),
        )  # fmt: skip
    assert sms_codes_purge(now=NOW) == 1
    assert list(SmsCode.objects.values_list("code_hash", flat=True)) == ["0"]
    # Even a retention of 0 days keeps the day the per-number quota counts.
    settings.PURGE_SMS_CODE_DAYS = 0
    SmsCode.objects.filter(code_hash="0").update(created_at=NOW - timedelta(hours=23))
    assert sms_codes_purge(now=NOW) == 0


def test_password_links_go_a_week_after_expiry_or_use(settings, user):
    settings.PURGE_PASSWORD_LINK_DAYS = 7

    def link(name: str, *, sent, used_at=None) -> None:
        PasswordSetupLink.objects.create(
            user=user,
            token_hash=name,
            created_at=sent,
            expires_at=sent + timedelta(hours=24),
            used_at=used_at,
        )

    link("open", sent=NOW - timedelta(hours=1))
    link("expired-inside", sent=NOW - WEEK - timedelta(hours=24) + MINUTE)
    link("expired-past", sent=NOW - WEEK - timedelta(hours=24) - MINUTE)
    link("used-past", sent=NOW - WEEK - timedelta(hours=2), used_at=NOW - WEEK - MINUTE)
    assert password_links_purge(now=NOW) == 2
    assert sorted(PasswordSetupLink.objects.values_list("token_hash", flat=True)) == [
        "expired-inside",
        "open",
    ]


def test_failed_accident_queries_are_kept_six_months(settings):
    settings.PURGE_QUERY_ATTEMPT_DAYS = 184
    for client, age in (("inside", timedelta(days=184) - MINUTE), ("past", timedelta(days=184) + MINUTE)):
        QueryAttempt.objects.create(number="411700-1", client=client, at=NOW - age)
    assert query_attempts_purge(now=NOW) == 1
    assert list(QueryAttempt.objects.values_list("client", flat=True)) == ["inside"]


def test_fake_sms_inbox_keeps_a_week(settings):
    settings.PURGE_FAKE_SMS_DAYS = 7
    for n, age in enumerate((WEEK - MINUTE, WEEK + MINUTE)):
        message = FakeSmsMessage.objects.create(mobile="13800000000", text="t", gateway_message_id=str(n))
        FakeSmsMessage.objects.filter(pk=message.pk).update(received_at=NOW - age)
    assert fake_sms_purge(now=NOW) == 1
    assert list(FakeSmsMessage.objects.values_list("gateway_message_id", flat=True)) == ["0"]


def test_expired_sessions_go_with_the_database_engine_and_other_engines_clear_themselves(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    Session.objects.create(session_key="a" * 32, session_data="", expire_date=NOW - MINUTE)
    Session.objects.create(session_key="b" * 32, session_data="", expire_date=NOW + MINUTE)
    assert purges.sessions_purge(now=NOW) == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]

    # Cache sessions (Redis in production) expire by themselves: nothing to count, nothing fails.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    assert purges.sessions_purge(now=NOW + WEEK) == 0


def test_finished_task_results_go_and_waiting_ones_stay(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.PURGE_TASK_RESULTS_DAYS = 14
    for _ in range(4):
        purges_run_task.enqueue()
    rows = list(DBTaskResult.objects.values_list("pk", flat=True))
    DBTaskResult.objects.filter(pk__in=rows[:1]).update(  # finished inside the retention
        status=TaskResultStatus.SUCCESSFUL, finished_at=NOW - timedelta(days=14) + MINUTE
    )
    DBTaskResult.objects.filter(pk__in=rows[1:3]).update(
        status=TaskResultStatus.FAILED, finished_at=NOW - timedelta(days=14) - MINUTE
    )
    DBTaskResult.objects.filter(pk__in=rows[3:]).update(run_after=NOW - 100 * WEEK)  # still waiting
    assert purges.task_results_purge(now=NOW) == 2
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {rows[0], rows[3]}


def test_a_purge_deletes_in_batches_each_its_own_statement():
    for n in range(5):
        outbox(n, sent_at=NOW - 2 * WEEK)
    with CaptureQueriesContext(connection) as queries:
        assert outbox_messages_purge(now=NOW, batch=2) == 5
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert not OutboxMessage.objects.exists()
    with pytest.raises(ValueError):
        outbox_messages_purge(now=NOW, batch=0)


def test_batches_walk_past_the_rows_that_stay():
    # Unsent messages between the old sent ones: every batch of 2 still finds the next rows to go.
    for n in range(10):
        outbox(n, sent_at=None if n % 2 else NOW - 2 * WEEK)
    assert outbox_messages_purge(now=NOW, batch=2) == 5
    assert list(OutboxMessage.objects.values_list("dedup_key", flat=True)) == [
        f"purge-{n}" for n in (1, 3, 5, 7, 9)
    ]


@pytest.fixture
def failing_purge(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("table is locked")

    monkeypatch.setitem(purges._PURGES, "aaa_broken", broken)  # sorts first: runs before the others
    return broken


def test_one_failing_purge_does_not_stop_the_others(failing_purge, caplog):
    outbox(1, sent_at=NOW - 2 * WEEK)
    with caplog.at_level(logging.INFO, logger="jiaoguan.purge"):
        results = purges.run_purges(NOW)
    assert results["aaa_broken"] is None
    assert results["core_outboxmessage"] == 1
    assert {
        "accounts_apitoken", "core_idempotencyrecord", "credentials_onlinenonce", "django_session",
        "accidents_queryattempt",
    } <= results.keys()  # fmt: skip
    assert not OutboxMessage.objects.exists()
    failed = [r for r in caplog.records if r.getMessage() == "purge aaa_broken failed"]
    assert failed and failed[0].exc_info is not None
    assert "purge core_outboxmessage: 1 rows" in caplog.messages


def test_the_daily_task_runs_every_purge():
    outbox(1, sent_at=NOW - 2 * WEEK)
    result = purges_run_task.enqueue()  # the immediate backend of the tests runs it at once
    assert result.return_value["core_outboxmessage"] == 1
    assert set(result.return_value) == set(purges.registered_purges())


def test_the_command_dry_run_counts_and_deletes_nothing():
    outbox(1, sent_at=NOW - 2 * WEEK)
    out = StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert "core_outboxmessage\twould delete 1" in out.getvalue().splitlines()
    assert OutboxMessage.objects.count() == 1

    out = StringIO()
    call_command("purge", "--table", "core_outboxmessage", stdout=out)
    assert out.getvalue().splitlines() == ["core_outboxmessage\tdeleted 1"]
    assert not OutboxMessage.objects.exists()

    with pytest.raises(CommandError, match="no purge named"):
        call_command("purge", "--table", "no_such_table", stdout=StringIO())


def test_the_command_reports_a_failed_purge_after_running_the_rest(failing_purge):
    outbox(1, sent_at=NOW - 2 * WEEK)
    out = StringIO()
    with pytest.raises(CommandError, match="aaa_broken"):
        call_command("purge", stdout=out)
    lines = out.getvalue().splitlines()
    assert "aaa_broken\tfailed" in lines and "core_outboxmessage\tdeleted 1" in lines
    assert not OutboxMessage.objects.exists()
