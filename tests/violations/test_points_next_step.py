"""Points alerts say what the driver must do next (issue 11 item 2; S2 in RULES.md): the rule in
registry/rules.py and its words on the home licence card and the licence page."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from jiaoguan.registry import rules, selectors
from jiaoguan.registry.models import PointsEntry


@pytest.mark.parametrize(
    ("classes", "days", "online_or_on_site", "on_site"),
    [(("C1",), 7, 5, 2), (("C1", "D"), 7, 5, 2), (("B2",), 30, 10, 5), (("A1",), 30, 10, 5)],
)
def test_full_score_study_depends_on_large_classes(classes, days, online_or_on_site, on_site):
    assert rules.full_score_study(classes) == rules.FullScoreStudy(days, online_or_on_site, on_site)


def test_no_next_step_below_the_warning_level():
    assert rules.points_next_step(rules.POINTS_NEAR_LIMIT - 1, ("C1",)) is None


def test_full_score_next_step_names_study_exam_counter_and_deadline():
    zh, en = rules.points_next_step(12, ("B2",))
    assert "满分学习30天" in zh and "现场学习不少于5天" in zh and "科目一考试" in zh
    assert f"{rules.FULL_SCORE_STOP_AFTER_DAYS}日内" in zh and "窗口" in zh and "不能网上办理" in zh
    assert "30 days of full-score study" in en and "not available online" in en


def test_near_limit_next_step_counts_the_points_left_and_the_cycle_end():
    zh, en = rules.points_next_step(10, ("C1",), cycle_end=date(2027, 3, 4))
    assert zh.startswith("再记2分即满分") and "满分学习7天" in zh and "2027-03-04" in zh
    assert en.startswith("2 more points") and "2027-03-04" in en


def _licence_with(owner_driver, points: int, classes: str):
    user, _person, _vehicle, licence = owner_driver()
    licence.classes = classes
    licence.save(update_fields=["classes"])
    cycle = selectors.licence_status(licence, today=timezone.localdate())
    PointsEntry.objects.create(licence=licence, points=points, occurred_on=cycle.cycle_start, source="test")
    return user


@pytest.mark.django_db
def test_home_card_and_licence_page_say_what_to_do_at_full_score(client, owner_driver):
    user = _licence_with(owner_driver, 12, "B2")
    client.force_login(user)
    for url in ("/", "/licences/"):
        page = client.get(url).content.decode()
        assert "记分已达12分" in page and "满分学习30天" in page and "科目一考试" in page, url


@pytest.mark.django_db
def test_home_card_at_ten_points_says_how_many_are_left(client, owner_driver):
    client.force_login(_licence_with(owner_driver, 10, "C1"))
    page = client.get("/").content.decode()
    assert "记分已达10分" in page and "再记2分即满分" in page
