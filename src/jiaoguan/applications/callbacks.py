"""The postal service's tracking callback (邮件跟踪通知, issue 13): outside the session API, like
the payment notice; signed by the postal service, so no login and no CSRF token."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services import postal_callback_receive


@csrf_exempt
@require_POST
def postal_tracking_callback(request: HttpRequest) -> JsonResponse:
    status, answer = postal_callback_receive(body=request.body, headers=request.headers)
    return JsonResponse(answer, status=status)
