"""Plate pre-selection pages (B19, P1-P5; issue 17): the same service and selector calls as the API."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError

from . import draws as draw_rules
from . import public_draws

# ---------------------------------------------------------------- buyers (B19, P1-P5)


# ---------------------------------------------------------------- dealers (P2)


# ---------------------------------------------------------------- public draw log and seeds

PUBLIC_LOG_PAGE = 500  # rows of a day's log per page; the whole day is in the JSON file


@access_required("plates.draws.public")
def public_draws_list(request: HttpRequest) -> HttpResponse:
    """选号日志: the days with their seed commitments, revealed or not (issue 17 §3)."""
    public_draws.publish_due()
    return render(request, "plates/public_draws.html", {"days": public_draws.days(limit=60)})


@access_required("plates.draws.public")
def public_draw_day(request: HttpRequest, day: str) -> HttpResponse:
    """One day: commitment, seed (after the day), the platform's own replay, the log in words and
    how anyone recomputes a draw."""
    try:
        wanted = public_draws.parse_day(day)
        public_draws.publish_due()
        record = public_draws.day_record(wanted)
    except DomainError:
        raise Http404("day") from None
    paginator = Paginator(public_draws.day_events(record), PUBLIC_LOG_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    api_url = f"/api/v1/plate-draws/{record.day.isoformat()}"
    context = {
        "record": record,
        "revealed": record.revealed_at is not None,
        "check": public_draws.day_check(record),
        "pools": public_draws.day_pools(record),
        "rows": [public_draws.event_row(event) for event in page.object_list],
        "page": page,
        "paged": paginator.num_pages > 1,
        "api_url": api_url,
        "api_absolute": request.build_absolute_uri(api_url),
        "file_name": f"plate-draws-{record.day.isoformat()}.json",
        "candidates": draw_rules.CANDIDATES,
        "list_url": reverse("plates:draws"),
    }
    return render(request, "plates/public_draw_day.html", context)


# ---------------------------------------------------------------- counter: pools, registration, monitoring
