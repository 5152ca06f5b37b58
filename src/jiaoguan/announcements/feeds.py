"""RSS and Atom feeds of the announcements (N3): the newest published and withdrawn ones.

A withdrawn announcement stays in the feed with "已撤回" in its title and the reason in its
description, so a reader who saw it published learns that it was withdrawn.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed

from . import rules, selectors
from .models import Announcement
from .rules import State

FEED_LENGTH = 50


class NoticesRss(Feed):
    title = "交通安全信息公告 Traffic safety announcements"
    link = "/notices/"
    description = (
        "公安交通管理部门发布的交通安全信息公告 Announcements of the traffic police and vehicle office"
    )

    def items(self) -> list[Announcement]:
        return list(selectors.public_announcements()[:FEED_LENGTH])

    def item_title(self, item: Announcement) -> str:
        prefix = "【已撤回 withdrawn】" if item.state == State.WITHDRAWN else ""
        return f"{prefix}{item.number} {item.title}"

    def item_description(self, item: Announcement) -> str:
        kind = rules.ANNOUNCEMENT_KINDS[item.code]
        text = f"{kind.name_zh}：{item.item_count}条。{item.body[:300]}"
        if item.state == State.WITHDRAWN:
            text = f"已撤回，原因：{item.withdrawal_reason}。{text}"
        return text

    def item_link(self, item: Announcement) -> str:
        return f"/notices/{item.pk}/"

    def item_guid(self, item: Announcement) -> str:
        return f"jiaoguan-notice-{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Announcement) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Announcement) -> datetime | None:
        return item.withdrawn_at or item.published_at

    def item_categories(self, item: Announcement) -> list[str]:
        return [item.code]


class NoticesAtom(NoticesRss):
    feed_type = Atom1Feed
    subtitle = NoticesRss.description
