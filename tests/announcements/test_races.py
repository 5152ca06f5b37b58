"""Announcement numbers under concurrency (PostgreSQL): approved announcements of one division
published at the same moment, each in its own thread and connection, get distinct consecutive
numbers, including the very first publication of a year, when the sequence row does not exist
yet. The sequence row's lock (and the unique constraint behind it) decides the order."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from jiaoguan.announcements import services
from jiaoguan.announcements.models import Announcement, AnnouncementSequence

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

PUBLISHERS = 6


def test_simultaneous_publications_get_distinct_numbers(clerk, head, suspended_licence, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("the number race is exercised on PostgreSQL (row-level concurrency)")
    suspended_licence()
    today = timezone.localdate()
    ids = []
    for _ in range(PUBLISHERS):
        a = services.announcement_draft_generate(actor=clerk, code="G18", today=today)
        services.announcement_submit(actor=clerk, announcement_id=a.pk)
        services.announcement_approve(actor=head, announcement_id=a.pk)
        ids.append(a.pk)
    assert not AnnouncementSequence.objects.exists()  # the first publication of the year creates it

    results = run_together(*[
        (lambda pk=pk: services.announcement_publish(actor=clerk, announcement_id=pk)) for pk in ids
    ])  # fmt: skip

    assert all(isinstance(r, Announcement) for r in results), results
    numbers = sorted(Announcement.objects.filter(pk__in=ids).values_list("sequence", flat=True))
    assert numbers == list(range(1, PUBLISHERS + 1))
    assert AnnouncementSequence.objects.get(division="411700", year=today.year).last == PUBLISHERS
    assert len(set(Announcement.objects.filter(pk__in=ids).values_list("number", flat=True))) == PUBLISHERS


def test_two_publishes_of_one_announcement_publish_it_once(clerk, head, suspended_licence, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("the number race is exercised on PostgreSQL (row-level concurrency)")
    suspended_licence()
    a = services.announcement_draft_generate(actor=clerk, code="G18", today=timezone.localdate())
    services.announcement_submit(actor=clerk, announcement_id=a.pk)
    services.announcement_approve(actor=head, announcement_id=a.pk)

    results = run_together(
        lambda: services.announcement_publish(actor=clerk, announcement_id=a.pk),
        lambda: services.announcement_publish(actor=head, announcement_id=a.pk),
    )

    assert sorted(type(r).__name__ for r in results) == ["Announcement", "Conflict"]
    assert AnnouncementSequence.objects.get().last == 1  # the loser used no number
