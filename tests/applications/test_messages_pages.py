"""The applicant reads the messages about their applications (issue 13): on 我的申请, through the
API, and opening an application reads its messages."""

from __future__ import annotations

import pytest
from django.test import Client

from jiaoguan.applications.models import ApplicantMessage
from jiaoguan.core.outbox import outbox_dispatch

from .conftest import PICKUP

pytestmark = pytest.mark.django_db


def _deliver() -> None:
    while outbox_dispatch():
        pass


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_messages_show_on_my_applications_and_opening_the_application_reads_them(driver, submit):
    user, licence = driver()
    app = submit(user, licence, code="B11", delivery=PICKUP)
    _deliver()
    client = _client(user)
    html = client.get("/applications/").content.decode()
    assert 'id="inbox"' in html and "未读" in html and app.number in html
    assert client.get(f"/applications/{app.pk}/").status_code == 200
    assert not ApplicantMessage.objects.filter(user=user, read_at__isnull=True).exists()
    # The inbox of the page has nothing unread; the message centre's copy is read from the centre.
    assert 'class="unread"' not in client.get("/applications/").content.decode()


def test_the_messages_api_lists_marks_read_and_hides_others(driver, submit):
    user, licence = driver()
    app = submit(user, licence, code="B11", delivery=PICKUP)
    other, other_licence = driver(name="李强", mobile="13800138003")
    submit(other, other_licence, code="B11", delivery=PICKUP)
    _deliver()
    client = _client(user)
    listed = client.get("/api/v1/me/application-messages?unread_only=true").json()
    assert [m["application_id"] for m in listed] == [app.pk] and listed[0]["read_at"] is None
    assert app.number in listed[0]["text_zh"] and app.number in listed[0]["text_en"]
    read = client.post(f"/api/v1/me/application-messages/{listed[0]['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"]
    assert client.post(f"/api/v1/me/application-messages/{listed[0]['id']}/read").status_code == 200
    assert client.get("/api/v1/me/application-messages?unread_only=true").json() == []
    theirs = ApplicantMessage.objects.get(user=other)
    assert client.post(f"/api/v1/me/application-messages/{theirs.pk}/read").status_code == 404
    assert client.post(f"/api/v1/me/application-messages/{10**20}/read").status_code in (404, 422)
