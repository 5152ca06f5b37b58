"""Demo data of announcements and publications (N3): a head-of-unit login, fixed cameras and
cloned-plate contacts of Zhumadian, two published announcements and one awaiting approval (drawn
from the demo registry through the services), and this month's publications."""

from __future__ import annotations

from datetime import date, timedelta

from jiaoguan.accounts.models import User
from jiaoguan.accounts.services import staff_create
from jiaoguan.core.errors import Conflict

from . import services
from .models import Announcement, CameraSite, ClonedPlateContact

ZHUMADIAN = "411700"
HEAD_USERNAME = "unit_head"
# Tried in this order; the first two with records are published, the next one awaits approval.
DEMO_CODES = ("G06", "G07", "G09", "G05", "G11", "G13", "G18", "G19", "G03")

CAMERAS = (
    ("驿城区解放路与交通路交叉口", "由东向西", "闯红灯、不按导向车道行驶", "411702", 900),
    ("驿城区雪松大道与开源大道交叉口", "由南向北", "闯红灯、超速行驶", "411702", 700),
    ("确山县盘龙大道与朗陵街交叉口", "由西向东", "闯红灯、不礼让行人", "411725", 400),
    ("遂平县车站路与建设路交叉口", "双向", "违法停车、逆向行驶", "411728", 200),
)
CONTACTS = (
    ("驻马店市公安局交通管理支队车辆管理所", "0396-2691234", "驻马店市驿城区开源大道与雪松大道交叉口", "工作日 8:30–12:00, 14:30–17:30", "411702"),
    ("驻马店市公安局交通管理支队违法处理中心", "0396-2692345", "驻马店市驿城区解放路 100 号", "工作日 8:30–17:30", "411702"),
)  # fmt: skip


def _head(password: str) -> User:
    user = User.objects.filter(username=HEAD_USERNAME).first()
    if user is None:
        return staff_create(
            username=HEAD_USERNAME, password=password, role="unit_head", jurisdiction=ZHUMADIAN, name="孙志刚"
        )
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def _lists(today: date) -> None:
    if not CameraSite.objects.exists():
        CameraSite.objects.bulk_create(
            [CameraSite(location=loc, direction=d, offence_types=o, division=div, in_service_since=today - timedelta(days=age))
             for loc, d, o, div, age in CAMERAS]
        )  # fmt: skip
    if not ClonedPlateContact.objects.exists():
        ClonedPlateContact.objects.bulk_create(
            [
                ClonedPlateContact(office=o, phone=p, address=a, hours=h, division=d)
                for o, p, a, h, d in CONTACTS
            ]
        )


def _announcements(today: date, head: User) -> None:
    clerk = User.objects.filter(username="clerk", kind=User.Kind.STAFF).first()
    if clerk is None or Announcement.objects.exists():
        return
    made = 0
    for code in DEMO_CODES:
        try:
            a = services.announcement_draft_generate(actor=clerk, code=code, today=today, division=ZHUMADIAN)
        except Conflict:
            continue  # nothing of this kind in the demo registry
        services.announcement_submit(actor=clerk, announcement_id=a.pk)
        made += 1
        if made <= 2:
            services.announcement_approve(actor=head, announcement_id=a.pk)
            services.announcement_publish(actor=clerk, announcement_id=a.pk)
        else:
            break


def ensure_demo_announcements(*, today: date, password: str) -> list[dict[str, str]]:
    """Create (once) the demo announcement data; return the head-of-unit login row."""
    head = _head(password)
    _lists(today)
    _announcements(today, head)
    services.publications_regenerate(today=today)
    return [
        {
            "role": "unit_head",
            "username": HEAD_USERNAME,
            "password": password,
            "note_zh": f"部门负责人（审批公告），辖区驻马店市（{ZHUMADIAN}）；公告管理：/counter/announcements/，公开页面：/notices/",
            "note_en": f"Head of unit (approves announcements), jurisdiction Zhumadian ({ZHUMADIAN}); "
            "announcements at /counter/announcements/, public pages at /notices/",
        }
    ]
