"""Pages for fine payments: the payer's result page after the gateway (B17) and the counter's
daily reconciliation (对账).

The result page never trusts the redirect: ``payments.services.payment_return`` asks the
gateway, so a paid order shows as paid even before the gateway's callback arrives, and an
unknown result stays "being confirmed" (it blocks other channels until settled, V5).
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from jiaoguan.core.access import access_required
from jiaoguan.core.errors import NotFound
from jiaoguan.integrations.payment_gateway import GatewayError

from . import services
from .kinds import payable_kind
from .models import PaymentOrder, ReconciliationRun


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


@never_cache
@access_required("payments.fine.pay_online")
def payment_return(request: HttpRequest) -> HttpResponse:
    """支付结果: the gateway sends the payer back here; the answer is asked of the gateway."""
    user = cast(Any, request.user)
    number = request.GET.get("out_trade_no", "")
    cancelled = request.GET.get("result") == "cancel"
    unreachable = False
    try:
        order = services.payment_return(actor=user, order_number=number, cancelled=cancelled)
    except NotFound:
        raise Http404("order") from None
    except GatewayError:
        # The gateway answered something unexpected: the order stays as it was (pending).
        unreachable = True
        try:
            order = services.payment_get(actor=user, order_number=number)
        except NotFound:
            raise Http404("order") from None
    payable = order.payable
    kind = payable_kind(payable.kind)
    context: dict[str, Any] = {
        "state": order.state,
        "order": {
            "number": order.order_number,
            "amount": _yuan(order.amount_fen),
            "late_fee": _yuan(order.late_fee_fen) if order.late_fee_fen else "",
            "created_at": order.created_at,
            "paid_at": order.paid_at,
        },
        "reference": payable.reference,
        "description": payable.description,
        "back_url": kind.payer_url(payable),
        "list_url": kind.payer_list_url(),
        "refresh_url": f"{reverse('payments:return')}?{urlencode({'out_trade_no': order.order_number})}",
        "cancelled": cancelled,
        "unreachable": unreachable or order.note.startswith("结果未知"),
    }
    response = render(request, "payments/return.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@access_required("payments.reconcile")
def reconciliation(request: HttpRequest) -> HttpResponse:
    """每日对账: the runs so far and a button to reconcile today's statement now."""
    user = request.user
    if request.method == "POST":
        run = services.payments_reconcile_by_staff(actor=user, day=timezone.localdate(), request=request)
        if run.error:
            messages.warning(request, _("对账未完成：无法取得支付平台的对账单，请稍后重试。"))
        else:
            messages.success(
                request,
                _(
                    "对账完成：账单 %(lines)s 笔，补记到账 %(settled)s 笔，重复扣款退款 %(duplicates)s 笔，关闭未支付 %(closed)s 笔，仍待确认 %(pending)s 笔。"
                )
                % {
                    "lines": run.statement_lines,
                    "settled": run.settled,
                    "duplicates": run.duplicates,
                    "closed": run.closed,
                    "pending": run.still_pending,
                },
            )
        return redirect("payments:reconciliation")
    runs = list(ReconciliationRun.objects.order_by("-started_at", "-id")[:30])
    pending = PaymentOrder.objects.filter(
        state=PaymentOrder.State.PENDING, channel=PaymentOrder.Channel.ONLINE
    ).count()
    context = {"runs": runs, "pending": pending, "today": timezone.localdate()}
    return render(request, "payments/reconciliation.html", context)
