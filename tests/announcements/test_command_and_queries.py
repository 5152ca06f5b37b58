"""The daily regeneration (command and worker entry) and the query counts of the public lists."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from jiaoguan.announcements.models import Publication
from jiaoguan.worker import SCHEDULE

pytestmark = pytest.mark.django_db


def test_the_command_regenerates_and_says_what_changed():
    out = StringIO()
    call_command("publications_regenerate", "--date", "2026-11-30", stdout=out)
    assert "13 created" in out.getvalue()
    call_command("publications_regenerate", "--date", "2026-11-30", stdout=out)
    assert "13 unchanged" in out.getvalue()
    assert set(Publication.objects.values_list("period", flat=True)) == {"2026-11"}


def test_the_worker_regenerates_daily():
    (entry,) = [p for p in SCHEDULE if p.name == "announcements.publications"]
    assert entry.every_seconds is None  # DAILY


def test_public_lists_ask_a_fixed_number_of_queries(
    published, suspended_licence, django_assert_max_num_queries
):
    suspended_licence()
    for _ in range(5):
        published()
    client = Client()
    with django_assert_max_num_queries(4):
        assert client.get("/notices/").status_code == 200
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/v1/notices").json()["items"]) == 5
    with django_assert_max_num_queries(4):
        assert client.get("/notices/feed.rss").status_code == 200
