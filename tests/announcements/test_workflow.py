"""An announcement's draft → approval → publication → withdrawal with access checks (issue 15, N3)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jiaoguan.announcements import services
from jiaoguan.announcements.models import Announcement
from jiaoguan.core.errors import Conflict, NotAllowed, Unauthenticated, ValidationFailed
from jiaoguan.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_draft_approval_publication_and_withdrawal(clerk, head, suspended_licence):
    # Given a licence suspended after a full score in the clerk's jurisdiction
    suspended_licence(name="张三丰")
    today = timezone.localdate()

    # When the clerk draws G18, submits it, a head of unit approves and the clerk publishes
    a = services.announcement_draft_generate(actor=clerk, code="G18", today=today)
    assert a.state == "draft" and a.item_count == 1 and a.division == "411700"
    item = a.items.get()
    assert item.name_masked == "张**" and item.licence_number_masked.startswith("411")
    assert "*" in item.licence_number_masked and item.name_key and "张三丰" not in str(vars(item))
    services.announcement_edit(
        actor=clerk, announcement_id=a.pk, title="关于驾驶证停止使用的公告", body="特此公告。"
    )
    services.announcement_submit(actor=clerk, announcement_id=a.pk)
    services.announcement_approve(actor=head, announcement_id=a.pk)
    a = services.announcement_publish(actor=clerk, announcement_id=a.pk)

    # Then it has the first number of the year and every step is audited
    assert a.state == "published" and a.sequence == 1
    assert a.number == f"驻公交告〔{today.year}〕第1号"
    rows = AuditEntry.objects.filter(subject_type="announcements.announcement", subject_id=str(a.pk))
    summaries = " ".join(rows.values_list("summary", flat=True))
    assert rows.filter(action="create").count() == 1
    for verb in ("edit", "submit", "approve", "publish"):
        assert f"announcement {verb}" in summaries, verb

    # And withdrawal needs a reason, then keeps it
    with pytest.raises(ValidationFailed) as refused:
        services.announcement_withdraw(actor=head, announcement_id=a.pk, reason=" ")
    assert refused.value.code == "announcements.reason_required"
    a = services.announcement_withdraw(actor=head, announcement_id=a.pk, reason="名单有误，重新核查")
    assert a.state == "withdrawn" and a.withdrawal_reason == "名单有误，重新核查"


def test_the_drafter_cannot_approve_their_own(head, other_head, suspended_licence):
    suspended_licence()
    a = services.announcement_draft_generate(actor=head, code="G18", today=timezone.localdate())
    services.announcement_submit(actor=head, announcement_id=a.pk)
    with pytest.raises(Conflict) as refused:
        services.announcement_approve(actor=head, announcement_id=a.pk)
    assert refused.value.code == "announcements.own_draft"
    assert services.announcement_approve(actor=other_head, announcement_id=a.pk).state == "approved"


def test_a_clerk_cannot_approve_or_withdraw(clerk, suspended_licence, published):
    suspended_licence()
    a = services.announcement_draft_generate(actor=clerk, code="G18", today=timezone.localdate())
    services.announcement_submit(actor=clerk, announcement_id=a.pk)
    with pytest.raises(NotAllowed):
        services.announcement_approve(actor=clerk, announcement_id=a.pk)
    done = published()
    with pytest.raises(NotAllowed):
        services.announcement_withdraw(actor=clerk, announcement_id=done.pk, reason="名单有误，重新核查")


def test_rejected_back_to_draft_with_a_reason(clerk, head, suspended_licence):
    suspended_licence()
    a = services.announcement_draft_generate(actor=clerk, code="G18", today=timezone.localdate())
    services.announcement_submit(actor=clerk, announcement_id=a.pk)
    with pytest.raises(ValidationFailed):
        services.announcement_reject(actor=head, announcement_id=a.pk, reason="")
    a = services.announcement_reject(actor=head, announcement_id=a.pk, reason="标题需注明地区")
    assert a.state == "draft" and a.rejection_reason == "标题需注明地区"
    # a draft cannot be published or approved before it is submitted again
    with pytest.raises(Conflict):
        services.announcement_publish(actor=clerk, announcement_id=a.pk)
    with pytest.raises(Conflict):
        services.announcement_approve(actor=head, announcement_id=a.pk)


def test_citizens_and_anonymous_cannot_draft(access_world, suspended_licence):
    suspended_licence()
    today = timezone.localdate()
    with pytest.raises(NotAllowed):
        services.announcement_draft_generate(
            actor=access_world.actor("citizen"), code="G18", today=today, division="411702"
        )
    with pytest.raises(Unauthenticated):
        services.announcement_draft_generate(actor=None, code="G18", today=today, division="411702")
    assert not Announcement.objects.exists()


def test_outside_the_jurisdiction_is_refused(clerk, make_staff, suspended_licence):
    suspended_licence(division="411602")
    today = timezone.localdate()
    with pytest.raises(NotAllowed) as refused:
        services.announcement_draft_generate(actor=clerk, code="G18", today=today, division="411602")
    assert refused.value.code == "access.outside_jurisdiction"
    zhoukou = make_staff(role="counter_clerk", jurisdiction="411600", username="zk-clerk")
    a = services.announcement_draft_generate(actor=zhoukou, code="G18", today=today)
    with pytest.raises(NotAllowed):
        services.announcement_submit(actor=clerk, announcement_id=a.pk)


def test_nothing_to_announce_and_unknown_kind(clerk):
    today = timezone.localdate()
    with pytest.raises(Conflict) as refused:
        services.announcement_draft_generate(actor=clerk, code="G18", today=today)
    assert refused.value.code == "announcements.nothing_to_announce"
    with pytest.raises(ValidationFailed):
        services.announcement_draft_generate(actor=clerk, code="G99", today=today)


def test_numbers_run_per_division_and_year(published, suspended_licence):
    suspended_licence()
    first, second = published(), published()
    assert (first.sequence, second.sequence) == (1, 2)
    assert second.number.endswith("第2号")


def test_staff_list_pages_with_a_cursor_and_keeps_to_the_jurisdiction(clerk, make_staff, suspended_licence):
    from django.test import Client

    suspended_licence()
    suspended_licence(division="411602")
    today = timezone.localdate()
    mine = [services.announcement_draft_generate(actor=clerk, code="G18", today=today).pk for _ in range(3)]
    zhoukou = make_staff(role="counter_clerk", jurisdiction="411600", username="zk-clerk-2")
    services.announcement_draft_generate(actor=zhoukou, code="G18", today=today)
    client = Client()
    client.force_login(clerk)
    first = client.get("/api/v1/announcements", {"limit": 2}).json()
    second = client.get("/api/v1/announcements", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [a["id"] for a in first["items"] + second["items"]] == mine[::-1]
    assert second["next_cursor"] is None
    page = client.get("/counter/announcements/")
    assert page.status_code == 200 and all(f'id="announcement-{pk}"' in page.content.decode() for pk in mine)
