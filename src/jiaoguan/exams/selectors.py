"""Reads of driving tests, scoped to what the actor may see (issue 16)."""

from __future__ import annotations

# ---------------------------------------------------------------- public plans and allocation proof


# ---------------------------------------------------------------- learners and schools


# ---------------------------------------------------------------- counter
