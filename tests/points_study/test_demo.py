"""The demo of the study to reduce points (V7) is made once and shows each case: a driver at 10
points who may study, an excluded driver with the reason, a driver in full-score education."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.points_study import selectors
from jiaoguan.points_study.demo import ensure_demo_points_study
from jiaoguan.points_study.models import FullScoreCase, StudySession

pytestmark = pytest.mark.django_db


def test_the_demo_is_idempotent_and_shows_each_case(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = timezone.localdate()
    logins = ensure_demo_points_study(today=today, password="Demo#2026x")
    again = ensure_demo_points_study(today=today, password="Demo#2026x")
    assert [row["username"] for row in logins] == [row["username"] for row in again]
    assert StudySession.objects.count() == 3 and FullScoreCase.objects.count() == 1
    by_role = {row["role"]: User.objects.get(username=row["username"]) for row in logins}
    studying = selectors.my_licence(actor=by_role["citizen_points"])
    excluded = selectors.my_licence(actor=by_role["citizen_points_excluded"])
    assert studying is not None and excluded is not None
    standing = selectors.standing(studying, today=today)
    assert standing.points_in_cycle == 10 and standing.eligible
    assert [r.code for r in selectors.standing(excluded, today=today).exclusions] == ["study.serious_offence"]
