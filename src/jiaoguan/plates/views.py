"""Plate pre-selection pages (B19, P1-P5; issue 17): the same service and selector calls as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import add_domain_error
from jiaoguan.core.access import access_required
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone, record_id
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


@require_POST
@access_required(selectors.SELECT)
def choose(request: HttpRequest) -> HttpResponse:
    """Keep one held number: it waits for registration at the DMV; the others return to the pool."""
    selection_id = record_id(request.POST.get("selection"))
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
    selection_id = record_id(request.POST.get("selection"))
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


def _counter_label(choices: Any, value: str) -> str:
    """A model choice's bilingual label ("已选定 selected") in the page's language."""
    try:
        zh, _sep, en = str(choices(value).label).partition(" ")
    except ValueError:
        return value
    return _words(zh, en or zh)


def _plate_type_words(plate_type: str) -> str:
    zh, en, *_rest = rules.PLATE_TYPES.get(plate_type, (plate_type, plate_type))
    return f"{plate_type} " + _words(zh, en)


def _rules_words(data: dict[str, Any]) -> list[str]:
    """An office's pool rules as sentences a clerk can check (issue 17 §2)."""
    join = ", ".join if _english() else "、".join
    lines = [
        _words("号码规则：", "Serial patterns: ") + join(data.get("patterns") or []),
        _words("排除字母：", "Excluded letters: ") + join(["I", "O", *(data.get("excluded_letters") or "")]),
        _words("字母个数上限：", "At most this many letters: ") + str(data.get("max_letters", "")),
    ]
    if data.get("excluded_sequences"):
        lines.append(_words("排除组合：", "Excluded sequences: ") + join(data["excluded_sequences"]))
    if data.get("reserved"):
        lines.append(
            _words("保留号码（不进入号源）：", "Reserved for other channels: ") + join(data["reserved"])
        )
    return lines


def _rules_data(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "patterns": data.get("patterns") or "", "excluded_letters": data.get("excluded_letters") or "",
        "excluded_sequences": data.get("excluded_sequences") or "", "reserved": data.get("reserved") or "",
        "max_letters": data["max_letters"] if data.get("max_letters") is not None else rules.MAX_LETTERS_DEFAULT,
    }  # fmt: skip


class RulesForm(forms.Form):
    patterns = forms.CharField(
        label=gettext_lazy("号码规则"), max_length=1000,
        help_text=gettext_lazy("每条规则一个位置一个字符：d 数字，l 字母，x 字母或数字，e 能源字母，或固定的字母、数字；多条用逗号或空格分开，如 A8ddd。"),
    )  # fmt: skip
    excluded_letters = forms.CharField(
        label=gettext_lazy("排除字母"), max_length=30, required=False,
        help_text=gettext_lazy("I 和 O 总是排除。"),
    )  # fmt: skip
    excluded_sequences = forms.CharField(
        label=gettext_lazy("排除组合"), max_length=1000, required=False,
        help_text=gettext_lazy("号码中任何位置出现即排除，如 4、SB。"),
    )  # fmt: skip
    max_letters = forms.IntegerField(label=gettext_lazy("字母个数上限"), min_value=0, max_value=6, initial=2)
    reserved = forms.CharField(
        label=gettext_lazy("保留号码"), required=False, max_length=20000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("留作其他渠道的号码，不进入号源，也不能自编。"),
    )  # fmt: skip


class PoolForm(RulesForm):
    division = forms.CharField(label=gettext_lazy("发牌机关行政区划代码"), max_length=6)
    plate_type = forms.ChoiceField(
        label=gettext_lazy("号牌种类"),
        choices=[(value, value) for value in rules.PLATE_TYPES],
    )

    field_order = ["division", "plate_type"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plate_type"].choices = [(v, _plate_type_words(v)) for v in rules.PLATE_TYPES]  # type: ignore[attr-defined]


class GenerateForm(forms.Form):
    gen_patterns = forms.CharField(
        label=gettext_lazy("按规则生成"), max_length=1000, required=False,
        help_text=gettext_lazy("不填则按号源的号码规则全部生成。"),
    )  # fmt: skip


class ImportForm(forms.Form):
    numbers_text = forms.CharField(
        label=gettext_lazy("导入号码"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("每行一个号码，如 豫QA8123 或 A8123。"),
    )  # fmt: skip
    numbers_file = forms.FileField(label=gettext_lazy("或上传文本文件"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("numbers_file")
        if upload is not None:
            try:
                data["numbers_text"] = upload.read(4_000_000).decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("numbers_file", _("文件应为 UTF-8 编码的文本，每行一个号码。"))
        elif not (data.get("numbers_text") or "").strip():
            self.add_error("numbers_text", _("请填写或上传要导入的号码。"))
        return data


class WithdrawNumbersForm(forms.Form):
    numbers = forms.CharField(
        label=gettext_lazy("收回号码"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("只能收回可选的号码，多个号码用空格或换行分开。"),
    )  # fmt: skip
    reason = forms.CharField(label=gettext_lazy("收回原因"), max_length=100)


@never_cache
@access_required(selectors.POOL_MANAGE)
def counter_pools(request: HttpRequest) -> HttpResponse:
    """号源管理: the pools of the jurisdiction, their numbers by state and rules, a new pool (issue 17 §2)."""
    form = PoolForm(request.POST or None, initial={"division": getattr(request.user, "jurisdiction", "")})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                pool = services.pool_create(
                    actor=request.user, division=data["division"],
                    rules_data=_rules_data(data) | {"plate_type": data["plate_type"]}, request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status
            else:
                messages.success(request, _("号源已建立，请生成或导入号码。"))
                return redirect("plates:counter_pool", pool_id=pool.pk)
    pools = list(selectors.pools_visible_to(actor=request.user))
    counts = selectors.pool_state_counts(pools, timezone.now())
    rows = [
        {
            "pool": p,
            "type": _plate_type_words(p.plate_type),
            "counts": counts[p.pk],
            "rules": _rules_words(p.rules),
        }
        for p in pools
    ]
    return render(request, "plates/counter_pools.html", {"rows": rows, "form": form}, status=status)


@never_cache
@access_required(selectors.POOL_MANAGE)
def counter_pool(request: HttpRequest, pool_id: int) -> HttpResponse:
    """One pool: change its rules, add numbers (generated or imported), withdraw free ones; the batches."""
    pool = selectors.pools_visible_to(actor=request.user).filter(pk=pool_id).first()
    if pool is None:
        raise Http404("pool")
    posted = request.POST.get("form", "")
    current = pool.rules
    rules_form = RulesForm(
        request.POST if posted == "rules" else None,
        initial={
            "patterns": " ".join(current.get("patterns") or []), "excluded_letters": current.get("excluded_letters", ""),
            "excluded_sequences": " ".join(current.get("excluded_sequences") or []),
            "max_letters": current.get("max_letters", rules.MAX_LETTERS_DEFAULT),
            "reserved": " ".join(current.get("reserved") or []),
        },
    )  # fmt: skip
    generate_form = GenerateForm(request.POST if posted == "generate" else None)
    import_form = ImportForm(
        request.POST if posted == "import" else None, request.FILES if posted == "import" else None
    )
    withdraw_form = WithdrawNumbersForm(request.POST if posted == "withdraw" else None)
    forms_by_name: dict[str, forms.Form] = {
        "rules": rules_form, "generate": generate_form, "import": import_form, "withdraw": withdraw_form,
    }  # fmt: skip
    status = 200
    if request.method == "POST":
        status = 400
        form = forms_by_name.get(posted)
        if form is not None and form.is_valid():
            data = form.cleaned_data
            try:
                if posted == "rules":
                    services.pool_rules_change(
                        actor=request.user, pool_id=pool.pk, rules_data=_rules_data(data), request=request
                    )
                    messages.success(request, _("号段规则已修改，之后生成、导入和自编的号码按新规则检查。"))
                elif posted in ("generate", "import"):
                    batch = services.pool_numbers_add(
                        actor=request.user, pool_id=pool.pk, request=request,
                        patterns=(data.get("gen_patterns") or None) if posted == "generate" else None,
                        numbers_text=data["numbers_text"] if posted == "import" else None,
                    )  # fmt: skip
                    messages.success(
                        request, _("已新增 %(added)s 个号码，跳过 %(skipped)s 个。") % {"added": batch.added, "skipped": batch.skipped}
                    )  # fmt: skip
                else:
                    taken = services.pool_numbers_withdraw(
                        actor=request.user, pool_id=pool.pk, numbers=data["numbers"], reason=data["reason"],
                        request=request,
                    )  # fmt: skip
                    messages.success(request, _("已收回号码：") + "、".join(taken))
            except DomainError as error:
                add_domain_error(form, error, {"patterns": "gen_patterns", "numbers": "numbers_text"}
                                 if posted in ("generate", "import") else None)  # fmt: skip
                status = error.status
            else:
                return redirect("plates:counter_pool", pool_id=pool.pk)
    pool.refresh_from_db()
    batches = [
        {
            "b": b, "method": _counter_label(type(b).Method, b.method),
            "by": getattr(b.created_by, "username", "") if b.created_by_id else "—",
        }
        for b in pool.batches.select_related("created_by").order_by("-created_at", "-pk")[:100]
    ]  # fmt: skip
    context = {
        "pool": pool,
        "type": _plate_type_words(pool.plate_type),
        "rules": _rules_words(pool.rules),
        "counts": selectors.pool_state_counts([pool], timezone.now())[pool.pk],
        "batches": batches,
        "rules_form": rules_form,
        "generate_form": generate_form,
        "import_form": import_form,
        "withdraw_form": withdraw_form,
    }
    return render(request, "plates/counter_pool.html", context, status=status)


class RegisterForm(forms.Form):
    colour = forms.CharField(
        label=gettext_lazy("车身颜色"), max_length=16, required=False,
        help_text=gettext_lazy("不填则用销售商录入的颜色。"),
    )  # fmt: skip


def _owner_words(selection: PlateSelection) -> dict[str, str]:
    if selection.owner_person is not None:
        return {
            "name": mask_name(selection.owner_person.name),
            "id": mask_id_number(selection.owner_person.id_number),
        }
    organisation = selection.owner_organisation
    return {
        "name": organisation.name if organisation else "",
        "id": mask_id_number(organisation.uscc) if organisation else "",
    }


@never_cache
@access_required(selectors.REGISTER)
def counter_registrations(request: HttpRequest) -> HttpResponse:
    """选号登记: find a chosen number by VIN and register the car with it (issue 17 §6, P3).

    The owner's details are personal data: every lookup that finds one is audited."""
    from jiaoguan.registry.models import Vehicle

    vin = (request.POST.get("vin") or request.GET.get("vin") or "").strip().upper()
    form = RegisterForm(request.POST if request.method == "POST" else None)
    status = 200
    error = ""
    if request.method == "POST":
        status = 400
        selection_id = record_id(request.POST.get("selection"))
        if not selection_id:
            raise Http404("selection")
        target = selectors.selection_for_registration(actor=request.user, vin=vin)
        if target is None or target.pk != selection_id:
            raise Http404("selection")
        if form.is_valid():
            try:
                services.selection_register(
                    actor=request.user, selection_id=target.pk, colour=form.cleaned_data.get("colour") or "",
                    request=request,
                )  # fmt: skip
            except DomainError as refusal:
                add_domain_error(form, refusal)
                status = refusal.status
            else:
                messages.success(request, _("已办理注册登记，电子检验标志随之签发。"))
                return redirect(f"{reverse('plates:counter_registrations')}?vin={vin}")
    selection = selectors.selection_for_registration(actor=request.user, vin=vin) if vin else None
    found: dict[str, Any] | None = None
    if vin and selection is None:
        error = _("没有找到该车辆识别代号已选定号码的选号记录（本辖区）。")
    if selection is not None:
        state = selectors.effective_state(selection)
        record = selection.preregistration
        vehicle = Vehicle.objects.filter(pk=selection.vehicle_id).first() if selection.vehicle_id else None
        found = {
            "s": selection, "record": record, "state": state, "state_words": _counter_label(PlateSelection.State, state),
            "type": _plate_type_words(record.plate_type), "owner": _owner_words(selection),
            "dealer": record.dealer.name, "vehicle": vehicle,
            "can_register": state == PlateSelection.State.CHOSEN,
            "lapsed": state == PlateSelection.State.LAPSED,
        }  # fmt: skip
        audit_record(
            actor=request.user, action="view", subject=selection, subject_person_id=selection.owner_person_id,
            summary=f"查看选号登记信息 plate selection viewed for registration {record.vin}", request=request,
        )  # fmt: skip
        if form.is_bound is False:
            form = RegisterForm(initial={"colour": record.colour})
    context = {"vin": vin, "found": found, "form": form, "error": error}
    return render(request, "plates/counter_registrations.html", context, status=status)


def _counter_day_url(day: Any) -> str:
    """The public page of a day's draws (issue 17 §3)."""
    try:
        return reverse("plates:draw_day", args=[day.isoformat()])
    except NoReverseMatch:
        return f"/plate-draws/{day.isoformat()}/"


def _searched_numbers(actor: Any, text: str) -> list[str]:
    """A number as typed: whole (豫QA8123), or the serial alone, tried in each pool of the jurisdiction."""
    text = text.strip().upper().replace("·", "").replace(" ", "")
    if not text:
        return []
    if not text[:1].isascii():
        return [text]
    prefixes = sorted({p.prefix for p in selectors.pools_visible_to(actor=actor, action=selectors.MONITOR)})
    return [prefix + text for prefix in prefixes]


@never_cache
@access_required(selectors.MONITOR)
def counter_monitoring(request: HttpRequest) -> HttpResponse:
    """选号监管: lapsed selections, the days' seed commitments, and one number's every change (issue 17 §7)."""
    today = timezone.localdate()
    lapsed = [
        {"s": s, "vin": s.preregistration.vin, "pool": s.pool.key}
        for s in selectors.lapsed_selections(actor=request.user)[:200]
    ]
    days = [
        {
            "d": d,
            "today": d.day == today,
            "url": _counter_day_url(d.day),
            "revealed": d.revealed_at is not None,
        }
        for d in selectors.recent_days(today=today)
    ]
    number = (request.GET.get("number") or "").strip()
    history: list[dict[str, Any]] = []
    for candidate in _searched_numbers(request.user, number):
        for event in selectors.number_history(actor=request.user, number=candidate):
            history.append(
                {
                    "e": event, "kind": public_draws.kind_words(event.kind),
                    "staff": event.actor.username if event.actor_id and event.actor else "",
                    "until": event.until, "day": event.day.day,
                }
            )  # fmt: skip
    if number:
        audit_record(
            actor=request.user, action="view", subject=request.user,  # type: ignore[arg-type]
            summary=f"查看号码轨迹 number history viewed: {number[:12]} ({len(history)} changes)", request=request,
        )  # fmt: skip
    context = {"lapsed": lapsed, "days": days, "number": number, "history": history, "today": today}
    return render(request, "plates/counter_monitoring.html", context)
