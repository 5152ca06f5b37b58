"""Pages of announcements and publications (N3, issue 15).

Public (no login): /notices/ with a kind filter and a search by plate or exact full name,
/notices/<id>/ with its items page by page, CSV and JSON downloads, the RSS and Atom feeds
(feeds.py) and /notices/publications/. Staff: /counter/announcements/ to draw a draft from the
registry and move it through submission, approval, publication and withdrawal.

Thin views over ``services``/``selectors``; a refusal of a step is shown on the page, a refusal
of the role or the jurisdiction is the error page (403/404).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required, allowed, can
from jiaoguan.core.divisions import division_name
from jiaoguan.core.errors import Conflict, ValidationFailed

from . import rules, selectors, services
from .api import item_out, notice_out, publication_out
from .models import Announcement, Publication
from .rules import State

STATE_LEVELS = {
    "draft": "muted",
    "pending_approval": "amber",
    "approved": "info",
    "published": "ok",
    "withdrawn": "red",
}


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _kind_words(code: str) -> str:
    kind = rules.ANNOUNCEMENT_KINDS.get(code)
    return _words(kind.name_zh, kind.name_en) if kind else code


def _fact_label(code: str) -> str:
    kind = rules.ANNOUNCEMENT_KINDS[code]
    return _words(kind.fact_zh, kind.fact_en)


def _state_words(state: str) -> str:
    zh, en = rules.STATE_WORDS[State(state)]
    return _words(zh, en)


def _kinds() -> list[dict[str, str]]:
    return [
        {"code": k.code, "words": _words(k.name_zh, k.name_en)} for k in rules.ANNOUNCEMENT_KINDS.values()
    ]


def _row(a: Announcement) -> dict[str, Any]:
    return {
        "a": a,
        "kind": _kind_words(a.code),
        "state": _state_words(a.state),
        "level": STATE_LEVELS.get(a.state, "info"),
        "division": division_name(a.division) or a.division,
    }


# ---------------------------------------------------------------- public


@access_required(services.PUBLIC)
def notices(request: HttpRequest) -> HttpResponse:
    """The list of announcements (交通安全信息公告); a search shows the matching rows."""
    code = request.GET.get("code", "").strip().upper()
    q = request.GET.get("q", "").strip()
    error = ""
    try:
        rows, after = selectors.page_of(
            selectors.public_announcements(code=code if code in rules.ANNOUNCEMENT_KINDS else "", q=q),
            cursor=request.GET.get("cursor", ""),
        )
    except ValidationFailed as refusal:
        rows, after, error = [], None, refusal.message
    listed = []
    for a in rows:
        row = _row(a)
        if q and not error:
            row["hits"] = selectors.items_page(a, q=q, limit=10)[0]
        listed.append(row)
    context = {
        "rows": listed,
        "next_cursor": after,
        "code": code,
        "q": q,
        "error": error,
        "kinds": _kinds(),
        "searched": bool(q),
    }
    return render(request, "announcements/notices.html", context, status=422 if error else 200)


@access_required(services.PUBLIC)
def notice(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = selectors.public_announcement_get(announcement_id=announcement_id)
    try:
        after = int(request.GET.get("after", "0") or 0)
    except ValueError:
        after = 0
    items, next_after = selectors.items_page(announcement, after=after)
    context = {
        "row": _row(announcement),
        "a": announcement,
        "kind": rules.ANNOUNCEMENT_KINDS[announcement.code],
        "fact_label": _fact_label(announcement.code),
        "items": items,
        "next_after": next_after,
        "after": after,
        "paragraphs": [p for p in announcement.body.split("\n") if p.strip()],
    }
    return render(request, "announcements/notice.html", context)


def _csv_response(filename: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    # A byte-order mark so that spreadsheet programs read the Chinese as UTF-8.
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _json_response(filename: str, data: Any) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, cls=DjangoJSONEncoder, indent=1),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


_ITEM_HEADER = ["序号 position", "号牌号码 plate", "号牌种类 plate type", "姓名/所有人 name", "驾驶证号 licence number",
                "准驾车型/车辆类型 classes or kind", "日期 date", "说明 detail"]  # fmt: skip


@access_required(services.PUBLIC)
def notice_csv(request: HttpRequest, announcement_id: int) -> HttpResponse:
    a = selectors.public_announcement_get(announcement_id=announcement_id)
    rows = [
        [i.position, i.plate_number, i.plate_type, i.name_masked, i.licence_number_masked, i.classes,
         i.fact_on.isoformat() if i.fact_on else "", i.fact]
        for i in selectors.all_items(a)
    ]  # fmt: skip
    return _csv_response(f"notice-{a.pk}.csv", _ITEM_HEADER, rows)


@access_required(services.PUBLIC)
def notice_json(request: HttpRequest, announcement_id: int) -> HttpResponse:
    a = selectors.public_announcement_get(announcement_id=announcement_id)
    return _json_response(
        f"notice-{a.pk}.json", {**notice_out(a), "items": [item_out(i) for i in selectors.all_items(a)]}
    )


@access_required(services.PUBLIC)
def publications(request: HttpRequest) -> HttpResponse:
    rows = []
    by_code = {p.code: p for p in selectors.latest_publications()}
    for kind in rules.PUBLICATION_KINDS.values():
        rows.append({"kind": kind, "words": _words(kind.name_zh, kind.name_en), "p": by_code.get(kind.code)})
    return render(request, "announcements/publications.html", {"rows": rows})


def _publication(request: HttpRequest, code: str) -> Publication:
    return selectors.publication_get(code=code, period=request.GET.get("period", "").strip())


@access_required(services.PUBLIC)
def publication(request: HttpRequest, code: str) -> HttpResponse:
    p = _publication(request, code)
    kind = rules.PUBLICATION_KINDS[p.code]
    columns = [{"key": c[0], "words": _words(c[1], c[2])} for c in p.columns]
    table = [[(_words(c[1], c[2]), row.get(c[0], "")) for c in p.columns] for row in p.rows]
    context = {
        "p": p,
        "kind": kind,
        "words": _words(kind.name_zh, kind.name_en),
        "columns": columns,
        "table": table,
        "periods": selectors.publication_periods(code=p.code),
    }
    return render(request, "announcements/publication.html", context)


@access_required(services.PUBLIC)
def publication_csv(request: HttpRequest, code: str) -> HttpResponse:
    p = _publication(request, code)
    header = [f"{c[1]} {c[2]}" for c in p.columns]
    rows = [[row.get(c[0], "") for c in p.columns] for row in p.rows]
    return _csv_response(f"publication-{p.code}-{p.period}.csv", header, rows)


@access_required(services.PUBLIC)
def publication_json(request: HttpRequest, code: str) -> HttpResponse:
    p = _publication(request, code)
    return _json_response(f"publication-{p.code}-{p.period}.json", publication_out(p, rows=True))


# ---------------------------------------------------------------- staff


@access_required(services.VIEW)
def counter(request: HttpRequest) -> HttpResponse:
    """Announcements of the jurisdiction by state; a clerk draws a new draft from the registry."""
    form_error = ""
    if request.method == "POST":
        try:
            a = services.announcement_draft_generate(
                actor=request.user,
                code=request.POST.get("code", ""),
                division=request.POST.get("division", "").strip(),
                today=timezone.localdate(),
            )
        except (Conflict, ValidationFailed) as refusal:
            form_error = refusal.message
        else:
            messages.success(
                request,
                _words(f"已生成公告草稿，共{a.item_count}条。", f"Draft made with {a.item_count} items."),
            )
            return redirect("announcements:counter_detail", announcement_id=a.pk)
    state = request.GET.get("state", "")
    state = state if state in State.__members__.values() else ""
    qs = selectors.staff_announcements(actor=request.user, state=state)
    try:
        rows, after = selectors.page_of(qs, cursor=request.GET.get("cursor", ""), field="drafted_at")
    except ValidationFailed:
        rows, after = selectors.page_of(qs, field="drafted_at")  # a spoilt link starts at the top
    context = {
        "rows": [_row(a) for a in rows],
        "next_cursor": after,
        "kinds": _kinds(),
        "states": [(s.value, _state_words(s)) for s in State],
        "state": state,
        "can_draft": can(request.user, services.DRAFT),
        "jurisdiction": getattr(request.user, "jurisdiction", ""),
        "form_error": form_error,
    }
    return render(request, "announcements/counter/list.html", context, status=409 if form_error else 200)


def _offers(request: HttpRequest, a: Announcement) -> dict[str, bool]:
    """Which buttons to show: the table and the state machine decide, the service checks again."""
    user = request.user

    def may(verb: rules.Verb, action: str) -> bool:
        return (a.state, verb) in {(s.value, v) for s, v in rules.TRANSITIONS} and allowed(
            user, action, division=a.division
        )

    return {
        "edit": may(rules.Verb.EDIT, services.DRAFT),
        "submit": may(rules.Verb.SUBMIT, services.DRAFT),
        "approve": may(rules.Verb.APPROVE, services.APPROVE) and a.drafted_by_id != user.pk,
        "reject": may(rules.Verb.REJECT, services.APPROVE),
        "publish": may(rules.Verb.PUBLISH, services.PUBLISH),
        "withdraw": may(rules.Verb.WITHDRAW, services.WITHDRAW),
    }


@access_required(services.VIEW)
def counter_detail(request: HttpRequest, announcement_id: int) -> HttpResponse:
    a = selectors.staff_announcement_get(actor=request.user, announcement_id=announcement_id)
    try:
        after = int(request.GET.get("after", "0") or 0)
    except ValueError:
        after = 0
    items, next_after = selectors.items_page(a, after=after)
    context = {
        "row": _row(a),
        "a": a,
        "items": items,
        "next_after": next_after,
        "offers": _offers(request, a),
        "kind": rules.ANNOUNCEMENT_KINDS[a.code],
        "fact_label": _fact_label(a.code),
    }
    return render(request, "announcements/counter/detail.html", context)


_STEPS = {
    "edit": lambda r, pk: services.announcement_edit(
        actor=r.user, announcement_id=pk, title=r.POST.get("title", ""), body=r.POST.get("body", "")
    ),
    "submit": lambda r, pk: services.announcement_submit(actor=r.user, announcement_id=pk),
    "approve": lambda r, pk: services.announcement_approve(actor=r.user, announcement_id=pk),
    "reject": lambda r, pk: services.announcement_reject(
        actor=r.user, announcement_id=pk, reason=r.POST.get("reason", "")
    ),
    "publish": lambda r, pk: services.announcement_publish(actor=r.user, announcement_id=pk),
    "withdraw": lambda r, pk: services.announcement_withdraw(
        actor=r.user, announcement_id=pk, reason=r.POST.get("reason", "")
    ),
}


@require_POST
@access_required(services.VIEW)
def counter_step(request: HttpRequest, announcement_id: int, step: str) -> HttpResponse:
    """One step of the workflow; a role or jurisdiction refusal is the error page."""
    if step not in _STEPS:
        return HttpResponse(status=404)
    selectors.staff_announcement_get(actor=request.user, announcement_id=announcement_id)  # 404 outside
    try:
        a = _STEPS[step](request, announcement_id)
    except (Conflict, ValidationFailed) as refusal:
        messages.error(request, refusal.message)
    else:
        zh, en = rules.VERB_WORDS[rules.Verb(step)]
        done = _words(f"已{zh}。", f"Done: {en}.")
        if step == "publish":
            done = _words(f"已发布，文号 {a.number}。", f"Published as {a.number}.")
        messages.success(request, done)
    return redirect("announcements:counter_detail", announcement_id=announcement_id)
