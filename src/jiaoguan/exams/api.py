"""Driving-test endpoints (B22, B23, X1-X7; issue 16): public exam plans and their allocation
proof, a learner's permits and applications, a school's learners, and the centres' results
(client credentials, scope ``exams:results``). Thin handlers over ``services``/``selectors``."""

from __future__ import annotations

from typing import Any

from ninja import Router

from jiaoguan.core.api import ErrorOut

router = Router(tags=["exams"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


# ---------------------------------------------------------------- public plans and allocation proof


# ---------------------------------------------------------------- learners (me)


# ---------------------------------------------------------------- driving schools


# ---------------------------------------------------------------- centres' results
