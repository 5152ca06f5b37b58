"""Pages for electronic credentials (E1-E6, D1-D4): mine, showing one, applying, verifying.

Thin views over ``credentials.services`` and ``credentials.selectors``: tokens are minted
by the service when a page shows them and never stored; the verifier page is public and
answers every input with a verdict, never with an error page.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from jiaoguan.accounts.forms import add_domain_error
from jiaoguan.accounts.models import User
from jiaoguan.core.access import access_required, can
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import division_name
from jiaoguan.core.errors import Conflict, DomainError, NotFound
from jiaoguan.core.identifiers import mask_id_number, mask_name, parse_plate
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry.models import Vehicle
from jiaoguan.registry.selectors import VehicleStatus, vehicle_status
from jiaoguan.registry.views import PLATE_TYPE_LABELS, vehicle_card

from . import photos, selectors, services
from . import render as qr_render
from .forms import ExemptApplyForm, LicencePhotoForm, PhotoReviewForm, PlateLookupForm, VerifyForm
from .models import Credential, LicenceApplication, PaperMarkRequest
from .token import REMARKS, SCHEMAS, TEMPORARY_PLATE, DisplayMode, int_date
from .verify import SUBJECT_ROWS, UNREADABLE_REASONS, Verdict, photo_matches

logger = logging.getLogger(__name__)

VI1 = Credential.Kind.INSPECTION_MARK.value
DL1 = Credential.Kind.DRIVING_LICENCE.value
CURRENT = (Credential.Status.VALID.value, Credential.Status.SUSPENDED.value)
LONG_TERM = date(9999, 12, 31)

# Refresh the on-screen QR this long before its token expires (JS and the no-JS reload).
REFRESH_BEFORE_SECONDS = 20

KIND_NAMES: dict[str, Promise] = {
    VI1: gettext_lazy("检验标志电子凭证"),
    DL1: gettext_lazy("电子驾驶证"),
}

STATUS_STATES: dict[str, tuple[Promise, str]] = {
    "valid": (gettext_lazy("有效"), "ok"),
    "suspended": (gettext_lazy("暂停使用"), "amber"),
    "revoked": (gettext_lazy("已撤销"), "red"),
    "superseded": (gettext_lazy("已被新凭证替代"), "red"),
    "unknown": (gettext_lazy("未知"), "red"),
}

APPLICATION_STATES: dict[str, tuple[Promise, str]] = {
    LicenceApplication.State.SUBMITTED.value: (gettext_lazy("待审核"), "amber"),
    LicenceApplication.State.APPROVED.value: (gettext_lazy("已通过"), "ok"),
    LicenceApplication.State.REJECTED.value: (gettext_lazy("未通过"), "red"),
}

MODE_NAMES: dict[str, Promise] = {
    "online": gettext_lazy("在线出示（实时生成）"),
    "offline": gettext_lazy("离线凭证（下载保存）"),
    "printed": gettext_lazy("纸质打印"),
}

CHECK_NAMES: dict[str, Promise] = {
    "signature": gettext_lazy("签名"),
    "validity": gettext_lazy("有效期"),
    "freshness": gettext_lazy("在线动态码"),
    "status": gettext_lazy("当前状态"),
}

DELIVERY_DONE: dict[str, Promise] = {
    PaperMarkRequest.Delivery.POST.value: gettext_lazy("纸质检验标志将邮寄到您填写的地址。"),
    PaperMarkRequest.Delivery.PICKUP.value: gettext_lazy("请携带身份证明到车管所窗口领取纸质检验标志。"),
}

# Actions of the access table (core.access) that guard these pages.
OWN_VIEW = "credentials.own.view"
APPLY_EXEMPT = "credentials.mark.apply_exempt"
LICENCE_APPLY = "credentials.licence.apply"
PHOTO_REVIEW = "credentials.photo.review"
PLATE_CHECK = "credentials.plate.check"
VERIFY = "credentials.verify"


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _day(value: Any) -> date | None:
    """A date from the signed data (days since 1970) or a model field; None for long-term."""
    if isinstance(value, date):
        return None if value >= LONG_TERM else value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return int_date(value)
        except OverflowError:
            return None
    return None


def _moment(timestamp: int | None) -> datetime | None:
    if timestamp is None:
        return None
    try:
        return timezone.localtime(datetime.fromtimestamp(timestamp, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None


def _masked_number(number: Any) -> str:
    """The licence number as signed (first 6 and last 4 of the ID number), masked in between."""
    text = str(number or "")
    return text[:6] + "*" * 8 + text[6:] if len(text) == 10 else mask_id_number(text)


def _remark_texts(codes: Any) -> list[str]:
    out = []
    for text in codes or []:
        # A remark may carry its facts after the code (M3: the military first issue, classes and
        # added classes, O3), shown after the remark's words.
        code, _sep, detail = str(text).partition(" ")
        zh, en = REMARKS.get(code, ("", ""))
        words = f"{code} {_words(zh, en)}".strip()
        out.append(f"{words}（{detail}）" if detail else words)
    return out


def reason_words(credential: Credential) -> str:
    """Why a credential is not valid, in words and saying what to do."""
    reason = credential.status_reason or ""
    fixed: dict[str, str] = {
        "inspection lapsed": _("检验有效期已过，请先检验；检验合格后自动恢复。"),
        "licence expired": _("驾驶证已超过有效期，请先办理期满换证。"),
        "vehicle status": _("机动车当前状态不正常（如被查封、扣押或锁定），请联系车管所。"),
        "licence status": _("驾驶证当前状态不正常（如暂扣、记满12分或锁定），请联系车管所。"),
        services.RECORD_INVALID: _(
            "登记信息未通过核验（如号牌号码、车辆识别代号或证件号码有误），凭证暂停使用，请到车管所核对。"
        ),
        services.VEHICLE_STATUS_UNKNOWN: _("机动车登记状态为未知状态，凭证暂停使用，请联系车管所核对。"),
        services.LICENCE_STATUS_UNKNOWN: _("驾驶证登记状态为未知状态，凭证暂停使用，请联系车管所核对。"),
    }
    if reason in fixed:
        return fixed[reason]
    for prefix, table in (
        ("vehicle status ", registry_rules.VEHICLE_STATUS),
        ("licence status ", registry_rules.LICENCE_STATUS),
    ):
        if reason.startswith(prefix):
            try:
                described = registry_rules.describe_statuses(reason[len(prefix) :], table)
            except ValueError:
                break
            named = "、".join(f"{code} {_words(zh, en)}" for code, zh, en in described)
            return _("登记状态为%(statuses)s，凭证已停止使用。") % {"statuses": named}
    if reason.startswith("reissued"):
        return _("已签发新的凭证，请使用新凭证。")
    if reason.startswith(services.REVOKED_BY_STAFF):
        return _("已由公安机关交通管理部门撤销（%(why)s），不能再出示。如有疑问请联系车管所。") % {
            "why": reason[len(services.REVOKED_BY_STAFF) :]
        }
    return reason


def _lapsed(credential: Credential) -> bool:
    return credential.valid_until < timezone.localdate()


def _showable(credential: Credential) -> bool:
    """A token can be shown: valid on record and within its legal validity."""
    return credential.status == Credential.Status.VALID and not _lapsed(credential)


_LAPSED_REASONS: dict[str, Any] = {
    VI1: gettext_lazy("检验有效期已过，请先检验；检验合格后自动恢复。"),
    DL1: gettext_lazy("驾驶证已超过有效期，请先办理期满换证。"),
}


def _issuer_name() -> str:
    try:
        office = division_name(settings.JIAOGUAN_JURISDICTION)
    except Exception:  # an unlisted code still prints something sensible
        office = settings.JIAOGUAN_JURISDICTION
    return f"{office}公安局交通警察支队"


# ---------------------------------------------------------------- access


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _my_credential(request: HttpRequest, public_id: Any) -> Credential:
    """One of my credentials; anyone else's is a 404, the same answer as a missing one."""
    try:
        return selectors.my_credential_get(user=request.user, public_id=str(public_id))
    except NotFound:
        raise Http404("credential") from None


# ---------------------------------------------------------------- cards in words


def _status_of(vehicle: Vehicle, today: date) -> VehicleStatus | None:
    """The vehicle's Q1 status, or None when its stored values cannot be read (never a 500)."""
    try:
        return vehicle_status(vehicle, today=today)
    except (ValueError, KeyError) as error:
        logger.warning("vehicle %s: stored values cannot be read (%s)", vehicle.pk, error)
        return None


def _status_text(code: str) -> str:
    zh_en = registry_rules.VEHICLE_STATUS.get(code)
    return _words(*zh_en) if zh_en else _("未知状态")


def _unreadable_card(vehicle: Vehicle) -> dict[str, Any]:
    """What a page can still say of a vehicle whose stored values the tables do not know."""
    owner = vehicle.owner_person or vehicle.owner_organisation
    return {
        "id": vehicle.pk,
        "unreadable": True,
        "plate_number": vehicle.plate_number,
        "plate_colour": "blue",
        "plate_type_label": PLATE_TYPE_LABELS.get(vehicle.plate_type, vehicle.plate_type),
        "kind": vehicle.kind,
        "use": vehicle.use_nature,
        "owner_masked": mask_name(owner.name)
        if vehicle.owner_person_id and owner
        else getattr(owner, "name", ""),
        "statuses": [{"code": c, "text": _status_text(c)} for c in (vehicle.status or "A")],
        "inspection_valid_until": None,
        "inspection_state": _("未知"),
        "inspection_level": "red",
        "next_inspection_on_site": None,
    }


def _card(vehicle: Vehicle, status: VehicleStatus | None) -> dict[str, Any]:
    return vehicle_card(status) if status is not None else _unreadable_card(vehicle)


def _exempt_eligible(user: User, vehicle: Vehicle, status: VehicleStatus | None) -> bool:
    """The owner may apply online for the label now (E2): label-only, in the 3-month window."""
    if status is None or not can(user, APPLY_EXEMPT) or services.vehicle_problem(vehicle)[0]:
        return False
    stored = set(vehicle.status or "A")
    return (
        bool(user.person_id)
        and vehicle.owner_person_id == user.person_id
        and not status.next_inspection_on_site
        and status.inspection_state == "due_soon"
        and not stored & (services.VEHICLE_REVOKING | services.VEHICLE_SUSPENDING)
    )


def _record_refusal(vehicle: Vehicle) -> str:
    """Why no mark can be signed from the vehicle's record as stored, in words; "" when it can."""
    problem = services.vehicle_problem(vehicle)[0]
    if problem == services.VEHICLE_STATUS_UNKNOWN:
        codes = services.unknown_codes(vehicle.status, registry_rules.VEHICLE_STATUS)
        return _("机动车登记状态为未知状态（%(codes)s），暂不能签发检验标志，请联系车管所核对。") % {
            "codes": codes
        }
    if problem:
        return _(
            "机动车登记信息未通过核验（如号牌号码、车辆识别代号有误），暂不能签发检验标志，请到车管所核对。"
        )
    return ""


def _exempt_refusal(user: User, vehicle: Vehicle, status: VehicleStatus | None) -> str:
    """Why the owner cannot apply online for the label now, in words."""
    if _exempt_eligible(user, vehicle, status):
        return ""
    if vehicle.owner_person_id is None or vehicle.owner_person_id != user.person_id:
        return _("网上申领检验标志仅限个人名下车辆，单位车辆请到车管所窗口申领。")
    refused = _record_refusal(vehicle)
    if refused or status is None:
        return refused or _("机动车登记信息无法识别，请联系车管所核对。")
    if set(vehicle.status or "A") & (services.VEHICLE_REVOKING | services.VEHICLE_SUSPENDING):
        return _("机动车当前登记状态不正常，不能申领检验标志，请联系车管所。")
    if status.next_inspection_on_site:
        return _("本次检验须上线检验，不能网上申领检验标志，请预约检验。")
    if status.inspection_state == "overdue":
        return _("检验已逾期，请到检验机构检验。")
    return _("检验有效期满前三个月内才能申领，%(date)s 以后再来办理。") % {
        "date": registry_rules.inspection_window_start(status.inspection_valid_until).isoformat()
    }


def _vehicle_words(status: VehicleStatus | None, vehicle: Vehicle) -> dict[str, Any]:
    return {
        "plate_number": vehicle.plate_number,
        "plate_colour": status.plate_colour if status else "blue",
        "plate_type_label": PLATE_TYPE_LABELS.get(vehicle.plate_type, vehicle.get_plate_type_display()),
        "on_site": status.next_inspection_on_site if status else False,
    }


def _credential_card(
    credential: Credential,
    *,
    user: User,
    statuses: dict[int, VehicleStatus | None] | None = None,
) -> dict[str, Any]:
    """One credential for the list and its own page: state, subject and validity in words."""
    state, level = STATUS_STATES.get(credential.status, STATUS_STATES["unknown"])
    reason = reason_words(credential) if credential.status != "valid" else ""
    if _lapsed(credential):
        # Valid on record, but its legal validity is over: the status sync has not run yet.
        state, level = gettext_lazy("已过有效期"), "red"
        reason = _LAPSED_REASONS[credential.kind]
    data = credential.data or {}
    card: dict[str, Any] = {
        "public_id": str(credential.public_id),
        "url": reverse("credentials:detail", args=[credential.public_id]),
        "kind": credential.kind,
        "kind_name": KIND_NAMES.get(credential.kind, credential.kind),
        "status": credential.status,
        "state": state,
        "level": level,
        "reason": reason,
        "showable": _showable(credential),
        "valid_until": _day(credential.valid_until),
        "issued_at": credential.issued_at,
        "exempt_url": "",
    }
    if credential.kind == VI1 and credential.vehicle is not None:
        vehicle = credential.vehicle
        status: VehicleStatus | None
        if statuses is not None and vehicle.pk in statuses:
            status = statuses[vehicle.pk]
        else:
            status = _status_of(vehicle, timezone.localdate())
        card.update(_vehicle_words(status, vehicle))
        # A filed vehicle (备案车辆, U7): its driver shows the mark, but the owner's data stays
        # the owner's, and applying or booking for the car is the owner's business.
        shared = selectors.is_shared(user=user, credential=credential)
        card.update(
            {
                "plate_number": data.get("plate") or vehicle.plate_number,
                "vin_tail": data.get("vin_tail", ""),
                "owner": "" if shared else data.get("owner", ""),
                "vehicle_id": vehicle.pk,
                "filed": shared,
            }
        )
        if not shared and _exempt_eligible(user, vehicle, status):
            card["exempt_url"] = reverse("credentials:exempt", args=[vehicle.pk])
        if not shared and status is not None and status.inspection_state == "overdue":
            card["book_url"] = reverse("inspections:book", args=[vehicle.pk])
    elif credential.kind == DL1:
        # The holder's own display shows the full name and the approved photo, as the paper
        # licence does; the QR itself carries only the masked name and the photo's digest (D1).
        licence = credential.licence
        full_name = licence.holder.name if licence is not None else ""
        card.update(
            {
                "name": full_name or mask_name(str(data.get("name", ""))),
                "photo_url": reverse("credentials:photo", args=[credential.public_id])
                if services.credential_photo(credential) is not None
                else "",
                "number": _masked_number(data.get("number")),
                "classes": data.get("classes", ""),
                "first_issued": _day(data.get("first_issued")),
                "valid_from": _day(data.get("valid_from")),
                "remarks": _remark_texts(data.get("remarks")),
            }
        )
    return card


def _vehicle_without_mark(user: User, vehicle: Vehicle, status: VehicleStatus | None) -> dict[str, Any]:
    """A vehicle of mine with no current mark, and why, with the way to get one."""
    item = {"id": vehicle.pk, **_vehicle_words(status, vehicle), "exempt_url": "", "book_url": ""}
    stored = "".join(sorted(set(vehicle.status or "A") - {"A"}))
    blocking = set(stored) & (services.VEHICLE_REVOKING | services.VEHICLE_SUSPENDING)
    refused = _record_refusal(vehicle)
    if refused or status is None:
        item["reason"] = refused or _("机动车登记信息无法识别，暂不能签发检验标志，请联系车管所核对。")
        item["level"] = "red"
    elif blocking:
        named = "、".join(
            f"{code} {_words(zh, en)}"
            for code, zh, en in registry_rules.describe_statuses(
                "".join(sorted(blocking)), registry_rules.VEHICLE_STATUS
            )
        )
        item["reason"] = _("机动车登记状态为%(statuses)s，不能签发检验标志。") % {"statuses": named}
        item["level"] = "red"
    elif status.inspection_state == "overdue":
        item["reason"] = _("检验已逾期，请先检验；检验合格后自动生成电子检验标志。")
        item["level"] = "red"
        item["book_url"] = reverse("inspections:book", args=[vehicle.pk])
    elif _exempt_eligible(user, vehicle, status):
        item["reason"] = _("本次检验为免检（仅发标志），已可网上申领检验标志。")
        item["level"] = "amber"
        item["exempt_url"] = reverse("credentials:exempt", args=[vehicle.pk])
    elif status.inspection_state == "due_soon" and not status.next_inspection_on_site:
        item["reason"] = _("网上申领检验标志仅限个人名下车辆，单位车辆请到车管所窗口申领。")
        item["level"] = "amber"
    elif status.inspection_state == "due_soon":
        item["reason"] = _("检验即将到期，本次须上线检验，请预约检验。")
        item["level"] = "amber"
        item["book_url"] = reverse("inspections:book", args=[vehicle.pk])
    else:
        item["reason"] = _("电子检验标志尚未生成，检验合格或办理机动车业务后自动生成。")
        item["level"] = "amber"
    return item


def _application_view(application: LicenceApplication | None) -> dict[str, Any] | None:
    if application is None:
        return None
    state, level = APPLICATION_STATES.get(application.state, (application.state, "amber"))
    credential = application.credential
    return {
        "state": application.state,
        "state_words": state,
        "level": level,
        "submitted_at": application.submitted_at,
        "reviewed_at": application.reviewed_at,
        "note": application.review_note,
        "credential_url": reverse("credentials:detail", args=[credential.public_id])
        if credential is not None and credential.status in CURRENT
        else "",
    }


# ---------------------------------------------------------------- my credentials


@access_required(OWN_VIEW)
def credential_list(request: HttpRequest) -> HttpResponse:
    """My inspection marks and electronic licence, and what to do for those I lack (E1, E2, D1)."""
    user = _user(request)
    today = timezone.localdate()
    vehicles = list(registry_selectors.my_vehicles(user=user))
    statuses = {v.pk: _status_of(v, today) for v in vehicles}
    credentials = list(selectors.my_credentials(user=user))
    marks = [
        _credential_card(c, user=user, statuses=statuses) for c in credentials if c.kind == VI1 and c.vehicle
    ]
    licence_cards = [_credential_card(c, user=user) for c in credentials if c.kind == DL1]
    marked = {c.vehicle_id for c in credentials if c.kind == VI1 and c.status in CURRENT}
    without = [_vehicle_without_mark(user, v, statuses[v.pk]) for v in vehicles if v.pk not in marked]

    licence_offer: dict[str, Any] | None = None
    licence = registry_selectors.my_licences(user=user).first()
    if licence is not None and not any(c.kind == DL1 and c.status in CURRENT for c in credentials):
        latest = (
            LicenceApplication.objects.filter(licence=licence)
            .select_related("credential")
            .order_by("-submitted_at", "-id")
            .first()
        )
        licence_offer = {"application": _application_view(latest)}
    return render(
        request,
        "credentials/list.html",
        {
            "marks": marks,
            "licences": licence_cards,
            "without": without,
            "licence_offer": licence_offer,
            "can_apply_licence": can(user, LICENCE_APPLY),
        },
    )


def _online_qr(
    request: HttpRequest, credential: Credential, *, checked_at: datetime | None = None
) -> dict[str, Any]:
    """A fresh on-screen token (E3 online) as inline SVG with its expiry.

    ``checked_at``: the QR shown before was just verified, so the holder is told when.
    """
    shown = services.credential_show(credential=credential, mode=DisplayMode.ONLINE)
    text, expires_at = shown.text, shown.expires_at
    ttl = max(0, expires_at - int(timezone.now().timestamp()))
    modules = 17 + 4 * qr_render.qr_version(text) + 8
    scale = max(3, min(6, 280 // modules))  # at most 280 px: fits a 360 px screen, elder mode too
    label = _("%(kind)s二维码，出示给核验人员扫描") % {"kind": KIND_NAMES.get(credential.kind, "")}
    return {
        "token": text,
        "expires_at": expires_at,
        "expires": _moment(expires_at),
        "ttl": ttl,
        "svg": qr_render.qr_svg(text, scale=scale, label=label),
        "refresh_url": reverse("credentials:qr", args=[credential.public_id]),
        "reload_after": max(5, ttl - REFRESH_BEFORE_SECONDS),
        "nonce": shown.nonce,
        "checked": _checked_words(checked_at) if checked_at else "",
    }


def _checked_words(checked_at: datetime) -> str:
    at = timezone.localtime(checked_at).strftime("%H:%M")
    return _words(
        f"已于 {at} 核验。刚才的二维码已用过，已换成新的。",
        f"Checked at {at}. That QR has been used; here is a new one.",
    )


def _last_check_words(checked_at: datetime | None) -> str:
    if checked_at is None:
        return ""
    moment = timezone.localtime(checked_at)
    when = (
        moment.strftime("%H:%M")
        if moment.date() == timezone.localdate()
        else moment.strftime("%Y-%m-%d %H:%M")
    )
    return _words(f"最近一次核验：{when}", f"Last checked: {when}")


@never_cache
@access_required(OWN_VIEW)
def credential_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    """Show one credential (E3 online): a live QR with a countdown, download and print."""
    user = _user(request)
    credential = _my_credential(request, public_id)
    card = _credential_card(credential, user=user)
    qr = None
    if card["showable"]:
        try:
            qr = _online_qr(request, credential)
        except Conflict:
            qr = None
    context = {
        "c": card,
        "qr": qr,
        "offline_days": settings.CREDENTIAL_OFFLINE_DAYS,
        "last_check": _last_check_words(getattr(credential, "last_checked_at", None)),
    }
    return render(request, "credentials/detail.html", context)


@never_cache
@access_required(OWN_VIEW)
def credential_qr(request: HttpRequest, public_id: Any) -> HttpResponse:
    """A fresh QR with its countdown as an HTML fragment, for credential.js or htmx.

    With ``?shown=<nonce>`` it answers 204 while the QR on the screen is unused, and once it
    has been verified a fresh QR with the time of the check, so the holder sees it (E3).
    """
    credential = _my_credential(request, public_id)
    shown = request.GET.get("shown", "")
    checked_at = None
    if shown:
        checked_at = selectors.online_checked_at(credential=credential, nonce=shown)
        if checked_at is None:
            return HttpResponse(status=204)
    if not _showable(credential):
        card = _credential_card(credential, user=_user(request))
        return render(request, "credentials/_qr_unavailable.html", {"c": card}, status=409)
    try:
        qr = _online_qr(request, credential, checked_at=checked_at)
    except Conflict:
        card = _credential_card(credential, user=_user(request))
        return render(request, "credentials/_qr_unavailable.html", {"c": card}, status=409)
    return render(request, "credentials/_qr.html", {"qr": qr})


def _attachment(response: HttpResponse, credential: Credential, suffix: str) -> HttpResponse:
    stamp = timezone.localdate().strftime("%Y%m%d")
    name = f"jiaoguan-{credential.kind}-{str(credential.public_id)[:8]}-{stamp}.{suffix}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _token_or_back(request: HttpRequest, credential: Credential, mode: int) -> tuple[str, int] | HttpResponse:
    if mode != DisplayMode.ONLINE and selectors.is_shared(user=request.user, credential=credential):
        # A filed vehicle's mark is shown online only: a kept copy would outlive the owner's
        # withdrawal of the filing (U7).
        messages.error(request, _("备案车辆的检验标志只能在线出示，不能下载或打印。"))
        return redirect("credentials:detail", public_id=credential.public_id)
    if _lapsed(credential):
        messages.error(request, str(_LAPSED_REASONS[credential.kind]))
        return redirect("credentials:detail", public_id=credential.public_id)
    try:
        return services.credential_token(credential=credential, mode=mode)
    except Conflict as error:
        messages.error(request, error.message)
        return redirect("credentials:detail", public_id=credential.public_id)


@access_required(OWN_VIEW)
def credential_offline_png(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The offline credential as a QR picture to keep on the phone or forward (E3 offline)."""
    credential = _my_credential(request, public_id)
    token = _token_or_back(request, credential, DisplayMode.OFFLINE)
    if isinstance(token, HttpResponse):
        return token
    photo = services.credential_photo(credential) if credential.kind == DL1 else None
    if photo is None:
        png = qr_render.qr_png(token[0], scale=8)
    else:
        png = qr_render.offline_card_png(
            title_zh=SCHEMAS[DL1].name_zh,
            title_en=SCHEMAS[DL1].name_en,
            rows=_offline_card_rows(credential),
            qr_text=token[0],
            photo=photo,
            note=f"离线凭证，有效至 {_moment(token[1]):%Y-%m-%d %H:%M}，请核验二维码。",
        )
    return _attachment(HttpResponse(png, content_type="image/png"), credential, "png")


def _offline_card_rows(credential: Credential) -> list[tuple[str, str]]:
    """The offline card's rows: the holder's full name first, then the licence as printed."""
    rows, _validity = _pdf_rows(credential)
    return [row for row in rows if row[0] in {"姓名", "证号", "准驾车型", "有效期限"}]


@never_cache
@access_required(OWN_VIEW)
def credential_holder_photo(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The approved photo of my electronic licence, for my own display (D1)."""
    credential = _my_credential(request, public_id)
    photo = services.credential_photo(credential)
    if photo is None:
        raise Http404("photo")
    response = HttpResponse(photo, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@access_required(OWN_VIEW)
def credential_offline_txt(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The offline credential as its signed text, to paste into any verifier (E3 offline)."""
    credential = _my_credential(request, public_id)
    token = _token_or_back(request, credential, DisplayMode.OFFLINE)
    if isinstance(token, HttpResponse):
        return token
    body = token[0] + "\n"
    return _attachment(HttpResponse(body, content_type="text/plain; charset=utf-8"), credential, "txt")


def _pdf_rows(credential: Credential) -> tuple[list[tuple[str, str]], str]:
    """Rows and validity line of the printed credential, in Chinese like the paper form."""
    data = credential.data or {}

    def day(value: Any) -> str:
        found = _day(value)
        return found.isoformat() if found else "长期"

    if credential.kind == VI1:
        vehicle = credential.vehicle
        with translation.override("zh-hans"):
            plate_type = str(
                PLATE_TYPE_LABELS.get(str(data.get("plate_type", "")), data.get("plate_type", ""))
            )
        rows = [
            ("号牌号码", str(data.get("plate") or (vehicle.plate_number if vehicle else "") or "")),
            ("号牌种类", plate_type),
            ("车辆识别代号后六位", str(data.get("vin_tail", ""))),
            ("所有人", str(data.get("owner", ""))),
            ("检验有效期至", day(data.get("valid_until"))),
        ]
        return rows, f"检验有效期至 {day(data.get('valid_until'))}"
    with translation.override("zh-hans"):
        remarks = "；".join(_remark_texts(data.get("remarks")))
    # The printed licence is the holder's own, like the paper one: the full name (D1).
    holder_name = credential.licence.holder.name if credential.licence is not None else ""
    rows = [
        ("姓名", holder_name or str(data.get("name", ""))),
        ("证号", _masked_number(data.get("number"))),
        ("准驾车型", str(data.get("classes", ""))),
        ("有效期限", f"{day(data.get('valid_from'))} 至 {day(data.get('valid_until'))}"),
        ("初次领证日期", day(data.get("first_issued"))),
        ("备注", remarks or "无"),
    ]
    return rows, f"有效期至 {day(data.get('valid_until'))}"


@access_required(OWN_VIEW)
def credential_print_pdf(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The printed credential: one A6 page like the paper form, with a long-lived QR (E3 printed)."""
    credential = _my_credential(request, public_id)
    token = _token_or_back(request, credential, DisplayMode.PRINTED)
    if isinstance(token, HttpResponse):
        return token
    schema = SCHEMAS[credential.kind]
    rows, validity = _pdf_rows(credential)
    verify_url = request.build_absolute_uri(reverse("credentials:verify"))
    pdf = qr_render.credential_pdf(
        title_zh=schema.name_zh,
        title_en=schema.name_en,
        number=str(credential.public_id).upper(),
        rows=rows,
        qr_text=token[0],
        validity=validity,
        issuer=_issuer_name(),
        note=f"本凭证与纸质证件具有同等效力，凭二维码核验真伪和当前状态：{verify_url}",
        photo=services.credential_photo(credential) if credential.kind == DL1 else None,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    return _attachment(response, credential, "pdf")


# ---------------------------------------------------------------- E2 exempt application


@access_required(APPLY_EXEMPT)
def exempt_apply(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """Label-only vehicles apply online for the inspection mark; a paper one on request (E2)."""
    user = _user(request)
    vehicle = get_object_or_404(registry_selectors.my_vehicles(user=user), pk=vehicle_id)
    status = _status_of(vehicle, timezone.localdate())
    if request.method == "POST":
        form = ExemptApplyForm(request.POST)
        if form.is_valid():
            delivery = form.cleaned_data["delivery"] or ""
            try:
                credential = services.inspection_exempt_apply(
                    actor=user,
                    vehicle_id=vehicle.pk,
                    delivery=delivery,
                    address=form.cleaned_data["address"] or "",
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                text = _("已申领检验标志电子凭证，检验有效期至 %(date)s。") % {
                    "date": credential.valid_until.isoformat()
                }
                if delivery in DELIVERY_DONE:
                    text = f"{text}{DELIVERY_DONE[delivery]}"
                messages.success(request, text)
                return redirect("credentials:detail", public_id=credential.public_id)
    else:
        form = ExemptApplyForm(initial={"delivery": ""})
    context = {
        "v": _card(vehicle, status),
        "eligible": _exempt_eligible(user, vehicle, status),
        "refusal": _exempt_refusal(user, vehicle, status),
        "form": form,
        "delivery_choices": form.fields["delivery"].choices,  # type: ignore[attr-defined]
        "delivery_value": form["delivery"].value() or "",
    }
    return render(request, "credentials/exempt.html", context)


# ---------------------------------------------------------------- D1 licence application


def _read_upload(upload: UploadedFile | None, limit: int) -> bytes:
    if upload is None:
        return b""
    upload.seek(0)
    return upload.read(limit + 1)


@access_required(LICENCE_APPLY)
def licence_apply(request: HttpRequest) -> HttpResponse:
    """Apply for the electronic driving licence with a photo; staff check it first (D1)."""
    user = _user(request)
    licence = registry_selectors.my_licences(user=user).first()
    current = None
    latest = None
    if licence is not None:
        current = (
            selectors.my_credentials(user=user).filter(kind=DL1, status__in=CURRENT).order_by("-pk").first()
        )
        latest = (
            LicenceApplication.objects.filter(licence=licence)
            .select_related("credential")
            .order_by("-submitted_at", "-id")
            .first()
        )
    can_apply = (
        licence is not None
        and current is None
        and (latest is None or latest.state != LicenceApplication.State.SUBMITTED)
    )
    form = LicencePhotoForm()
    if request.method == "POST" and can_apply:
        form = LicencePhotoForm(request.POST, request.FILES)
        if form.is_valid():
            photo = _read_upload(form.cleaned_data["photo"], services.PHOTO_MAX_BYTES)
            try:
                services.licence_application_submit(actor=user, photo=photo)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, _("申请已提交，照片审核通过后即签发电子驾驶证。"))
                return redirect("credentials:licence_apply")
    context = {
        "licence": licence,
        "current": _credential_card(current, user=user) if current is not None else None,
        "application": _application_view(latest),
        "can_apply": can_apply,
        "form": form,
    }
    return render(request, "credentials/licence_apply.html", context)


# ---------------------------------------------------------------- E4 verification


def _unreadable() -> Verdict:
    return Verdict(
        False,
        "unreadable",
        "无法识别该内容，不是本平台的凭证。",
        "This content cannot be read; it is not a credential of this platform.",
    )


def _verify_text(text: str) -> Verdict:
    try:
        return services.credential_verify(text=text)
    except Exception:  # a verifier answers every input; the cause goes to the log
        logger.exception("credential verification failed unexpectedly")
        return _unreadable()


def _text_from_upload(upload: UploadedFile) -> tuple[str, str]:
    """The QR text in an uploaded photo (or an offline credential file); else an error in words."""
    data = _read_upload(upload, qr_render.MAX_IMAGE_BYTES)
    head = data[:4].upper()
    if head[3:4] == b":" and head[:3].decode("ascii", "replace") in SCHEMAS:
        return data[:8192].decode("utf-8", "replace").strip(), ""
    try:
        found = qr_render.decode_qr_image(data)
    except ValueError as error:
        if "too large" in str(error):
            return "", _("照片太大，请上传8MB以内、长宽不超过4000像素的照片。")
        return "", _("无法读取该文件，请上传二维码的照片或截图（PNG、JPEG或WebP）。")
    if not found:
        return "", _("照片中没有找到二维码，请让二维码完整、清晰地位于画面中后重拍，或直接粘贴内容。")
    known = [text for text in found if text.split(":", 1)[0].upper() in SCHEMAS]
    return (known or found)[0], ""


def _photo_comparison(verdict: Verdict, shown: bytes | None) -> dict[str, Any] | None:
    """Whether the photo in an uploaded offline card is the one signed in its QR (D1, E4)."""
    if shown is None or not verdict.valid or verdict.kind != DL1:
        return None
    matches = photo_matches(verdict, shown)
    if matches is None:
        return {"ok": None, "text": _("该凭证签发时未记录照片摘要，无法比对照片。")}
    if matches:
        return {"ok": True, "text": _("离线凭证中的照片与二维码签名中的照片一致。")}
    return {"ok": False, "text": _("离线凭证中的照片与二维码签名中的照片不一致，照片可能已被替换。")}


def _verdict_view(verdict: Verdict, *, shown_photo: bytes | None = None) -> dict[str, Any]:
    """The verdict in words: answer, checks with ticks, kind and the masked subject.

    A content that cannot be read as a credential gets "无法识别" and no checks at all, so
    nothing on the page suggests any part of it passed. The holder's photo and full name
    appear only on a passing e-licence verdict (D1).
    """
    if verdict.reason in UNREADABLE_REASONS:
        return {
            "valid": False,
            "unreadable": True,
            "answer": _words("无法识别", "Not recognised"),
            "message": _words(verdict.message_zh, verdict.message_en),
            "kind": "",
            "mode": "",
            "checks": [],
            "rows": [],
            "issued_at": None,
            "expires_at": None,
            "reason": verdict.reason,
            "holder": None,
            "photo_check": None,
        }
    done = dict(verdict.checks)
    checks = []
    # The on-screen nonce is checked last, once the status is known to be valid (it is used up).
    for name in ("signature", "validity", "status", "freshness"):
        if name == "freshness" and verdict.mode != "online" and name not in done:
            continue
        ok: bool | None = done.get(name)
        checks.append({"name": CHECK_NAMES[name], "ok": ok})
    subject = verdict.subject or {}
    rows: list[tuple[Any, str]] = []
    valid_until = str(subject.get("valid_until", ""))
    if valid_until == "long":
        valid_until = _("长期")
    if verdict.kind == VI1:
        rows = [
            (gettext_lazy("号牌号码"), str(subject.get("plate", ""))),
            (gettext_lazy("检验有效期至"), valid_until),
            (gettext_lazy("所有人"), str(subject.get("owner", ""))),
        ]
    elif verdict.kind == DL1:
        rows = [
            (gettext_lazy("姓名"), mask_name(str(subject.get("name", "")))),
            (gettext_lazy("证号"), str(subject.get("number", ""))),
            (gettext_lazy("准驾车型"), str(subject.get("classes", ""))),
            (gettext_lazy("有效期至"), valid_until or _("长期")),
            (gettext_lazy("备注"), "、".join(_remark_texts(subject.get("remarks"))) or _("无")),
        ]
    elif verdict.kind == TEMPORARY_PLATE.prefix:
        # A dealer's temporary plate (B18): the number, the VIN masked, the validity, the dealer.
        rows = [
            (gettext_lazy("临时号牌号码"), str(subject.get("plate", ""))),
            (gettext_lazy("车辆识别代号"), str(subject.get("vin", ""))),
            (gettext_lazy("品牌型号"), str(subject.get("model", ""))),
            (gettext_lazy("有效期"), f"{subject.get('valid_from', '')} — {valid_until}"),
            (gettext_lazy("申领单位"), str(subject.get("dealer", ""))),
        ]
    elif verdict.kind in SUBJECT_ROWS:
        rows = list(SUBJECT_ROWS[verdict.kind](subject))
    rows = [(label, value) for label, value in rows if value]
    photo_check = _photo_comparison(verdict, shown_photo)
    if photo_check is not None and photo_check["ok"] is False:
        # Signed and valid, but the card's picture is not the one signed: not green.
        return {
            **_verdict_view(Verdict(False, "photo_mismatch", photo_check["text"], photo_check["text"])),
            "answer": _words("照片不符", "Photo does not match"),
            "message": photo_check["text"],
            "photo_check": photo_check,
        }
    checked = _moment(verdict.checked_at)
    if checked is not None:
        rows.append((_words("首次核验时间", "First checked at"), checked.strftime("%Y-%m-%d %H:%M:%S")))
    return {
        "valid": verdict.valid,
        # Not "invalid": the credential may be fine, but this on-screen QR has been used (E3).
        "answer": _words("已核验过", "Already checked") if verdict.reason == services.ALREADY_CHECKED else "",
        "message": _words(verdict.message_zh, verdict.message_en),
        "kind": _words(verdict.kind_zh, verdict.kind_en) if verdict.kind else "",
        "mode": MODE_NAMES.get(verdict.mode, "") if verdict.kind else "",
        "checks": checks,
        "rows": rows,
        "issued_at": _moment(verdict.issued_at),
        "expires_at": _moment(verdict.expires_at),
        "reason": verdict.reason,
        "unreadable": False,
        "holder": verdict.holder if verdict.valid and verdict.holder else None,
        "photo_check": photo_check,
        "is_licence": verdict.kind == DL1,
    }


@never_cache
@access_required(VERIFY)
def verify(request: HttpRequest) -> HttpResponse:
    """Public verifier (E4): scan, upload or paste; a green or red answer first, then the checks."""
    verdict = None
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data.get("photo")
            text = form.cleaned_data.get("text") or ""
            shown_photo = None
            if upload:
                text, problem = _text_from_upload(upload)
                if problem:
                    form.add_error("photo", problem)
                else:
                    # An offline e-licence card carries the photo beside its QR: compare it too.
                    shown_photo = photos.digest_in_image(_read_upload(upload, qr_render.MAX_IMAGE_BYTES))
            elif not text:
                form.add_error(None, _("请粘贴二维码内容，或上传二维码照片。"))
            if not form.errors:
                verdict = _verdict_view(_verify_text(text), shown_photo=shown_photo)
    else:
        form = VerifyForm()
    return render(request, "credentials/verify.html", {"form": form, "verdict": verdict})


@never_cache
@access_required(VERIFY)
def verified_photo(request: HttpRequest, ticket: str) -> HttpResponse:
    """The e-licence holder's photo for a checker, by the ticket of a verification that just passed."""
    try:
        photo = services.verified_photo(ticket=ticket)
    except NotFound:
        raise Http404("photo") from None
    response = HttpResponse(photo, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@access_required(PLATE_CHECK)
def verify_plate(request: HttpRequest) -> HttpResponse:
    """Police check of a vehicle's inspection status by plate, in the checker's jurisdiction (E4)."""
    user = _user(request)
    form = PlateLookupForm(request.GET if "plate" in request.GET else None)
    result = None
    searched = False
    if form.is_bound and form.is_valid():
        try:
            plate = parse_plate(form.cleaned_data["plate"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            searched = True
            found = services.vehicle_plate_check(actor=user, plate_number=plate.number, request=request)
            if found is not None:
                vehicle, mark = found
                status = _status_of(vehicle, timezone.localdate())
                mark_state = None
                if mark is not None:
                    words, level = STATUS_STATES.get(mark.status, STATUS_STATES["unknown"])
                    mark_state = {
                        "state": words,
                        "level": level,
                        "valid_until": _day(mark.valid_until),
                        "issued_at": mark.issued_at,
                        "reason": reason_words(mark) if mark.status != "valid" else "",
                    }
                result = {"v": _card(vehicle, status), "mark": mark_state}
    return render(
        request,
        "credentials/verify_plate.html",
        {"form": form, "result": result, "searched": searched and result is None},
    )


# ---------------------------------------------------------------- D1 counter photo review


def _visible_applications(user: User) -> Any:
    return selectors.licence_applications_for_review(actor=user)


def _application_row(application: LicenceApplication) -> dict[str, Any]:
    holder = application.licence.holder
    state, level = APPLICATION_STATES.get(application.state, (application.state, "amber"))
    return {
        "id": application.pk,
        "url": reverse("credentials:counter_photo", args=[application.pk]),
        "photo_url": reverse("credentials:counter_photo_image", args=[application.pk]),
        "name": mask_name(holder.name),
        "id_number": mask_id_number(holder.id_number),
        "classes": application.licence.classes,
        "submitted_at": application.submitted_at,
        "state": application.state,
        "state_words": state,
        "level": level,
        "note": application.review_note,
        "reviewed_at": application.reviewed_at,
    }


@access_required(PHOTO_REVIEW)
def counter_photos(request: HttpRequest) -> HttpResponse:
    """Queue of electronic-licence photos to review, oldest first (D1)."""
    queue = (
        _visible_applications(_user(request))
        .filter(state=LicenceApplication.State.SUBMITTED)
        .order_by("submitted_at", "id")
    )
    return render(request, "credentials/counter/photos.html", {"rows": [_application_row(a) for a in queue]})


def _visible_application(request: HttpRequest, application_id: int) -> LicenceApplication:
    application = _visible_applications(_user(request)).filter(pk=application_id).first()
    if application is None:
        raise Http404("application")
    return application


def _archive_view(application: LicenceApplication) -> dict[str, Any]:
    """The archive photo on file for the applicant, to compare the submitted photo with (D1)."""
    archive = registry_selectors.archive_photo_of(person_id=application.licence.holder_id)
    if archive is None:
        return {"url": "", "recorded_at": None}
    return {
        "url": reverse("credentials:counter_archive_photo_image", args=[application.pk]),
        "recorded_at": archive.recorded_at,
    }


@access_required(PHOTO_REVIEW)
def counter_photo(request: HttpRequest, application_id: int) -> HttpResponse:
    """One application: the submitted photo beside the archive photo, with approve / reject (D1)."""
    application = _visible_application(request, application_id)
    form = PhotoReviewForm()
    if request.method == "POST":
        form = PhotoReviewForm(request.POST)
        if form.is_valid():
            approve = form.cleaned_data["decision"] == "approve"
            try:
                services.licence_application_review(
                    actor=request.user,
                    application_id=application.pk,
                    approve=approve,
                    note=form.cleaned_data["note"] or "",
                    request=request,
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                row = _application_row(application)
                if approve:
                    text = _("已通过 %(name)s 的照片审核，电子驾驶证已签发。")
                else:
                    text = _("已退回 %(name)s 的申请，申请人会看到原因。")
                messages.success(request, text % {"name": row["name"]})
                return redirect("credentials:counter_photos")
        application.refresh_from_db()
    return render(
        request,
        "credentials/counter/photo_review.html",
        {"a": _application_row(application), "archive": _archive_view(application), "form": form},
    )


@never_cache
@access_required(PHOTO_REVIEW)
def counter_archive_photo_image(request: HttpRequest, application_id: int) -> HttpResponse:
    """The applicant's archive photo (档案照片), to the reviewing staff only; every view is audited."""
    application = _visible_application(request, application_id)
    archive = registry_selectors.archive_photo_of(person_id=application.licence.holder_id)
    if archive is None:
        raise Http404("archive photo")
    audit_record(
        actor=request.user,
        action="view",
        subject=application,
        subject_person_id=application.licence.holder_id,
        summary="查看档案照片（电子驾驶证照片审核）",
        request=request,
    )
    content_type = "image/png" if archive.photo_type == "png" else "image/jpeg"
    response = HttpResponse(bytes(archive.photo), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response


@never_cache
@access_required(PHOTO_REVIEW)
def counter_photo_image(request: HttpRequest, application_id: int) -> HttpResponse:
    """The applicant's photo, to staff only; every view is audited."""
    application = _visible_application(request, application_id)
    audit_record(
        actor=request.user,
        action="view",
        subject=application,
        subject_person_id=application.licence.holder_id,
        summary="查看电子驾驶证申请照片",
        request=request,
    )
    content_type = "image/png" if application.photo_type == "png" else "image/jpeg"
    response = HttpResponse(bytes(application.photo), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response
