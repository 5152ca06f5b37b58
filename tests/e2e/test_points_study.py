"""Study to reduce points in real Chromium at 360 px (V7): a driver at 10 points follows the home
page's "记分已达10分" alert to the study page, starts an online course, studies for 30 minutes (the
recorded start is moved back in the database), answers the test and sees 9 points."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.points_study.courses import ensure_courses
from jiaoguan.points_study.models import StudyAttempt
from jiaoguan.points_study.questions import answer_key
from jiaoguan.registry.models import PointsEntry
from jiaoguan.registry.rules import scoring_cycle

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_driver_at_10_points_takes_an_online_course_and_sees_9(page, make_person, make_licence, citizen):
    ensure_courses()  # an earlier test may have flushed the migration's courses
    person = make_person(name="孙学法", mobile="13903960701")
    licence = make_licence(holder=person, first_issued_on=date(2015, 3, 5), valid_from=date(2021, 3, 5))
    cycle = scoring_cycle(first_issued_on=licence.first_issued_on, today=timezone.localdate())
    for n, points in enumerate((6, 3, 1)):
        PointsEntry.objects.create(licence=licence, points=points, occurred_on=cycle[0], source=f"E2E{n}")
    citizen(person, level="counter")

    log_in(page, person.id_number, PASSWORD)
    page.get_by_role("link", name="记分已达10分", exact=False).first.click()
    page.wait_for_url("**/points-study/")
    assert page.locator("#points").inner_text() == "10"
    assert page.locator("#exclusions").count() == 0
    fits(page)

    page.locator("#course-online-signals a").click()
    page.wait_for_url("**/points-study/online-signals/")
    page.click("#start")
    page.wait_for_selector("#minutes-left")
    assert page.locator("#test-form").count() == 0
    fits(page)

    # 30 minutes of study, counted by the server from the recorded start.
    attempt = StudyAttempt.objects.get(licence=licence)
    StudyAttempt.objects.filter(pk=attempt.pk).update(started_at=timezone.now() - timedelta(minutes=31))
    page.reload()
    for code, key in answer_key(list(attempt.questions)).items():
        page.check(f"#{code}-{key}")
    fits(page)
    page.click("#submit")
    page.wait_for_selector(".notice-success")
    assert page.locator("#result").get_attribute("data-passed") == "yes"
    assert page.locator("#points-reduced").inner_text() == "1"
    fits(page)

    page.goto("/points-study/")
    assert page.locator("#points").inner_text() == "9"
    assert page.locator("#reduced").inner_text() == "1"
    assert page.locator("#course-online-signals .course-passed").count() == 1
    page.goto("/")
    assert "<strong>9</strong> / 12" in page.content()
