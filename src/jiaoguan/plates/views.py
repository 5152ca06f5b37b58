"""Plate pre-selection pages (B19, P1-P5; issue 17): the same service and selector calls as the API."""

from __future__ import annotations

# ---------------------------------------------------------------- buyers (B19, P1-P5)


# ---------------------------------------------------------------- dealers (P2)


# ---------------------------------------------------------------- public draw log and seeds


# ---------------------------------------------------------------- counter: pools, registration, monitoring
