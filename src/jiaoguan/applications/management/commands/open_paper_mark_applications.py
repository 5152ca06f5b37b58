"""``jiaoguan open_paper_mark_applications``: stored paper-mark requests become applications (issue 14, E2).

Requests of exempt vehicles stored before the applications engine took paper marks over were
never acted on; this opens an application for each one not sent yet, accepted at once, in the
staff queue with post or pickup. Running it again opens nothing twice (one application per
request, by its source).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jiaoguan.applications.services import paper_mark_requests_open


class Command(BaseCommand):
    help = "Open an application for every stored paper inspection mark request not sent yet (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        opened, already = paper_mark_requests_open()
        self.stdout.write(f"opened {opened} paper-mark applications; {already} were open already")
