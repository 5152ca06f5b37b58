"""Demo-only pages of the fake outside systems: the SMS inbox testers read their codes from."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .models import FakeSmsMessage

INBOX_SIZE = 50


def sms_inbox(request: HttpRequest) -> HttpResponse:
    """The latest messages of the fake SMS gateway, newest first; refreshed every 5 s with htmx."""
    if not settings.DEMO_MODE:
        raise Http404("demo only")
    mobile = "".join(ch for ch in request.GET.get("mobile", "") if ch.isdigit())[:11]
    rows = FakeSmsMessage.objects.order_by("-received_at", "-id")
    if mobile:
        rows = rows.filter(mobile__contains=mobile)
    context = {"sms": list(rows[:INBOX_SIZE]), "mobile": mobile, "size": INBOX_SIZE}
    template = "integrations/_inbox.html" if request.htmx else "integrations/sms_inbox.html"  # type: ignore[attr-defined]
    return render(request, template, context)
