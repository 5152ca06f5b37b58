"""Which businesses are online here, and advice that is true (issue 11, item 2; U5)."""

from __future__ import annotations

import pytest

from jiaoguan.accounts import rules, views
from jiaoguan.core.errors import NotAllowed


def test_only_businesses_with_a_page_are_online_here():
    assert rules.business_online_here("B5") and rules.business_online_here("B16")
    # The licence businesses are applied for through the applications engine (issue 13).
    assert all(rules.business_online_here(code) for code in ("B8", "B9", "B10", "B11", "B12", "B13", "B14"))
    # Hospitals record examinations and submit certificates online (B6, B7; issue 13).
    assert rules.business_online_here("B6") and rules.business_online_here("B7")
    # Issue 14: plates, vehicle licences and paper marks on the applications engine.
    assert all(rules.business_online_here(code) for code in ("B1", "B2", "B3", "B20", "B21", "E2"))
    assert rules.business_online_here("B18")  # car dealers' temporary plates (issue 14), their own page
    assert rules.business_online_here("B22") and rules.business_online_here("B23")  # driving tests (issue 16)
    assert rules.business_online_here("B19")  # plate pre-selection (issue 17), its own page
    assert not rules.business_online_here("B99")
    # Every business said to be online leads to a page: none is a dead end.
    assert rules.ONLINE_HERE <= views.PAGES_OF_ONLINE_BUSINESSES


def test_upgrade_is_advice_only_when_it_opens_something_online():
    # Since issue 13 the counter upgrade opens the licence businesses, so the advice is true.
    # Issue 14 adds the counter businesses of vehicles (plates, vehicle licences, paper marks).
    assert [b.code for b in rules.upgrade_unlocks()] == [
        "B1", "B2", "B3", "B8", "B9", "B10", "B11", "B12", "B13", "B14", "B20", "B21",
    ]  # fmt: skip
    unlocked = rules.upgrade_unlocks(online_here=frozenset({"B5", "B8", "B19"}))
    # B19 needs only an online account: upgrading opens B8 alone.
    assert [b.code for b in unlocked] == ["B8"]
    assert rules.upgrade_unlocks(online_here=frozenset({"B5", "B16"})) == []


def test_the_upgrade_refusal_still_names_the_upgrade_for_a_business_that_would_open():
    with pytest.raises(NotAllowed) as refusal:
        rules.check_business_allowed(business_code="B8", user_kind="individual", level="online")
    assert refusal.value.detail == {"business": "B8", "upgrade": "counter"}
    assert "互联网用户转窗口用户注册" in refusal.value.message_zh


@pytest.mark.django_db
def test_me_offers_the_upgrade_when_it_would_open_a_business(client, make_person, monkeypatch):
    from jiaoguan.accounts.models import User

    person = make_person()
    user = User.objects.create_user(
        username=person.id_number, password="x-Unused-9", person=person, registration_level="online"
    )
    client.force_login(user)
    # Issue 13 puts B8-B14 online: the upgrade now opens them, and the page says so.
    page = client.get("/me/").content.decode()
    assert "如何升级为窗口注册用户" in page and "期满换领驾驶证" in page
    monkeypatch.setattr(rules, "upgrade_unlocks", lambda: [])
    assert "如何升级为窗口注册用户" not in client.get("/me/").content.decode()


# ---------------------------------------------------------------- who accessed my data, grouped


def _view(seconds: int, actor: str = "clerk-a", record: str = "registry.person#1", action: str = "view"):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    base = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    return rules.AccessView(
        at=base + timedelta(seconds=seconds), actor=actor, role="counter_clerk", action=action,
        record=record, summary="窗口查询",
    )  # fmt: skip


def test_repeated_views_within_a_minute_are_one_line_with_a_count():
    views = [_view(0), _view(20), _view(50), _view(70), _view(30, actor="clerk-b"), _view(40, record="x#2")]
    groups = rules.group_access_views(views)
    assert [(g.actor, g.count) for g in groups] == [
        ("clerk-a", 3),  # 70, 50, 20: within a minute of the newest (70)
        ("clerk-a", 1),  # another record
        ("clerk-b", 1),
        ("clerk-a", 1),  # 0: more than a minute before 70 starts a line of its own
    ]
    first = groups[0]
    assert first.at == _view(70).at and first.first_at == _view(20).at


def test_a_change_is_not_merged_into_views():
    groups = rules.group_access_views([_view(0), _view(10, action="change")])
    assert len(groups) == 2
