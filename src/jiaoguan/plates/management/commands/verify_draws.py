"""``jiaoguan verify-draws DATE|FILE|URL [--commitment HEX]``: replay a day of plate draws (issue 17 §3).

The source is a day (YYYY-MM-DD) of this installation's own database, a downloaded day file
(``GET /api/v1/plate-draws/{date}``), or the http(s) address of one. ``draws.replay`` recomputes
every draw from the revealed seed and checks the log entry by entry; the command prints
``OK: N draws, M entries replayed`` or each problem, and exits 0 when all matches, 1 otherwise.
A file or an address needs no database.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.plates import draws

MAX_BYTES = 512 * 1024 * 1024
TIMEOUT_SECONDS = 60
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _from_database(text: str) -> dict[str, Any]:
    from datetime import date

    from jiaoguan.plates import public_draws, selectors

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date: {text}") from None
    # The same step as the public pages: an ended day is revealed even if no worker has run.
    public_draws.publish_due()
    data = selectors.draw_day_file(day=day)
    if data is None:
        raise CommandError(f"no seed commitment for {text} in this installation")
    return data


def _fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return bytes(response.read(MAX_BYTES))
    except urllib.error.HTTPError as error:
        raise CommandError(f"{url}: HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise CommandError(f"{url}: {getattr(error, 'reason', error)}") from None


def read_day(source: str) -> dict[str, Any]:
    """The day file named by ``source``: a date, a path, or an http(s) address."""
    if source.startswith(("http://", "https://")):
        raw = _fetch(source)
    elif _DAY.fullmatch(source) and not Path(source).exists():
        return _from_database(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise CommandError(f"no such file: {source}")
        raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise CommandError("the JSON is not a day file of plate draws")
    return data


class Command(BaseCommand):
    help = "Replay a day of plate draws from its published file (or this installation's database)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "source", help="a day (YYYY-MM-DD) of this installation, a downloaded file, or its http(s) URL"
        )
        parser.add_argument(
            "--commitment", default="", help="the seed commitment you saw published that morning"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        day = read_day(options["source"])
        commitment = (options.get("commitment") or "").strip().lower() or None
        report = draws.replay(day, commitment=commitment)
        if report.ok:
            self.stdout.write(f"OK: {report.draws} draws, {report.events} entries replayed")
            return
        for problem in report.problems:
            self.stdout.write(f"PROBLEM: {problem}")
        raise SystemExit(1)
