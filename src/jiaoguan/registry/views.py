"""Pages for my vehicles (Q1) and my driving licence (Q2).

The statuses are computed by ``registry.selectors``; this module only puts them into
words in the active language and adds the link that fixes each alert.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required, can
from jiaoguan.core.errors import DomainError, NotFound

from . import medical, rules, selectors, services
from .forms import ExaminationForm
from .military_exchange import military_ages_of
from .models import PlateType
from .selectors import Alert, LicenceStatus, VehicleStatus

INSPECTION_STATES: dict[str, tuple[Promise, str]] = {
    "valid": (_("在有效期内"), "ok"),
    "due_soon": (_("即将到期，已可办理检验"), "amber"),
    "overdue": (_("已逾期未检验"), "red"),
}

RENEWAL_STATES: dict[str, tuple[Promise, str]] = {
    "long_term": (_("长期有效，无需期满换证"), "ok"),
    "valid": (_("在有效期内"), "ok"),
    "renewal_window": (_("已进入期满换证期，可办理换证"), "amber"),
    "overdue": (_("已超过有效期，请尽快换证"), "red"),
    "cancellable": (_("超过有效期一年以上，驾驶证将被注销"), "red"),
}

POINTS_STATES: dict[str | None, tuple[Promise, str]] = {
    None: (_("正常"), "ok"),
    "near_limit": (_("接近满分"), "amber"),
    "full": (_("已满分"), "red"),
}

PLATE_TYPE_LABELS: dict[str, Promise] = {
    PlateType.LARGE.value: _("大型汽车号牌"),
    PlateType.SMALL.value: _("小型汽车号牌"),
    PlateType.MOTORCYCLE.value: _("普通摩托车号牌"),
    PlateType.MOPED.value: _("轻便摩托车号牌"),
    PlateType.LOW_SPEED.value: _("低速车号牌"),
    PlateType.TRAILER.value: _("挂车号牌"),
    PlateType.COACH.value: _("教练汽车号牌"),
    PlateType.TEMPORARY.value: _("临时行驶车号牌"),
    PlateType.LARGE_NEW_ENERGY.value: _("大型新能源汽车号牌"),
    PlateType.SMALL_NEW_ENERGY.value: _("小型新能源汽车号牌"),
}

# Where each alert is fixed: a business (its tile page) or a feature; else the detail page.
ALERT_TARGETS: dict[str, str] = {
    "inspection_overdue": "B4",
    "renewal_overdue": "B8",
    "renewal_window": "B8",
    "points_full": "study",
    "points_near_limit": "study",
}


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _service_url(target: str, vehicle_id: int | None) -> str:
    # Inspection booking (issue 14, B4) has a page per vehicle; found by its URL name, as the
    # registry sits below the inspections app and does not import it.
    if target == "B4" and vehicle_id is not None:
        return reverse("inspections:book", args=[vehicle_id])
    # The points alerts lead to the study to reduce points and the full-score education (V7).
    if target == "study":
        return reverse("points_study:home")
    return reverse("accounts:service", args=[target])


def _alerts(
    alerts: list[Alert],
    *,
    fallback: str,
    overrides: dict[str, str] | None = None,
    vehicle_id: int | None = None,
) -> list[dict[str, str]]:
    out = []
    for alert in alerts:
        target = (overrides or {}).get(alert.code) or ALERT_TARGETS.get(alert.code)
        url = _service_url(target, vehicle_id) if target else fallback
        out.append({"level": alert.level, "text": _words(alert.zh, alert.en), "url": url})
    return out


def vehicle_card(v: VehicleStatus) -> dict[str, Any]:
    """One vehicle's Q1 status in words, for the home card and the vehicle pages."""
    detail = reverse("registry:vehicle", args=[v.id])
    state, state_level = INSPECTION_STATES.get(v.inspection_state, (v.inspection_state, "amber"))
    overrides = {"inspection_due_soon": "B4"} if v.next_inspection_on_site else {}
    return {
        "id": v.id,
        "url": detail,
        "plate_number": v.plate_number,
        "plate_colour": v.plate_colour,
        "plate_type": v.plate_type,
        "plate_type_label": PLATE_TYPE_LABELS.get(v.plate_type, v.plate_type_label),
        "kind": _words(v.kind_zh, v.kind_en),
        "use": _words(v.use_zh, v.use_en),
        "brand_model": v.brand_model,
        "registered_on": v.registered_on,
        "vin_masked": v.vin_masked,
        "owner_masked": v.owner_masked,
        "statuses": [{"code": s.code, "text": _words(s.zh, s.en)} for s in v.statuses],
        "normal": [s.code for s in v.statuses] == ["A"],
        "inspection_valid_until": v.inspection_valid_until,
        "inspection_state": state,
        "inspection_level": state_level,
        "next_inspection_on_site": v.next_inspection_on_site,
        "scrapping_date": v.scrapping_date,
        "scrapping_known": v.scrapping_known,
        "scrapping_within_a_year": v.scrapping_within_a_year,
        "is_key_vehicle": v.is_key_vehicle,
        "mortgaged": v.mortgaged,
        "mortgagee_name": v.mortgagee_name,
        "alerts": _alerts(v.alerts, fallback=detail, overrides=overrides, vehicle_id=v.id),
    }


def licence_card(lic: LicenceStatus) -> dict[str, Any]:
    """One licence's Q2 status in words, for the home card and the licence page."""
    detail = reverse("registry:licences")
    renewal, renewal_level = RENEWAL_STATES.get(lic.renewal_state, (lic.renewal_state, "amber"))
    points, points_level = POINTS_STATES.get(lic.points_warning, (lic.points_warning or "", "amber"))
    return {
        "id": lic.id,
        "url": detail,
        "number_masked": lic.number_masked,
        "archive_number": lic.archive_number,
        "holder_masked": lic.holder_masked,
        "classes": [{"code": c, "text": _words(zh, en)} for c, zh, en in lic.classes],
        "class_codes": "".join(c for c, _zh, _en in lic.classes),
        "statuses": [{"code": s.code, "text": _words(s.zh, s.en)} for s in lic.statuses],
        "normal": [s.code for s in lic.statuses] == ["A"],
        "first_issued_on": lic.first_issued_on,
        "valid_from": lic.valid_from,
        "valid_until": lic.valid_until,
        "renewal_state": renewal,
        "renewal_level": renewal_level,
        "renewal_window_start": lic.renewal_window_start,
        "points_in_cycle": lic.points_in_cycle,
        "points_limit": lic.points_limit,
        "points_state": points,
        "points_level": points_level,
        "cycle_start": lic.cycle_start,
        "cycle_end": lic.cycle_end,
        "probation_end": lic.probation_end,
        "on_probation": lic.on_probation,
        "review_due": lic.review_due,
        "medical_due": lic.medical_due,
        "age_limit_exchange": sorted(lic.age_limit_exchange.items()),
        "alerts": _alerts(lic.alerts, fallback=detail),
    }


@access_required("registry.own.view")
def vehicle_list(request: HttpRequest) -> HttpResponse:
    statuses = selectors.my_vehicle_statuses(user=request.user, today=timezone.localdate())  # type: ignore[arg-type]
    return render(request, "registry/vehicle_list.html", {"vehicles": [vehicle_card(v) for v in statuses]})


@access_required("registry.own.view")
def vehicle_detail(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """One of my vehicles; anyone else's is a 404, the same answer as a missing one."""
    vehicle = get_object_or_404(selectors.my_vehicles(user=request.user), pk=vehicle_id)  # type: ignore[arg-type]
    status = selectors.vehicle_status(vehicle, today=timezone.localdate())
    return render(request, "registry/vehicle_detail.html", {"v": vehicle_card(status)})


@access_required("registry.own.view")
def licence_list(request: HttpRequest) -> HttpResponse:
    statuses = selectors.my_licence_statuses(user=request.user, today=timezone.localdate())  # type: ignore[arg-type]
    # The certificates hospitals submitted (B7): the newest few; each counts for six months.
    certificates = [
        {"hospital": e.hospital.name, "examined_on": e.examined_on, "classes": e.classes_applied,
         "valid_until": e.examined_on + rules.MEDICAL_CERTIFICATE_VALID, "submitted_at": e.submitted_at}
        for e in selectors.my_medical_certificates(user=request.user)[:5]  # type: ignore[arg-type]
    ]  # fmt: skip
    # The military driving age (O3): a remark in the driving record (交通安全驾驶记录) for a licence
    # exchanged by 2021-05-31, beside the printed remark of a reissued one.
    military = military_ages_of(licence_ids=[s.id for s in statuses])
    licences = []
    for status in statuses:
        card = licence_card(status)
        age = military.get(status.id)
        if age is not None:
            card["military"] = {
                "record_only": age.path == age.Path.RECORD_ONLY, "first_issued_on": age.military_first_issued_on,
                "classes": age.military_classes, "added": "、".join(f"{c}（{on}）" for c, on in age.added),
                "recorded_on": age.recorded_on,
            }  # fmt: skip
        licences.append(card)
    return render(request, "registry/licence_list.html", {"licences": licences, "certificates": certificates})


# ---------------------------------------------------------------- hospital examinations (issue 13, B6/B7)


def _hospital_only(request: HttpRequest, business: str) -> None:
    """An organisation user that is not a hospital is told who the pages are for (U5)."""
    if getattr(request.user, "organisation_id", None):
        services.hospital_of(actor=request.user, business=business)


def _examination_rows(examinations: Any) -> list[dict[str, Any]]:
    return [selectors.medical_examination_view(e) for e in examinations]


@access_required("registry.medical.view")
def hospital_examinations(request: HttpRequest) -> HttpResponse:
    """The hospital's examinations, newest first; masked, so a list is no read of personal data."""
    _hospital_only(request, "B7")
    rows = _examination_rows(selectors.hospital_examinations(actor=request.user)[:100])
    return render(
        request,
        "registry/hospital_list.html",
        {"examinations": rows, "can_record": can(request.user, "registry.medical.record")},
    )


@access_required("registry.medical.record")
def hospital_examination_new(request: HttpRequest) -> HttpResponse:
    """Record an examination (B6): the national form's fields, then the detail page to submit it."""
    _hospital_only(request, "B6")
    form = ExaminationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            examination = services.medical_examination_record(
                actor=request.user, data=form.data_for_service(), request=request
            )
        except DomainError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            messages.success(request, _("体检信息已保存。核对无误后请提交身体条件证明。"))
            return redirect("registry:hospital_examination", examination.pk)
    return render(request, "registry/hospital_new.html", {"form": form}, status=422 if form.errors else 200)


@access_required("registry.medical.view")
def hospital_examination_detail(request: HttpRequest, examination_id: int) -> HttpResponse:
    """One examination (the read is audited); another hospital's is a 404."""
    examination = services.medical_examination_read(
        actor=request.user, examination_id=examination_id, request=request
    )
    shown = selectors.medical_examination_view(examination)
    return render(
        request,
        "registry/hospital_detail.html",
        {
            "e": shown,
            "upper_limbs": _words(*medical.UPPER_LIMB_WORDS.get(shown["upper_limbs"], ("", ""))),
            "lower_limbs": _words(*medical.LOWER_LIMB_WORDS.get(shown["lower_limbs"], ("", ""))),
            "conditions": [_words(c["zh"], c["en"]) for c in shown["declared_conditions"]],
            "can_submit": shown["state"] == "recorded"
            and shown["conclusion"] == "fit"
            and can(request.user, "registry.medical.submit"),
        },
    )


@require_POST
@access_required("registry.medical.submit")
def hospital_certificate_submit(request: HttpRequest, examination_id: int) -> HttpResponse:
    """Submit the examination as the driver's physical-condition certificate (B7)."""
    try:
        services.medical_certificate_submit(
            actor=request.user, examination_id=examination_id, request=request
        )
    except NotFound:
        raise  # another hospital's examination stays a 404, never a message about it
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("身体条件证明已提交，驾驶人可在“我的驾驶证”中查看。"))
    return redirect("registry:hospital_examination", examination_id)
