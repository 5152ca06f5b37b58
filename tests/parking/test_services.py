"""The parking services (O8): draft, publish (refused without emergency access), change, withdraw,
the jurisdiction, the version log, and the message to the district's residents."""

from __future__ import annotations

import pytest

from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.models import AuditEntry, OutboxMessage
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.notices.models import Message
from jiaoguan.parking import services
from jiaoguan.parking.models import Segment, SegmentChange

from .conftest import NIGHT, segment_data

pytestmark = pytest.mark.django_db


def test_publish_refused_without_emergency_access(head):
    """O8, seed 004 §五 一: parking must not block emergency vehicles."""
    segment = services.segment_create(actor=head, data=segment_data(emergency_access_kept=False))
    with pytest.raises(ValidationFailed) as refused:
        services.segment_publish(actor=head, segment_id=segment.pk)
    assert refused.value.code == "parking.emergency_access"
    segment.refresh_from_db()
    assert segment.status == "draft" and segment.version == 0
    assert not OutboxMessage.objects.filter(topic=services.SEGMENT_CHANGED).exists()


def test_publish_refused_without_a_window(head):
    segment = services.segment_create(actor=head, data=segment_data(windows=[]))
    with pytest.raises(ValidationFailed) as refused:
        services.segment_publish(actor=head, segment_id=segment.pk)
    assert refused.value.code == "parking.windows.none"


def test_the_database_refuses_a_published_segment_without_emergency_access(draft, head):
    from django.db import IntegrityError, transaction

    services.segment_publish(actor=head, segment_id=draft.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Segment.objects.filter(pk=draft.pk).update(emergency_access_kept=False)


def test_publish_change_withdraw_log_versions_and_events(draft, head):
    services.segment_publish(actor=head, segment_id=draft.pk)
    with pytest.raises(Conflict):
        services.segment_publish(actor=head, segment_id=draft.pk)
    with pytest.raises(ValidationFailed) as no_reason:
        services.segment_update(actor=head, segment_id=draft.pk, data=segment_data(windows=[NIGHT]))
    assert no_reason.value.code == "parking.reason_required"
    services.segment_update(
        actor=head, segment_id=draft.pk, data=segment_data(windows=[NIGHT]), reason="周末改为夜间停车"
    )
    with pytest.raises(ValidationFailed):
        services.segment_withdraw(actor=head, segment_id=draft.pk, reason=" ")
    services.segment_withdraw(actor=head, segment_id=draft.pk, reason="影响消防车通行")
    with pytest.raises(Conflict):
        services.segment_withdraw(actor=head, segment_id=draft.pk, reason="again")
    draft.refresh_from_db()
    assert draft.status == "withdrawn" and draft.version == 3
    assert list(SegmentChange.objects.filter(segment=draft).order_by("version").values_list("version", "kind")) == [
        (1, "published"), (2, "changed"), (3, "withdrawn"),
    ]  # fmt: skip
    assert draft.windows.count() == 1
    events = OutboxMessage.objects.filter(topic=services.SEGMENT_CHANGED).order_by("id")
    assert [e.payload["kind"] for e in events] == ["published", "changed", "withdrawn"]
    assert AuditEntry.objects.filter(subject_type="parking.segment", subject_id=str(draft.pk)).count() == 4


def test_a_withdrawn_segment_can_be_corrected_and_published_again(draft, head, clerk):
    services.segment_publish(actor=head, segment_id=draft.pk)
    services.segment_withdraw(actor=head, segment_id=draft.pk, reason="调整")
    services.segment_update(actor=clerk, segment_id=draft.pk, data=segment_data(road="交通路（东段）"))
    services.segment_publish(actor=head, segment_id=draft.pk, reason="调整后重新发布")
    draft.refresh_from_db()
    assert draft.status == "published" and draft.road == "交通路（东段）" and draft.version == 3


def test_clerk_drafts_but_does_not_publish_or_change_what_is_public(draft, head, clerk):
    services.segment_update(actor=clerk, segment_id=draft.pk, data=segment_data(road="交通路北段"))
    with pytest.raises(NotAllowed):
        services.segment_publish(actor=clerk, segment_id=draft.pk)
    services.segment_publish(actor=head, segment_id=draft.pk)
    with pytest.raises(NotAllowed):
        services.segment_update(actor=clerk, segment_id=draft.pk, data=segment_data(), reason="x")


def test_jurisdiction(make_staff, draft):
    zhoukou = make_staff(role="unit_head", jurisdiction="411600", username="p-zhoukou")
    with pytest.raises(NotAllowed):
        services.segment_create(actor=zhoukou, data=segment_data())
    with pytest.raises(NotFound):
        services.segment_publish(actor=zhoukou, segment_id=draft.pk)
    with pytest.raises(NotFound):
        services.segment_update(actor=zhoukou, segment_id=draft.pk, data=segment_data(division="411602"))
    county = make_staff(role="unit_head", jurisdiction="411721", username="p-xiping")
    with pytest.raises(NotFound):
        services.segment_for_staff(actor=county, segment_id=draft.pk)


def test_moving_a_segment_needs_both_districts(make_staff):
    county = make_staff(role="unit_head", jurisdiction="411702", username="p-yicheng")
    segment = services.segment_create(actor=county, data=segment_data())
    with pytest.raises(NotAllowed):
        services.segment_update(actor=county, segment_id=segment.pk, data=segment_data(division="411721"))


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"division": "411700"}, "parking.division.county"),
        ({"division": "999999"}, "division.format"),
        ({"road": " "}, "parking.field"),
        ({"side": "up"}, "parking.side"),
        ({"marking": "marked_bays"}, "parking.marking_note"),
        ({"points": [(114.0, 32.9)]}, "parking.points.count"),
    ],
)
def test_bad_input_is_refused_in_words(head, changes, code):
    with pytest.raises(ValidationFailed) as refused:
        services.segment_create(actor=head, data=segment_data(**changes))
    assert refused.value.code == code and refused.value.message_zh and refused.value.message_en


def test_residents_of_the_district_with_an_account_are_told(draft, head, make_person, citizen):
    """O8: changes are announced through the message centre to the district's residents."""
    resident = make_person(name="周红", area="411702", mobile="13800138011")
    citizen(resident)
    no_account = make_person(name="吴明", area="411702", mobile="13800138012")
    elsewhere = make_person(name="郑伟", area="411721", mobile="13800138013")
    citizen(elsewhere)
    services.segment_publish(actor=head, segment_id=draft.pk)
    outbox_dispatch()
    told = Message.objects.filter(category="parking")
    assert list(told.values_list("person_id", flat=True)) == [resident.pk]
    message = told.get()
    assert "交通路" in message.body_zh and message.link == f"/parking/{draft.pk}/"
    assert not Message.objects.filter(person_id__in=[no_account.pk, elsewhere.pk]).exists()
    # Delivered again (the outbox retries): nobody is told twice.
    from jiaoguan.notices.events import _parking_changed

    event = OutboxMessage.objects.get(topic=services.SEGMENT_CHANGED)
    _parking_changed(event.payload, event.dedup_key)
    assert told.count() == 1
    services.segment_withdraw(actor=head, segment_id=draft.pk, reason="影响消防车通行")
    outbox_dispatch()
    withdrawn = Message.objects.filter(category="parking").order_by("-id").first()
    assert withdrawn is not None and "撤销" in withdrawn.title_zh and "影响消防车通行" in withdrawn.body_zh
    assert withdrawn.link == "/parking/?division=411702"
