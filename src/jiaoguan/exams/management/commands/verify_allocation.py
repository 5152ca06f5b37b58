"""``jiaoguan verify-allocation FILE_OR_URL``: recompute an exam plan's published allocation (X4).

Reads the JSON of ``GET /api/v1/exam-plans/{id}/allocation`` (or its ``document`` alone) from a
file or an http(s) address, runs ``exams.allocation.verify`` and prints OK or each problem; the
exit status is 0 when it matches, 1 otherwise. No database is needed.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.exams import allocation

MAX_BYTES = 256 * 1024 * 1024


def read_document(source: str) -> dict[str, Any]:
    """The allocation document in ``source`` (a path or an http(s) URL)."""
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            raw = response.read(MAX_BYTES)
    else:
        path = Path(source)
        if not path.is_file():
            raise CommandError(f"no such file: {source}")
        raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"not JSON: {error}") from None
    if isinstance(data, dict) and "format" not in data and isinstance(data.get("document"), dict):
        data = data["document"]  # the API's answer: the document sits inside it
    if not isinstance(data, dict):
        raise CommandError("the JSON is not an allocation document")
    return data


class Command(BaseCommand):
    help = "Recompute an exam plan's published allocation from its JSON document (X4)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="the allocation JSON: a file, or an http(s) URL of the API")
        parser.add_argument(
            "--commitment", default="", help="the seed commitment you saw published when the window opened"
        )
        parser.add_argument(
            "--inputs-sha256", default="", help="the inputs' SHA-256 you saw published when the window closed"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        doc = read_document(options["source"])
        check = allocation.verify(
            doc,
            published_commitment=(options.get("commitment") or "").strip().lower(),
            published_inputs_sha256=(options.get("inputs_sha256") or "").strip().lower(),
        )
        if check.ok:
            allocated = sum(1 for r in doc.get("result") or [] if r.get("outcome") == allocation.ALLOCATED)
            self.stdout.write(
                f"OK: {len(doc.get('result') or [])} applications, {allocated} allocated, "
                f"seed matches commitment {doc.get('commitment')}"
            )
            return
        for problem in check.problems:
            self.stdout.write(f"PROBLEM: {problem}")
        raise SystemExit(1)
