"""The message centre (N1): my messages a page at a time, read state, categories, unread count in
the header and on the home page, SMS preferences; the same through the API."""

from __future__ import annotations

import pytest
from django.test import Client

from jiaoguan.notices.delivery import Draft, messages_create
from jiaoguan.notices.models import Message, SmsPreference

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _write(person=None, organisation=None, *, n=1, category="vehicles", start=0):
    messages_create(
        [
            Draft(
                category=category, title_zh=f"标题{i}", title_en=f"Title {i}", body_zh=f"内容{i}",
                body_en=f"Text {i}", dedup_key=f"t-{category}-{person.pk if person else organisation.pk}-{i}",
                person_id=person.pk if person else None, organisation_id=organisation.pk if organisation else None,
                link="/vehicles/", division="411702",
            )
            for i in range(start, start + n)
        ]
    )  # fmt: skip


def test_the_api_pages_through_my_messages_newest_first(make_person, citizen):
    me, other = make_person(), make_person(name="李四")
    user = citizen(me)
    _write(me, n=25)
    _write(other, n=3)
    client = Client()
    client.force_login(user)
    first = client.get("/api/v1/me/messages?limit=10").json()
    assert [m["title_zh"] for m in first["items"]][:2] == ["标题24", "标题23"]
    assert first["unread"] == 25 and first["next_cursor"]
    seen = [m["id"] for m in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/me/messages?limit=10&cursor={cursor}").json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 25
    assert client.get("/api/v1/me/messages?cursor=abc").status_code == 422
    assert client.get("/api/v1/me/messages?category=nonsense").json()["code"] == "notices.bad_category"


def test_reading_one_and_somebody_elses_is_not_found(make_person, citizen):
    me, other = make_person(), make_person(name="李四")
    user = citizen(me)
    _write(me, n=2)
    _write(other, n=1)
    mine = Message.objects.filter(person=me).first()
    theirs = Message.objects.get(person=other)
    client = Client()
    client.force_login(user)
    answer = client.post(f"/api/v1/me/messages/{mine.pk}/read")
    assert answer.status_code == 200 and answer.json()["read_at"]
    again = client.post(f"/api/v1/me/messages/{mine.pk}/read").json()
    assert again["read_at"] == answer.json()["read_at"]  # the first time stays
    assert client.post(f"/api/v1/me/messages/{theirs.pk}/read").status_code == 404
    assert client.get(f"/api/v1/me/messages/{theirs.pk}").status_code == 404
    assert client.get("/api/v1/me/messages?unread_only=true").json()["unread"] == 1


def test_an_organisations_users_share_its_messages(make_vehicle, organisation_user, make_person):
    user = organisation_user()
    _write(organisation=user.organisation, n=2)
    _write(make_person(), n=1)
    client = Client()
    client.force_login(user)
    found = client.get("/api/v1/me/messages").json()
    assert len(found["items"]) == 2


def test_the_page_shows_categories_unread_and_opens_the_link(make_person, citizen):
    me = make_person()
    user = citizen(me)
    _write(me, n=2, category="vehicles")
    _write(me, n=1, category="violations")
    client = Client()
    client.force_login(user)
    home = client.get("/").content.decode()
    assert 'id="nav-messages"' in home and '<span class="nav-badge"' in home and "3 条未读消息" in home
    page = client.get("/messages/?category=violations").content.decode()
    assert "内容0" in page and page.count('class="card vio-item') == 1
    message = Message.objects.filter(person=me, category="vehicles").first()
    opened = client.post(f"/messages/{message.pk}/open/", {"go": "1"})
    assert opened.status_code == 302 and opened["Location"] == "/vehicles/"
    assert Message.objects.get(pk=message.pk).read_at is not None
    client.post("/messages/read-all/", {"next": "/messages/"})
    assert Message.objects.filter(person=me, read_at__isnull=True).count() == 0
    assert '<span class="nav-badge"' not in client.get("/messages/").content.decode()


def test_sms_preferences_page_and_api(make_person, citizen):
    me = make_person()
    user = citizen(me)
    client = Client()
    client.force_login(user)
    rows = {r["category"]: r for r in client.get("/api/v1/me/message-preferences").json()}
    assert rows["vehicles"]["sms"] and rows["vehicles"]["required_notices_always_sent"]
    assert not rows["safety"]["sms"]
    answer = client.put(
        "/api/v1/me/message-preferences/payments", data={"sms": False}, content_type="application/json"
    )
    assert answer.status_code == 200
    assert SmsPreference.objects.get(user=user, category="payments").sms is False
    client.post("/messages/preferences/", {"sms": ["vehicles", "safety"]})
    chosen = dict(SmsPreference.objects.filter(user=user).values_list("category", "sms"))
    assert chosen["safety"] is True and chosen["licences"] is False
    bad = client.put(
        "/api/v1/me/message-preferences/nope", data={"sms": True}, content_type="application/json"
    )
    assert bad.status_code == 422


def test_staff_see_the_delivery_log_of_their_jurisdiction_masked(make_person, make_staff):
    inside = make_person(mobile="13912345678")
    _write(inside, n=1)
    Message.objects.update(division="411702")
    outside = make_person(name="周口人", mobile="13987654321")
    messages_create(
        [Draft(category="vehicles", title_zh="外地", title_en="x", body_zh="b", body_en="b", dedup_key="far",
               person_id=outside.pk, mobile="13987654321", division="411602")]
    )  # fmt: skip
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    client = Client()
    client.force_login(clerk)
    page = client.get("/counter/notices/deliveries/").content.decode()
    assert "标题0" in page and "外地" not in page
    assert "13912345678" not in page


@pytest.mark.django_db(transaction=True)
def test_kept_pages_change_with_a_new_message_and_a_read_one(
    make_person, citizen, settings, django_assert_num_queries
):
    """With the shared cache the first page is kept per owner; a new or read message renews it."""
    settings.PERSONAL_READ_CACHE_SECONDS = 300
    me = make_person()
    user = citizen(me)
    _write(me, n=2)
    client = Client()
    client.force_login(user)
    first = client.get("/api/v1/me/messages").json()
    assert len(first["items"]) == 2 and first["unread"] == 2
    with django_assert_num_queries(2):  # the session and its user; the messages none
        assert client.get("/api/v1/me/messages").json() == first
    _write(me, n=1, start=2)
    after_new = client.get("/api/v1/me/messages").json()
    assert len(after_new["items"]) == 3 and after_new["unread"] == 3
    client.post(f"/api/v1/me/messages/{after_new['items'][0]['id']}/read")
    after_read = client.get("/api/v1/me/messages").json()
    assert after_read["unread"] == 2 and after_read["items"][0]["read_at"]
