"""Fixtures of the insurance check tests (issue 14, O7)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from django.utils import timezone


@pytest.fixture
def failure(db):
    """Store a failed check as if it had been made at ``at`` (Beijing time, a datetime or a date)."""
    from jiaoguan.insurance.models import InsuranceCheckFailure

    counter = {"n": 0}

    def make(
        *,
        at: datetime | date,
        insurer_name: str = "中国人民财产保险股份有限公司驻马店市分公司",
        division: str = "411702",
        missing: str = "compulsory_insurance",
        vin: str | None = None,
        plate_number: str = "",
        purpose: str = "inspection",
    ) -> InsuranceCheckFailure:
        from jiaoguan.core.identifiers import make_vin

        counter["n"] += 1
        if not isinstance(at, datetime):
            at = datetime.combine(at, time(10, 30))
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        row = InsuranceCheckFailure.objects.create(
            vin=vin or make_vin(f"LFVBA24B0D{counter['n']:06d}1"),
            plate_number=plate_number or f"豫Q8{counter['n']:04d}",
            purpose=purpose,
            missing=missing,
            checked_for=timezone.localtime(at).date(),
            insurer_name=insurer_name,
            policy_number="PDZA202641170000000001" if insurer_name else "",
            division=division,
            requested_by="test",
        )
        # checked_at is stamped on insert; move it to the moment the test needs.
        InsuranceCheckFailure.objects.filter(pk=row.pk).update(checked_at=at)
        row.refresh_from_db()
        return row

    return make


@pytest.fixture
def api_as(db):
    """A test client carrying a bearer token of ``user``."""
    from datetime import timedelta

    from django.test import Client

    from jiaoguan.accounts.models import ApiToken
    from jiaoguan.accounts.services import _token_hash

    def make(user) -> Client:
        raw = f"insurance-test-{user.pk}"
        ApiToken.objects.get_or_create(
            token_hash=_token_hash(raw),
            defaults={"user": user, "expires_at": timezone.now() + timedelta(hours=1)},
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Logins are made in most tests here; Argon2 would spend most of their time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
