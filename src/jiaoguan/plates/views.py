"""Plate pre-selection pages (B19, P1-P5; issue 17): the same service and selector calls as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import add_domain_error
from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone
from jiaoguan.core.middleware import client_address

from . import draws as draw_rules
from . import public_draws, rules, selectors, services
from .models import PlatePool, PlateSelection, PreRegistration

# ---------------------------------------------------------------- buyers (B19, P1-P5)


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _label_words(label: Any) -> str:
    zh, _sep, en = str(label).partition(" ")
    return _words(zh, en or zh)


_SELECTION_LEVELS = {
    "holding": "amber", "chosen": "info", "registered": "ok", "abandoned": "muted", "expired": "muted",
    "lapsed": "red",
}  # fmt: skip


class StartForm(forms.Form):
    """The start of a selection: the car (VIN), random 5-choose-1 or a self-composed number (P4)."""

    vin = forms.CharField(
        label=gettext_lazy("车辆识别代号（VIN）"),
        max_length=40,
        help_text=gettext_lazy("17位，与销售商录入的新车信息一致。"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("选号方式"),
        choices=[
            ("random", gettext_lazy("随机选号（5选1）")),
            ("self", gettext_lazy("自编自选")),
        ],
        initial="random",
        widget=forms.RadioSelect,
    )
    number = forms.CharField(
        label=gettext_lazy("自编号码"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("仅自编自选时填写：完整号码（如 豫QA8123）或后5位（新能源6位）。"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mode") == "self" and not (data.get("number") or "").strip():
            self.add_error("number", _("自编自选请填写号码。"))
        return data


def pattern_words(pattern: str) -> str:
    """A serial pattern in words: fixed characters as they are, the others by what may stand there."""
    names = {
        "d": _words("数字", "digit"),
        "l": _words("字母", "letter"),
        "x": _words("字母或数字", "letter or digit"),
        "e": _words("能源字母", "energy letter"),
    }
    parts = [names.get(ch, ch) for ch in pattern]
    return " + ".join(parts)


def _example(prefix: str, parsed: rules.PoolRules, pattern: str) -> str:
    """A number the pattern and the rules allow, to show the shape (the first of a few hundred tried)."""
    for index, serial in enumerate(rules.pattern_serials(pattern)):
        if index > 500:
            break
        if serial[-3:] != "000" and rules.serial_refusal(serial, parsed) is None:
            return prefix + serial
    return ""


def pool_rules_words(pool: PlatePool) -> dict[str, Any]:
    """An office's rules in words for the buyer (P4): the series open, the letters and sequences
    excluded, the letter cap, and whether numbers are reserved for other channels."""
    parsed = services.pool_rules(pool)
    zh, en, _kind, length = rules.PLATE_TYPES[pool.plate_type]
    return {
        "pool": pool,
        "title": f"{pool.prefix} {_words(zh, en)}",
        "length": length,
        "patterns": [
            {"pattern": p, "words": pattern_words(p), "example": _example(pool.prefix, parsed, p)}
            for p in parsed.patterns
        ],
        "excluded_letters": "、".join(sorted(set("IO") | set(parsed.excluded_letters))),
        "excluded_sequences": "、".join(parsed.excluded_sequences),
        "max_letters": parsed.max_letters,
        "reserved": bool(parsed.reserved),
    }


def _buyer_id_number(user: Any) -> str:
    if getattr(user, "kind", "") == "organisation" and getattr(user, "organisation", None) is not None:
        return str(user.organisation.uscc)
    person = getattr(user, "person", None)
    return str(person.id_number) if person is not None else ""


def _my_cars(user: Any) -> list[PreRegistration]:
    """New cars pre-registered in the buyer's name that still wait for a number."""
    id_number = _buyer_id_number(user)
    if not id_number:
        return []
    return list(
        PreRegistration.objects.filter(buyer_id_number=id_number, state=PreRegistration.State.OPEN).order_by(
            "-created_at"
        )[:20]
    )


def _pools_for(cars: list[PreRegistration]) -> list[PlatePool]:
    """The pools the buyer's cars select from; every open pool when no car is known yet."""
    wanted: set[tuple[str, str]] = set()
    for car in cars:
        try:
            wanted.add((services.office_of(car.division), car.plate_type))
        except DomainError:
            continue
    pools = PlatePool.objects.filter(open=True).order_by("prefix", "plate_type")
    chosen = [p for p in pools if (p.prefix, p.plate_type) in wanted]
    return chosen or list(pools[:6])


def _selection_row(selection: PlateSelection, now: Any) -> dict[str, Any]:
    state = selectors.effective_state(selection, now)
    remaining = max(0, int((selection.held_until - now).total_seconds()))
    return {
        "selection": selection,
        "state": state,
        "state_words": _label_words(PlateSelection.State(state).label),
        "level": _SELECTION_LEVELS.get(state, "info"),
        "mode_words": _label_words(PlateSelection.Mode(selection.mode).label),
        "remaining": remaining,
        "remaining_text": f"{remaining // 60}:{remaining % 60:02d}",
        "vin": selection.preregistration.vin,
    }


def _render_mine(
    request: HttpRequest,
    *,
    form: StartForm | None = None,
    choice_error: str = "",
    switch_vin: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    now = timezone.now()
    open_selection = selectors.open_selection_of(actor=user)
    past = [
        _selection_row(s, now)
        for s in selectors.selections_of(actor=user)[:50]
        if open_selection is None or s.pk != open_selection.pk
    ]
    cars = _my_cars(user)
    if form is None:
        form = StartForm(initial={"vin": cars[0].vin} if len(cars) == 1 else None)
    context = {
        "open": _selection_row(open_selection, now) if open_selection else None,
        "past": past,
        "form": form,
        "cars": cars,
        "pools": [pool_rules_words(p) for p in _pools_for(cars)],
        "choice_error": choice_error,
        "switch_vin": switch_vin,
        "hold_minutes": rules.HOLD_MINUTES,
        "register_days": rules.REGISTER_WITHIN_DAYS,
    }
    return render(request, "plates/buyer_mine.html", context, status=status)


@never_cache
@access_required(selectors.SELECT)
def mine(request: HttpRequest) -> HttpResponse:
    """我的选号 (B19): the open selection (held numbers with their countdown, or the chosen number
    with its register-by date), past selections, and the form to start one (P1-P5)."""
    return _render_mine(request)


@require_POST
@access_required(selectors.SELECT)
def start(request: HttpRequest) -> HttpResponse:
    """Start a selection; a refusal is shown in the form and nothing is held. A self-composed number
    that cannot be had offers random selection for the same car instead (P4)."""
    form = StartForm(request.POST)
    if not form.is_valid():
        return _render_mine(request, form=form, status=400)
    data = form.cleaned_data
    try:
        selection = services.selection_start(
            actor=request.user,
            vin=data["vin"],
            mode=data["mode"],
            number=data["number"] if data["mode"] == "self" else "",
            client=client_address(request),
            request=request,
        )
    except DomainError as error:
        add_domain_error(form, error)
        switch_vin = data["vin"] if error.code == "plates.number_unavailable" else ""
        response = _render_mine(request, form=form, switch_vin=switch_vin, status=error.status)
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response
    if selection.mode == PlateSelection.Mode.RANDOM:
        messages.success(
            request,
            _("已为您保留5个号码，请在%(minutes)s分钟内选定一个。") % {"minutes": rules.HOLD_MINUTES},
        )
    else:
        messages.success(
            request,
            _("号码 %(number)s 已为您保留，请在%(minutes)s分钟内确认选定。")
            % {"number": selection.candidates[0], "minutes": rules.HOLD_MINUTES},
        )
    return redirect("plates:mine")


def _posted_id(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


@require_POST
@access_required(selectors.SELECT)
def choose(request: HttpRequest) -> HttpResponse:
    """Keep one held number: it waits for registration at the DMV; the others return to the pool."""
    selection_id = _posted_id(request.POST.get("selection"))
    try:
        selection = services.selection_choose(
            actor=request.user,
            selection_id=selection_id,
            number=request.POST.get("number", ""),
            request=request,
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("selection") from None
        return _render_mine(request, choice_error=error.message, status=error.status)
    messages.success(
        request,
        _("已选定号码 %(number)s，请于 %(day)s 前到车管所办理注册登记。")
        % {"number": selection.chosen, "day": selection.register_by},
    )
    return redirect("plates:mine")


@require_POST
@access_required(selectors.SELECT)
def abandon(request: HttpRequest) -> HttpResponse:
    """None of these: give the held numbers back (repeated give-ups close random selection a while)."""
    selection_id = _posted_id(request.POST.get("selection"))
    try:
        services.selection_abandon(actor=request.user, selection_id=selection_id, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("selection") from None
        return _render_mine(request, choice_error=error.message, status=error.status)
    messages.success(request, _("已放弃保留的号码，号码已退回号源。"))
    return redirect("plates:mine")


# ---------------------------------------------------------------- dealers (P2)


class PreRegistrationForm(forms.Form):
    """A new car sold, as the dealer records it for the buyer's online selection (P2)."""

    vin = forms.CharField(label=gettext_lazy("车辆识别代号（VIN）"), max_length=40)
    plate_type = forms.ChoiceField(
        label=gettext_lazy("号牌种类"),
        choices=[("02", gettext_lazy("02 小型汽车")), ("52", gettext_lazy("52 小型新能源汽车"))],
        initial="02",
    )
    brand_model = forms.CharField(label=gettext_lazy("品牌型号"), max_length=64)
    colour = forms.CharField(label=gettext_lazy("车身颜色"), max_length=16, required=False)
    buyer_id_number = forms.CharField(
        label=gettext_lazy("购车人身份证明号码"),
        max_length=20,
        help_text=gettext_lazy("个人填写居民身份证号码，单位填写统一社会信用代码。"),
    )
    buyer_name = forms.CharField(label=gettext_lazy("购车人姓名或单位名称"), max_length=100)
    buyer_mobile = forms.CharField(
        label=gettext_lazy("购车人手机号码"),
        max_length=20,
        help_text=gettext_lazy("须与购车人交管账号的手机号码一致，选号时核对。"),
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )


def _dealer_row(record: PreRegistration) -> dict[str, Any]:
    return {
        "record": record,
        "plate_type": _words(*rules.PLATE_TYPES[record.plate_type][:2]),
        "buyer_name": mask_name(record.buyer_name),
        "buyer_id_number": mask_id_number(record.buyer_id_number),
        "buyer_mobile": mask_phone(record.buyer_mobile),
        "state_words": _label_words(PreRegistration.State(record.state).label),
        "withdrawable": record.state == PreRegistration.State.OPEN,
    }


@never_cache
@access_required(selectors.PREREGISTER)
def dealer_preregistrations(request: HttpRequest) -> HttpResponse:
    """新车预录入 (P2): the dealer's records (buyers masked) and the form to add one."""
    try:
        dealer = services.dealer_of(actor=request.user)
    except DomainError as error:
        return render(request, "error.html", {"error": error}, status=error.status)
    form = PreRegistrationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                record = services.preregistration_create(
                    actor=request.user, data=form.cleaned_data, request=request
                )
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status
            else:
                messages.success(request, _("已录入车辆 %(vin)s，购车人可以网上选号。") % {"vin": record.vin})
                return redirect("plates:dealer_preregistrations")
    rows = [_dealer_row(r) for r in selectors.preregistrations_of_dealer(actor=request.user)[:200]]
    return render(
        request,
        "plates/dealer_preregistrations.html",
        {"dealer": dealer, "form": form, "rows": rows},
        status=status,
    )


@require_POST
@access_required(selectors.PREREGISTER)
def dealer_preregistration_withdraw(request: HttpRequest, preregistration_id: int) -> HttpResponse:
    """Withdraw a record entered by mistake, while no number is held, chosen or registered for it."""
    try:
        record = services.preregistration_withdraw(
            actor=request.user, preregistration_id=preregistration_id, request=request
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("preregistration") from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("已撤回车辆 %(vin)s 的预录入。") % {"vin": record.vin})
    return redirect("plates:dealer_preregistrations")


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
