"""Access matrix of the announcement actions (core/access.py, N3): every ``announcements.*``
action x every role x a record on the actor's own side or the other, through its page and its
API endpoint (the back office for the lists publications are made of). A probe answers, per
channel, whether the action took effect; the table says whether it should have."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.announcements.models import Announcement, CameraSite
from jiaoguan.core.access import ACTIONS, Role

pytestmark = pytest.mark.django_db

ACTION_NAMES = sorted(name for name in ACTIONS if name.startswith("announcements."))
_serial = itertools.count(1)


def _announcement(division: str, state: str) -> Announcement:
    n = next(_serial)
    today = timezone.localdate()
    public = state in ("published", "withdrawn")
    return Announcement.objects.create(
        code="G18", division=division, title=f"矩阵公告{n}", body="特此公告。", state=state, data_as_of=today,
        year=today.year if public else None, sequence=1000 + n if public else None,
        number=f"矩阵〔{today.year}〕第{1000 + n}号" if public else "",
        published_at=timezone.now() if public else None,
    )  # fmt: skip


def _side(world: Any, role: str, where: str) -> Any:
    return world.records(role, where)


def notice_view(world, role, where) -> list[bool]:
    a = _announcement(_side(world, role, where).division, "published")
    page = world.client(role).get(f"/notices/{a.pk}/")
    api = world.api(role).get(f"/api/v1/notices/{a.pk}")
    return [
        page.status_code == 200 and a.number in page.content.decode(),
        api.status_code == 200 and api.json()["number"] == a.number,
    ]


def announcement_view(world, role, where) -> list[bool]:
    a = _announcement(_side(world, role, where).division, "draft")
    page = world.client(role).get(f"/counter/announcements/{a.pk}/")
    api = world.api(role).get(f"/api/v1/announcements/{a.pk}")
    return [
        page.status_code == 200 and a.title in page.content.decode(),
        api.status_code == 200 and api.json()["title"] == a.title,
    ]


def announcement_draft(world, role, where) -> list[bool]:
    side = _side(world, role, where)
    side.licence.status = "AJ"  # suspended after a full score: G18 has a record to list
    side.licence.save(update_fields=["status"])
    division = side.licence.division
    before = Announcement.objects.filter(division=division).count()
    world.client(role).post("/counter/announcements/", {"code": "G18", "division": division})
    after_page = Announcement.objects.filter(division=division).count()
    world.api(role).post(
        "/api/v1/announcements", {"code": "G18", "division": division}, content_type="application/json"
    )
    after_api = Announcement.objects.filter(division=division).count()
    return [after_page == before + 1, after_api == after_page + 1]


def _step(world, role, where, *, state: str, step: str, data: dict[str, str], after: str) -> list[bool]:
    division = _side(world, role, where).division
    by_page, by_api = _announcement(division, state), _announcement(division, state)
    world.client(role).post(f"/counter/announcements/{by_page.pk}/{step}/", data)
    world.api(role).post(f"/api/v1/announcements/{by_api.pk}/{step}", data, content_type="application/json")
    return [Announcement.objects.get(pk=a.pk).state == after for a in (by_page, by_api)]


def announcement_approve(world, role, where) -> list[bool]:
    return _step(world, role, where, state="pending_approval", step="approve", data={}, after="approved")


def announcement_publish(world, role, where) -> list[bool]:
    return _step(world, role, where, state="approved", step="publish", data={}, after="published")


def announcement_withdraw(world, role, where) -> list[bool]:
    reason = {"reason": "矩阵撤回原因"}
    return _step(world, role, where, state="published", step="withdraw", data=reason, after="withdrawn")


def reference_manage(world, role, where) -> list[bool]:
    """The back office is the only way in: list, open and change a camera site of the side."""
    n = next(_serial)
    site = CameraSite.objects.create(
        location=f"矩阵路口{n}", direction="由东向西", offence_types="闯红灯",
        division=_side(world, "administrator", where).division, in_service_since=timezone.localdate(),
    )  # fmt: skip
    client = world.client(role)
    listed = client.get("/admin/announcements/camerasite/")
    shown = listed.status_code == 200 and site.location in listed.content.decode()
    data = {
        "location": site.location, "direction": "由西向东", "offence_types": site.offence_types,
        "division": site.division, "in_service_since": f"{site.in_service_since:%Y-%m-%d}", "active": "on",
    }  # fmt: skip
    client.post(f"/admin/announcements/camerasite/{site.pk}/change/", data)
    return [shown, CameraSite.objects.get(pk=site.pk).direction == "由西向东"]


PROBES: dict[str, Callable[[Any, str, str], list[bool]]] = {
    "announcements.notice.view": notice_view,
    "announcements.announcement.view": announcement_view,
    "announcements.announcement.draft": announcement_draft,
    "announcements.announcement.approve": announcement_approve,
    "announcements.announcement.publish": announcement_publish,
    "announcements.announcement.withdraw": announcement_withdraw,
    "announcements.reference.manage": reference_manage,
}


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("name", ACTION_NAMES)
def test_access_matrix(name, role, where, access_world, access_check):
    expected, _outcome = access_check
    assert name in PROBES, f"no probe for {name}: add one"
    want = expected(name, role, where)
    for channel, took_effect in zip(("page", "api"), PROBES[name](access_world, role, where), strict=True):
        assert took_effect == want, (
            f"{role} {'may' if want else 'may not'} {name} on an {where} record ({channel})"
        )


def test_every_probe_names_an_action():
    assert set(PROBES) == set(ACTION_NAMES)
