"""``/metrics`` in Prometheus' text format (django-prometheus), for the monitoring system only.

Request counts and latencies by view, database and process figures. Not public: answered to
the addresses in ``JIAOGUAN_METRICS_ALLOWED`` (the direct peer, never a forwarded header) or
to a caller presenting ``Authorization: Bearer <JIAOGUAN_METRICS_TOKEN>``. Under several
server worker processes the figures of all of them are summed through
``PROMETHEUS_MULTIPROC_DIR``, which ``jiaoguan serve`` sets.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView


def metrics_allowed(*, peer_address: str, authorization: str, allowed: list[str], token: str) -> bool:
    """Whether a scrape from ``peer_address`` with this Authorization header may read the metrics."""
    if token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    return peer_address in allowed


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(
        peer_address=request.META.get("REMOTE_ADDR", ""),
        authorization=request.headers.get("Authorization", ""),
        allowed=settings.METRICS_ALLOWED_ADDRESSES,
        token=settings.METRICS_TOKEN,
    ):
        return HttpResponse(
            "403 无权读取监控指标。Metrics are not available to this caller.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return ExportToDjangoView(request)
