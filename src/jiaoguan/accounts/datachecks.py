"""Data checks of accounts (``jiaoguan check-data``): logins the access table or the validators refuse.

A staff login with a post the access table does not know, or a jurisdiction that is not a
division, may do nothing (``core.access.role_of``); a contact mobile that is not a mainland
mobile cannot receive a code. Both can arrive only around the services (an import, a hand
fix), so they are listed here rather than found at the counter.
"""

from __future__ import annotations

from collections.abc import Iterator

from jiaoguan.core.datachecks import CheckContext, Finding, in_batches, register_check, table_of
from jiaoguan.core.divisions import validate_division
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import validate_mobile

from .models import StaffRole, User

_FIELDS = ("kind", "staff_role", "jurisdiction", "mobile")


def check_users(context: CheckContext) -> Iterator[Finding]:
    table = table_of(User)
    for rows in in_batches(User.objects.all(), fields=_FIELDS, size=context.batch_size):
        for row in rows:
            pk = str(row["pk"])
            if row["mobile"]:
                try:
                    if validate_mobile(row["mobile"]) != row["mobile"]:
                        yield Finding(
                            table, pk, "mobile", "accounts.not_normalised: 手机号码应为11位数字 (11 digits)"
                        )
                except DomainError as error:
                    yield Finding(table, pk, "mobile", f"{error.code}: {error.message}")
            if row["kind"] != User.Kind.STAFF:
                continue
            if row["staff_role"] not in StaffRole.values:
                yield Finding(
                    table, pk, "staff_role",
                    f"accounts.role_unknown: 权限表中没有岗位 {row['staff_role']!r} (no such post in the access table)",
                )  # fmt: skip
            try:
                validate_division(row["jurisdiction"])
            except DomainError as error:
                yield Finding(table, pk, "jurisdiction", f"{error.code}: {error.message}")


def register() -> None:
    register_check("accounts.users")(check_users)
