"""Plate pre-selection endpoints (B19, P1-P5; issue 17): the buyer's selections, the dealers'
pre-registrations, and the public day files of the draws. Thin handlers over ``services`` and
``selectors``."""

from __future__ import annotations

from typing import Any

from ninja import Router

from jiaoguan.core.api import ErrorOut

router = Router(tags=["plates"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


# ---------------------------------------------------------------- buyers: selections (P1-P5)


# ---------------------------------------------------------------- dealers: pre-registrations (P2)


# ---------------------------------------------------------------- public: the day files of the draws
