"""Driving-test pages (B22, B23, X1-X7; issue 16): the same service and selector calls as the API."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from jiaoguan.core.access import access_required

# ---------------------------------------------------------------- public plans and allocation proof


# ---------------------------------------------------------------- learners (B22, B23)


# ---------------------------------------------------------------- driving schools


# ---------------------------------------------------------------- counter: centres, plans, results, learners


# ---------------------------------------------------------------- counter: monitoring (X6)


@never_cache
@access_required("exams.monitoring.view")
def counter_monitoring(request: HttpRequest) -> HttpResponse:
    """Abnormal patterns of the last week or month in the jurisdiction (考试业务监管, X6). The flags
    are counts; the few rows under a flag show masked ids only. Each view is audited (X7)."""
    from django.utils import translation

    from jiaoguan.core.audit import audit_record

    from . import monitoring

    report = monitoring.flags_for(actor=request.user, period=request.GET.get("period", ""))
    english = (translation.get_language() or "").lower().startswith("en")
    audit_record(
        actor=request.user, action="view", subject=cast(Any, request.user),
        summary=f"查看考试业务监管 exam monitoring viewed ({report.period.value}, {len(report.flags)} flags)",
        request=request,
    )  # fmt: skip
    flags = [
        {"flag": f, "words": f.en if english else f.zh, "figures": sorted(f.figures.items())}
        for f in report.flags
    ]
    return render(
        request,
        "exams/counter/monitoring.html",
        {
            "report": report, "flags": flags, "periods": list(monitoring.Period),
            "period_words": report.period.label_en if english else report.period.label_zh,
            "thresholds": {
                "school_moves": monitoring.SCHOOL_MOVES_MIN, "school_days": monitoring.SCHOOL_MOVES_DAYS,
                "examiner_gap": monitoring.EXAMINER_GAP_POINTS, "examiner_min": monitoring.EXAMINER_MIN_RESULTS,
            },
        },
    )  # fmt: skip
