"""``jiaoguan staff add USERNAME --role ROLE --jurisdiction CODE``: a staff login (民警/工作人员账号).

This is how an installation gets its first administrator: run on the server by the
operator (the system acts, so no access check applies); afterwards administrators are
refused staff outside their own jurisdiction by the access table. The password is read
from the terminal (twice) or, with ``--password-stdin``, from standard input, never from
the command line where it would land in the shell history.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.accounts.models import StaffRole
from jiaoguan.accounts.services import staff_create
from jiaoguan.core.errors import DomainError


class Command(BaseCommand):
    help = "Add a staff login with one post (role) and a jurisdiction (GB/T 2260 code)."

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="create a staff login")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=StaffRole.values)
        add.add_argument("--jurisdiction", required=True, help="GB/T 2260 code, e.g. 411700")
        add.add_argument("--name", default="", help="the officer's name as shown to colleagues")
        add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    def _password(self, from_stdin: bool) -> str:
        if from_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("the two passwords differ")
        return first

    def handle(self, *args: Any, **options: Any) -> None:
        password = self._password(options["password_stdin"])
        try:
            user = staff_create(
                username=options["username"],
                password=password,
                role=options["role"],
                jurisdiction=options["jurisdiction"],
                name=options["name"],
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message_en} {exc.detail or ''}".strip()) from exc
        self.stdout.write(f"staff login {user.username}: {user.staff_role} of {user.jurisdiction}")
