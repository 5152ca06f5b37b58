"""``jiaoguan check-data`` over accounts: logins the access table or the validators would refuse."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jiaoguan.accounts.models import User

pytestmark = pytest.mark.django_db


def _run() -> tuple[int, list[list[str]]]:
    out = StringIO()
    try:
        call_command("check_data", "--check=accounts.users", stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, [line.split("\t") for line in out.getvalue().splitlines() if "\t" in line]
    return 0, []


def test_good_logins_pass(make_staff, make_person, citizen):
    make_staff(role="auditor")
    citizen(make_person())
    assert _run() == (0, [])


def test_a_post_the_table_does_not_know_a_bad_jurisdiction_and_a_bad_mobile_are_listed(
    make_staff, make_person, citizen
):
    ghost = make_staff(role="counter_clerk", username="ghost")
    # Rows that arrived around the services (an import, a hand fix): the database cannot tell.
    User.objects.filter(pk=ghost.pk).update(staff_role="chief", jurisdiction="999999")
    user = citizen(make_person())
    User.objects.filter(pk=user.pk).update(mobile="12345")

    status, rows = _run()

    assert status == 1
    found = {(row[1], row[2]) for row in rows}
    assert found == {(str(ghost.pk), "staff_role"), (str(ghost.pk), "jurisdiction"), (str(user.pk), "mobile")}
    assert all(row[0] == "accounts_user" for row in rows)
