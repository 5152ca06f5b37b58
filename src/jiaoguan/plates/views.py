"""Plate pre-selection pages (B19, P1-P5; issue 17): the same service and selector calls as the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from jiaoguan.accounts.forms import add_domain_error
from jiaoguan.core.access import access_required
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name

from . import draws, rules, selectors, services
from .models import PlatePool, PlateSelection, PoolNumber

# ---------------------------------------------------------------- buyers (B19, P1-P5)


# ---------------------------------------------------------------- dealers (P2)


# ---------------------------------------------------------------- public draw log and seeds


# ---------------------------------------------------------------- counter: pools, registration, monitoring


def _counter_english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _counter_words(zh: str, en: str) -> str:
    return en if _counter_english() else zh


def _counter_label(choices: Any, value: str) -> str:
    """A model choice's bilingual label ("已选定 selected") in the page's language."""
    try:
        zh, _sep, en = str(choices(value).label).partition(" ")
    except ValueError:
        return value
    return _counter_words(zh, en or zh)


def _plate_type_words(plate_type: str) -> str:
    zh, en, *_rest = rules.PLATE_TYPES.get(plate_type, (plate_type, plate_type))
    return f"{plate_type} " + _counter_words(zh, en)


def _rules_words(data: dict[str, Any]) -> list[str]:
    """An office's pool rules as sentences a clerk can check (issue 17 §2)."""
    join = ", ".join if _counter_english() else "、".join
    lines = [
        _counter_words("号码规则：", "Serial patterns: ") + join(data.get("patterns") or []),
        _counter_words("排除字母：", "Excluded letters: ")
        + join(["I", "O", *(data.get("excluded_letters") or "")]),
        _counter_words("字母个数上限：", "At most this many letters: ") + str(data.get("max_letters", "")),
    ]
    if data.get("excluded_sequences"):
        lines.append(_counter_words("排除组合：", "Excluded sequences: ") + join(data["excluded_sequences"]))
    if data.get("reserved"):
        lines.append(
            _counter_words("保留号码（不进入号源）：", "Reserved for other channels: ")
            + join(data["reserved"])
        )
    return lines


def _state_counts(pools: list[PlatePool], now: datetime) -> dict[int, dict[str, int]]:
    """Numbers per state; a hold or quarantine whose time has run out counts as free (P5)."""
    live = Q(state__in=[PoolNumber.State.HELD, PoolNumber.State.SELECTED], available_at__gt=now)
    rows = (
        PoolNumber.objects.filter(pool__in=pools)
        .values("pool_id")
        .annotate(
            free=Count("pk", filter=Q(state=PoolNumber.State.FREE)
                       | Q(state__in=[PoolNumber.State.HELD, PoolNumber.State.SELECTED], available_at__lte=now)),
            held=Count("pk", filter=live & Q(state=PoolNumber.State.HELD)),
            selected=Count("pk", filter=live & Q(state=PoolNumber.State.SELECTED)),
            registered=Count("pk", filter=Q(state=PoolNumber.State.REGISTERED)),
            withdrawn=Count("pk", filter=Q(state=PoolNumber.State.WITHDRAWN)),
        )
    )  # fmt: skip
    empty = {"free": 0, "held": 0, "selected": 0, "registered": 0, "withdrawn": 0}
    counts: dict[int, dict[str, int]] = {p.pk: dict(empty) for p in pools}
    for row in rows:
        counts[row["pool_id"]] = {key: int(row[key]) for key in empty}  # type: ignore[literal-required]
    return counts


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
    counts = _state_counts(pools, timezone.now())
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
        "counts": _state_counts([pool], timezone.now())[pool.pk],
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
        selection_id = request.POST.get("selection", "")
        if not selection_id.isdigit():
            raise Http404("selection")
        target = selectors.selection_for_registration(actor=request.user, vin=vin)
        if target is None or target.pk != int(selection_id):
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


COUNTER_KIND_WORDS = {
    draws.IMPORT: ("导入", "imported"),
    draws.WITHDRAW: ("收回", "withdrawn"),
    draws.DRAW: ("随机抽取并保留", "drawn and held"),
    draws.HOLD: ("自编号码保留", "self-composed, held"),
    draws.CHOOSE: ("选定", "chosen"),
    draws.RELEASE: ("释放回号源", "released to the pool"),
    draws.REGISTER: ("注册登记", "registered"),
}


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
                    "e": event, "kind": _counter_words(*COUNTER_KIND_WORDS.get(event.kind, (event.kind, event.kind))),
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
