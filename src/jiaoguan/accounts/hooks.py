"""Extension points for the apps above accounts (which accounts may not import).

The citizen's home page shows counts that other apps own, such as unhandled violations;
those apps register a function here in their ``AppConfig.ready`` instead of accounts
reaching up to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HomeCounts = Callable[[Any], dict[str, int]]
_HOME_COUNTS: list[HomeCounts] = []


def register_home_counts(counts: HomeCounts) -> HomeCounts:
    """Add a function ``user -> {name: count}`` whose counts the home page shows.

    The home page caches the counts per owner (core/personal_reads.py): the app must call
    ``personal_data_changed`` for the owner whenever a row behind its count changes.
    """
    if counts not in _HOME_COUNTS:
        _HOME_COUNTS.append(counts)
    return counts


def home_counts(user: Any) -> dict[str, int]:
    """Every registered count for the user's home page."""
    merged: dict[str, int] = {}
    for counts in _HOME_COUNTS:
        merged.update(counts(user))
    return merged
