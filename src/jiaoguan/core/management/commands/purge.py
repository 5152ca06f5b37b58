"""``jiaoguan purge [--dry-run]``: delete the rows of short-lived tables past their retention (issue 12)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jiaoguan.core.purges import registered_purges, run_purges


class Command(BaseCommand):
    help = (
        "定期清理：删除超过保留期限的短期数据（过期令牌、已发送消息、幂等记录、会话等），逐表输出删除行数；"
        "工作进程每天自动执行一次。 Purge short-lived tables past their retention (expired tokens, sent "
        "outbox messages, idempotency answers, sessions, ...) and print each table's count; the worker "
        "runs this daily. --dry-run counts only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count the rows that would go; delete none"
        )
        parser.add_argument(
            "--table", action="append", default=[], metavar="NAME", help="purge only this table (repeatable)"
        )
        parser.add_argument("--list", action="store_true", help="list the tables that have a purge and exit")
        parser.add_argument(
            "--batch-size", type=int, default=None, help="rows deleted per transaction (default PURGE_BATCH)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for name in registered_purges():
                self.stdout.write(name)
            return
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be positive")
        dry_run = options["dry_run"]
        try:
            results = run_purges(batch=options["batch_size"], dry_run=dry_run, only=options["table"] or None)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        verb = "would delete" if dry_run else "deleted"
        for name, rows in results.items():
            self.stdout.write(f"{name}\t{'failed' if rows is None else f'{verb} {rows}'}")
        failed = sorted(name for name, rows in results.items() if rows is None)
        if failed:
            raise CommandError(
                f"清理失败 purge failed: {', '.join(failed)} (see the log); the other tables were done",
                returncode=1,
            )
