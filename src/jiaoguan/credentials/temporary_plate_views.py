"""Pages of dealers' temporary plates (临时号牌, B18, issue 14): the dealer's list, apply form,
plate page with its QR, printed plate (PDF), and the staff list of the jurisdiction."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import add_domain_error
from jiaoguan.core.access import access_required, can
from jiaoguan.core.errors import DomainError
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import TemporaryPlate
from jiaoguan.registry.rules import VehicleKind

from . import render as qr_render
from . import temporary_plates
from .forms import TemporaryPlateForm
from .token import TEMPORARY_PLATE, DisplayMode

APPLY = "registry.temporary_plate.apply"
VIEW = "registry.temporary_plate.view"
REVOKE = "registry.temporary_plate.revoke"


def _english() -> bool:
    return (translation.get_language() or "").startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def kind_choices() -> list[tuple[str, str]]:
    return [(k.value, _words(k.label_zh, k.label_en)) for k in VehicleKind]


def _kind_words(kind: str) -> str:
    try:
        found = VehicleKind(kind)
    except ValueError:
        return kind
    return _words(found.label_zh, found.label_en)


def _dealer_only(request: HttpRequest) -> None:
    """An organisation user that is not a car dealer is told who the pages are for (U5)."""
    if getattr(request.user, "organisation_id", None):
        registry_services.dealer_of(actor=request.user)


def _row(plate: TemporaryPlate) -> dict[str, Any]:
    shown = registry_selectors.temporary_plate_view(plate, today=timezone.localdate())
    shown["state_words"] = _words(shown["state_zh"], shown["state_en"])
    shown["kind_words"] = _kind_words(plate.kind)
    return shown


def _plate_for(request: HttpRequest, plate_id: int) -> TemporaryPlate:
    plate = registry_selectors.temporary_plate_get(actor=request.user, plate_id=plate_id)
    if plate is None:
        raise Http404("temporary plate")
    return plate


@access_required(APPLY)
def dealer_plates(request: HttpRequest) -> HttpResponse:
    """The dealer's temporary plates, newest first, and the application form (B18)."""
    _dealer_only(request)
    form = TemporaryPlateForm(request.POST or None, kind_choices=kind_choices())
    if request.method == "POST" and form.is_valid():
        try:
            plate = temporary_plates.temporary_plate_apply(
                actor=request.user, data=form.cleaned_data, request=request
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("临时号牌 %(number)s 已核发，有效期至 %(date)s。请打印后放置在车辆前后风窗玻璃内。")
                % {"number": plate.number, "date": plate.valid_until.isoformat()},
            )
            return redirect("credentials:dealer_temporary_plate", plate.pk)
    rows = [_row(p) for p in registry_selectors.temporary_plates_visible_to(actor=request.user)
            .order_by("-issued_at", "-pk")[:100]]  # fmt: skip
    return render(
        request,
        "credentials/temporary_plates.html",
        {"form": form, "plates": rows},
        status=422 if form.errors else 200,
    )


@access_required(VIEW)
def dealer_plate(request: HttpRequest, plate_id: int) -> HttpResponse:
    """One temporary plate with its QR (on-screen), print link and the state in words."""
    plate = _plate_for(request, plate_id)
    shown = _row(plate)
    qr_svg, qr_problem = "", ""
    if shown["state"] in ("valid", "not_yet_valid"):
        try:
            token = temporary_plates.temporary_plate_token(plate=plate, mode=DisplayMode.OFFLINE)
        except DomainError as error:  # no signing key at hand: the plate is shown, its QR is not
            qr_problem = error.message
        else:
            qr_svg = qr_render.qr_svg(token.text, label=plate.number)
    return render(
        request,
        "credentials/temporary_plate.html",
        {
            "p": shown,
            "qr_svg": qr_svg,
            "qr_problem": qr_problem,
            "can_revoke": shown["state"] != "revoked" and can(request.user, REVOKE),
            "is_dealer": bool(getattr(request.user, "organisation_id", None)),
        },
    )


def _pdf_rows(plate: TemporaryPlate) -> list[tuple[str, str]]:
    with translation.override("zh-hans"):
        kind = _kind_words(plate.kind)
    return [
        ("号牌号码", plate.number),
        ("车辆识别代号", temporary_plates.masked_vin(plate.vin)),
        ("品牌型号", plate.brand_model),
        ("车辆类型", kind),
        ("申领单位", plate.dealer.name),
        ("核发次数", f"第{plate.issue_no}次（最多3次）"),
    ]


@access_required(VIEW)
def dealer_plate_pdf(request: HttpRequest, plate_id: int) -> HttpResponse:
    """The printed temporary plate (A6, like the printed inspection mark): rows, validity and the QR,
    which lives to the end of the plate's last day and is checked online at /verify/."""
    plate = _plate_for(request, plate_id)
    try:
        token = temporary_plates.temporary_plate_token(plate=plate, mode=DisplayMode.PRINTED)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("credentials:dealer_temporary_plate", plate.pk)
    verify_url = request.build_absolute_uri(reverse("credentials:verify"))
    from .views import _issuer_name

    pdf = qr_render.credential_pdf(
        title_zh=TEMPORARY_PLATE.name_zh,
        title_en=TEMPORARY_PLATE.name_en,
        number=plate.number,
        rows=_pdf_rows(plate),
        qr_text=token.text,
        validity=f"有效期 {plate.valid_from:%Y-%m-%d} 至 {plate.valid_until:%Y-%m-%d}",
        issuer=_issuer_name(),
        note=f"请放置在车辆前后风窗玻璃内。凭二维码核验真伪和当前状态：{verify_url}",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="temporary-plate-{plate.pk}.pdf"'
    return response


@access_required(VIEW)
def counter_plates(request: HttpRequest) -> HttpResponse:
    """Staff: the temporary plates issued to dealers of the jurisdiction, searchable by number or VIN."""
    query = (request.GET.get("q") or "").strip().upper()[:17]
    qs = registry_selectors.temporary_plates_visible_to(actor=request.user).order_by("-issued_at", "-pk")
    if query:
        qs = qs.filter(number__icontains=query) | qs.filter(vin=query)
    return render(
        request,
        "credentials/temporary_plates_counter.html",
        {"plates": [_row(p) for p in qs[:100]], "q": query},
    )


@require_POST
@access_required(REVOKE)
def counter_plate_revoke(request: HttpRequest, plate_id: int) -> HttpResponse:
    """Staff revoke a plate with a reason (kept in the audit log); its QR then verifies as revoked."""
    try:
        registry_services.temporary_plate_revoke(
            actor=request.user, plate_id=plate_id, reason=request.POST.get("reason", ""), request=request
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("temporary plate") from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("临时号牌已撤销。"))
    return redirect("credentials:dealer_temporary_plate", plate_id)
