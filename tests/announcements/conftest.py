"""Fixtures of the announcement tests (N3): staff of Zhumadian (411700) in the roles that draft,
approve and publish, and a published-announcement factory made through the services."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from jiaoguan.announcements import services


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="a-clerk")


@pytest.fixture
def head(make_staff):
    return make_staff(role="unit_head", jurisdiction="411700", username="a-head")


@pytest.fixture
def other_head(make_staff):
    return make_staff(role="unit_head", jurisdiction="411700", username="a-head-2")


@pytest.fixture
def suspended_licence(make_person, make_licence):
    """A licence suspended after a full score without study (status J): announcement G18."""

    def make(*, name: str = "张三丰", division: str = "411702"):
        person = make_person(name=name, area=division)
        return make_licence(holder=person, division=division, status="AJ", valid_from=date(2021, 3, 5))

    return make


@pytest.fixture
def published(clerk, head):
    """Draft, submit, approve and publish announcement ``code`` of ``division``; the record."""

    def make(code: str = "G18", division: str = "411700"):
        today = timezone.localdate()
        a = services.announcement_draft_generate(actor=clerk, code=code, today=today, division=division)
        services.announcement_submit(actor=clerk, announcement_id=a.pk)
        services.announcement_approve(actor=head, announcement_id=a.pk)
        return services.announcement_publish(actor=clerk, announcement_id=a.pk)

    return make
