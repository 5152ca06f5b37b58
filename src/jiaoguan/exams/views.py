"""Driving-test pages (B22, B23, X1-X7; issue 16): the same service and selector calls as the API."""

from __future__ import annotations

# ---------------------------------------------------------------- public plans and allocation proof


# ---------------------------------------------------------------- learners (B22, B23)


# ---------------------------------------------------------------- driving schools


# ---------------------------------------------------------------- counter: centres, plans, results, learners


# ---------------------------------------------------------------- counter: monitoring (X6)
