"""JSON log lines for the production profile (日志), each with the id of the request it belongs to.

One JSON object per line on stdout, so a log shipper needs no parser: ``time``, ``level``,
``logger``, ``message``, ``request_id`` and, on the access line written once per request,
``method``, ``path``, ``status`` and ``duration_ms``. The request id is the one answered in
``X-Request-ID`` (core.middleware.RequestIdMiddleware), so a citizen's support call, the access
line and any error logged while serving it can be matched.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

_current_request_id: ContextVar[str] = ContextVar("jiaoguan_request_id", default="")

# Fields a record may carry (logger.info(..., extra={...})) that are written as their own keys.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")

access_logger = logging.getLogger("jiaoguan.access")


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request being served in this thread ("" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            # django.request logs a 4xx/5xx after the middleware has finished, with the request.
            request = getattr(record, "request", None)
            record.request_id = str(getattr(request, "request_id", "") or _current_request_id.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or _current_request_id.get(),
        }
        for field in ACCESS_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestLogMiddleware:
    """Writes the access line of each request and lends its id to every record logged meanwhile.

    Sits right after RequestIdMiddleware, which has given the request its id.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = str(getattr(request, "request_id", "") or "")
        token = _current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                status,
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            _current_request_id.reset(token)
