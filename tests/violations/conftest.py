"""Constants shared by the violation and payment tests (fixtures live in tests/conftest.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "Citizen#2026x"  # the citizen fixture's password
