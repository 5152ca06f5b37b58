"""Demo reports (N2): the reports due today, made from the demo data, so the recipients of the
demo find them at /org/reports/ and staff at /counter/reports/."""

from __future__ import annotations

from datetime import date

from .services import reports_generate


def ensure_demo_reports(*, today: date) -> int:
    """Make every report due today (idempotent); how many were delivered now."""
    return reports_generate(today=today).runs
