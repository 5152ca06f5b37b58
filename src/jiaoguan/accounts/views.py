"""Pages for citizens, organisation users and counter staff.

Thin views: parse the form, call the same service the API calls, render. A refusal
(:class:`DomainError`) is shown next to the field it names; one that escapes a view is
turned into the error page by ``core.middleware``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from jiaoguan.core.access import Role, access_required, can, granted, require
from jiaoguan.core.context_processors import staff_menu
from jiaoguan.core.counters import counters_for
from jiaoguan.core.divisions import DIVISIONS
from jiaoguan.core.errors import DomainError, NotAllowed, Throttled
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone
from jiaoguan.core.personal_reads import cached_read
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry.views import licence_card, vehicle_card

from . import rules, selectors, services
from .forms import (
    MEMBER_ROLE_LABELS,
    ORGANISATION_FIELD_MAP,
    ORGANISATION_KIND_LABELS,
    ContactForm,
    CounterRegisterForm,
    LoginForm,
    MemberForm,
    OrganisationForm,
    PasswordResetForm,
    PasswordSetupForm,
    RecoverForm,
    RegisterForm,
    UpgradeForm,
    UpgradeLookupForm,
    add_domain_error,
    initial_from_post,
    submit_form,
)
from .hooks import home_counts
from .models import SmsCode, StaffRole, User

LOGIN_BACKEND = "jiaoguan.accounts.backends.PlatformBackend"
ELDER_COOKIE = "elder_mode"
ELDER_COOKIE_AGE = 365 * 24 * 3600


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# ---------------------------------------------------------------- service grid


@dataclass(frozen=True)
class Tile:
    key: str  # a business code (B16) or a feature slug (e-licence)
    label: Promise
    icon: str
    action: str  # the access-table action behind the tile: shown only to roles that may do it
    elder: bool = False  # also shown in elder-care mode, which keeps the grid short
    target: str = ""  # a page of its own (URL name), instead of the tile's service page
    query: str = ""
    hospital: bool = False  # shown to hospital organisation users only (B6/B7, U5)
    bank: bool = False  # shown to bank organisation users only (mortgages, O6, issue 14)
    dealer: bool = False  # shown to car-dealer organisation users only (B18, U5; issue 14)
    school: bool = False  # shown to driving-school organisation users only (issue 16)

    @property
    def url(self) -> str:
        if self.target:
            return reverse(self.target) + (f"?{self.query}" if self.query else "")
        return reverse("accounts:service", args=[self.key])


# Grouped as the 12123 app groups them (design/UX.md).
TILE_GROUPS: list[tuple[Promise, list[Tile]]] = [
    (
        gettext_lazy("常用业务"),
        [
            Tile(
                "B16",
                gettext_lazy("违法处理"),
                "camera",
                "violations.own.view",
                elder=True,
                target="violations:list",
            ),
            Tile(
                "B17",
                gettext_lazy("罚款缴纳"),
                "yuan",
                "payments.fine.pay_online",
                elder=True,
                target="violations:list",
                query="status=unpaid",
            ),
            Tile("e-licence", gettext_lazy("电子证照"), "card", "credentials.own.view", elder=True),
            Tile("accident", gettext_lazy("事故处理进度"), "clipboard", "accidents.progress.query"),
        ],
    ),
    (
        gettext_lazy("车驾管业务"),
        [
            Tile("vehicle", gettext_lazy("机动车业务"), "car", "registry.own.view", elder=True),
            Tile("licence", gettext_lazy("驾驶证业务"), "licence", "registry.own.view", elder=True),
            # Hospitals only (U5): the tile leads to /services/B7/, which checks the organisation.
            Tile("B7", gettext_lazy("体检和身体条件证明"), "heart", "registry.medical.record", hospital=True),
            # Car dealers only (U5): the tile leads to /services/B18/, which checks the organisation.
            Tile("B18", gettext_lazy("临时号牌"), "plate", "registry.temporary_plate.apply", dealer=True),
            # Banks only (O6, issue 14): their mortgage filings; filing itself is their system's API call.
            Tile(
                "mortgages",
                gettext_lazy("抵押登记"),
                "building",
                "registry.mortgage.view",
                target="registry:bank_mortgages",
                bank=True,
            ),
            Tile("B22", gettext_lazy("考试预约"), "calendar", "exams.own.view", target="exams:mine"),
            # Driving schools only (issue 16): their learners' exams, applied for with consent.
            Tile(
                "exam-school",
                gettext_lazy("学员考试预约"),
                "calendar",
                "exams.school.view",
                target="exams:school",
                school=True,
            ),
            Tile("B19", gettext_lazy("选号"), "plate", "plates.own.select", target="plates:mine"),
            # Veterans exchange a military licence online (O3, issue 18).
            Tile(
                "military-exchange",
                gettext_lazy("退役军人换证"),
                "licence",
                "military_exchange.own.apply",
                target="military_exchange:mine",
            ),
            # Car dealers only (P2, issue 17): the new cars they sold, for their buyers' selection.
            Tile(
                "plate-prereg",
                gettext_lazy("新车预录入"),
                "plate",
                "plates.preregistration.create",
                target="plates:dealer_preregistrations",
                dealer=True,
            ),
        ],
    ),
    (
        gettext_lazy("便民服务"),
        [
            # Issue 18 (O5): entrust someone, and the entrustments naming me as the agent.
            Tile(
                "entrust",
                gettext_lazy("网上委托"),
                "handshake",
                "delegations.entrustment.create",
                target="delegations:entrustments",
            ),
            # O2 (issue 18): a relative acts for a person aged 60 or over.
            Tile(
                "elder-proxy",
                gettext_lazy("老年人代办"),
                "heart",
                "delegations.proxy.create",
                elder=True,
                target="delegations:proxies",
            ),
            # Issue 18 (O4): drivers whose licence was cancelled while they were abroad.
            Tile(
                "overseas-relief",
                gettext_lazy("恢复驾驶资格"),
                "licence",
                "overseas_relief.own.apply",
                target="overseas_relief:mine",
            ),
            # Issue 19 (T2): a used car bought from another city, registered here in one visit.
            Tile(
                "cross-region-transfer",
                gettext_lazy("二手车异地交易登记"),
                "car",
                "transfers.own.apply",
                target="transfers:mine",
            ),
            # Issue 19 (O1): truck owners, their filed drivers and delivery companies apply for codes.
            Tile(
                "truck-passes",
                gettext_lazy("货车通行码"),
                "car",
                "truck_passes.own.apply",
                target="truck_passes:mine",
            ),
            # Issue 15 (N1): the message centre, with the notices the law requires.
            Tile(
                "messages",
                gettext_lazy("消息中心"),
                "bell",
                "notices.own.view",
                elder=True,
                target="notices:messages",
            ),
            # Issue 15 (N2): the reports sent to the organisation (transport companies, schools...).
            Tile(
                "reports",
                gettext_lazy("通报抄告"),
                "clipboard",
                "reports.own.view",
                target="reports:org_runs",
            ),
            # Issue 15 (N3): the public announcements and publications, for everyone.
            Tile(
                "notices",
                gettext_lazy("通知公告"),
                "bell",
                "announcements.notice.view",
                target="announcements:notices",
            ),
            # O8 (issue 19): where residents of old neighbourhoods may park, for everyone.
            Tile(
                "parking",
                gettext_lazy("老旧小区停车"),
                "car",
                "parking.segment.view",
                target="parking:index",
            ),
            # Issue 19 (V7): study to reduce points and the full-score education.
            Tile(
                "study",
                gettext_lazy("学法减分"),
                "book",
                "points_study.own.study",
                target="points_study:home",
            ),
        ],
    ),
]

# Tiles with a page of their own; their business code (/services/B16/) leads there too.
OWN_PAGES: dict[str, Tile] = {t.key: t for _title, tiles in TILE_GROUPS for t in tiles if t.target}

# Services without a business code: each says plainly that it is not open here yet.
FEATURES: dict[str, tuple[Promise, Promise]] = {
    "e-licence": (gettext_lazy("电子证照"), gettext_lazy("电子驾驶证、检验标志电子凭证")),
    "accident": (gettext_lazy("事故处理进度"), gettext_lazy("查询交通事故的处理进度和文书")),
}

# Tiles that open a list of businesses of one area (机动车业务, 驾驶证业务).
AREAS: dict[str, tuple[Promise, str]] = {
    "vehicle": (gettext_lazy("机动车业务"), "vehicle"),
    "licence": (gettext_lazy("驾驶证业务"), "licence"),
}

CONTACT_BUSINESSES = frozenset({"B5", "B15"})
# The licence businesses applied for through the applications engine (issue 13); their page
# is found by its URL name, as accounts sits below applications and does not import it.
APPLICATION_BUSINESSES = frozenset({"B8", "B9", "B10", "B11", "B12", "B13", "B14"}) | frozenset(
    {"B1", "B2", "B3", "B20", "B21"}  # issue 14: the vehicle businesses on the same engine
)
# Issue 14 (E2): the exempt vehicle's label is applied for from its electronic credentials' page.
CREDENTIAL_PAGES: dict[str, str] = {"E2": "credentials:list"}
# A hospital's pages (issue 13): B6 records an examination, B7 lists them to submit certificates.
# Inspection booking (issue 14, B4): my bookings and vehicles, each vehicle with its booking page.
INSPECTION_PAGES: dict[str, str] = {"B4": "inspections:mine"}
# Driving tests (issue 16): booking and cancelling both live on the learner's exam page.
EXAM_PAGES: dict[str, str] = {"B22": "exams:mine", "B23": "exams:mine"}
# Plate pre-selection (issue 17): the buyer's own page.
PLATE_PAGES: dict[str, str] = {"B19": "plates:mine"}
HOSPITAL_PAGES: dict[str, str] = {
    "B6": "registry:hospital_examination_new",
    "B7": "registry:hospital_examinations",
}
# A car dealer's page (issue 14): B18 lists its temporary plates and applies for one.
DEALER_PAGES: dict[str, str] = {"B18": "credentials:dealer_temporary_plates"}


def _business_name(business: rules.Business) -> str:
    return business.name_en if _english() else business.name_zh


def _tile_shown(tile: Tile, user: Any) -> bool:
    """A visitor sees the tiles a citizen could use (they lead to the login); others what they may do."""
    if not getattr(user, "is_authenticated", False):
        return granted(Role.CITIZEN, tile.action) or granted(Role.ANONYMOUS, tile.action)
    if tile.hospital and can(user, tile.action):
        return getattr(user.organisation, "kind", "") == "hospital"
    if tile.dealer and can(user, tile.action):
        return getattr(user.organisation, "kind", "") == "car_dealer"
    if tile.school:
        return (
            can(user, tile.action)
            and getattr(getattr(user, "organisation", None), "kind", "") == "driving_school"
        )
    if tile.bank:
        return can(user, tile.action) and getattr(getattr(user, "organisation", None), "kind", "") == "bank"
    return can(user, tile.action)


def _grid(elder: bool, user: Any = None) -> list[tuple[Promise, list[Tile]]]:
    groups = [(title, [t for t in tiles if _tile_shown(t, user)]) for title, tiles in TILE_GROUPS]
    if elder:
        # Elder-care mode: one short group of the most used services, in large tiles.
        groups = [(gettext_lazy("常用服务"), [t for _title, tiles in groups for t in tiles if t.elder])]
    return [(title, tiles) for title, tiles in groups if tiles]


def _elder(request: HttpRequest) -> bool:
    return request.COOKIES.get(ELDER_COOKIE) == "1"


# ---------------------------------------------------------------- home and services


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    grid = _grid(_elder(request), user)
    if not user.is_authenticated:
        return render(request, "accounts/landing.html", {"groups": grid})
    if can(user, "core.counter.enter"):
        return redirect("accounts:counter")

    def cards() -> dict[str, Any]:
        today = timezone.localdate()
        context = {
            "vehicles": [
                vehicle_card(v) for v in registry_selectors.my_vehicle_statuses(user=user, today=today)
            ],
            "licences": [
                licence_card(lic) for lic in registry_selectors.my_licence_statuses(user=user, today=today)
            ],
            "is_individual": user.kind == User.Kind.INDIVIDUAL,
            **home_counts(user),
        }
        # Kept as HTML (render_to_string's safe string, which the cache keeps safe) with the data it
        # shows: the cards are rendered once per change, not per visit.
        return {**context, "cards_html": render_to_string("accounts/_home_cards.html", context)}

    # The cards change when the owner's rows do, not with every visit (issue 12).
    personal = cached_read(user, "home.cards", (), cards)
    return render(
        request,
        "accounts/home.html",
        {
            **personal,
            "grid_html": _grid_html(grid, elder=_elder(request)),
            "display_name": mask_name(user.first_name)
            if user.kind == User.Kind.INDIVIDUAL
            else user.first_name,
        },
    )


# The tile grid depends only on which tiles show, the language and the mode: the same HTML for every
# citizen with the same roles, rendered once per process (issue 12). A handful of entries at most.
_GRID_HTML: dict[tuple[str, bool, tuple[str, ...]], SafeString] = {}


def _grid_html(grid: list[tuple[Promise, list[Tile]]], *, elder: bool) -> SafeString:
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = (language, elder, tuple(f"{title}|{'/'.join(t.key for t in tiles)}" for title, tiles in grid))
    html = _GRID_HTML.get(key)
    if html is None:
        html = render_to_string("includes/service_grid.html", {"groups": grid, "ELDER_MODE": elder})
        if len(_GRID_HTML) < 256:
            _GRID_HTML[key] = html
    return html


# Every business the platform handles online has a page; a code in rules.ONLINE_HERE without one
# would be a dead end (tests/accounts/test_availability.py checks this).
PAGES_OF_ONLINE_BUSINESSES: frozenset[str] = (
    CONTACT_BUSINESSES
    | APPLICATION_BUSINESSES
    | frozenset(HOSPITAL_PAGES)
    | frozenset(INSPECTION_PAGES)
    | frozenset(EXAM_PAGES)
    | frozenset(PLATE_PAGES)
    | frozenset(OWN_PAGES)
    | frozenset(CREDENTIAL_PAGES)
    | frozenset(DEALER_PAGES)
)


def _for_other_accounts(user: Any, business: rules.Business) -> bool:
    """A business online here only for another kind of account (a hospital's examinations, B6/B7),
    which this logged-in user can never do: listed without a link that would only refuse them.
    Driving tests are a learner's or a driving school's (issue 16)."""
    if not getattr(user, "is_authenticated", False) or (
        business.requirement not in (rules.Requirement.HOSPITAL, rules.Requirement.CAR_DEALER)
        and business.code not in rules.LEARNER_BUSINESSES
    ):
        return False
    organisation_kind = user.organisation.kind if user.organisation_id else ""
    try:
        rules.check_business_allowed(
            business_code=business.code,
            user_kind=user.kind,
            level=user.registration_level,
            organisation_kind=organisation_kind,
        )
    except NotAllowed:
        return True
    return False


def _business_lists(request: HttpRequest, area: str) -> dict[str, Any]:
    """An area's businesses split into those online here (links), those online for another kind
    of account (named, no link) and those to do at a counter."""
    businesses = [b for b in rules.BUSINESSES.values() if b.area == area]
    here = [b for b in businesses if rules.business_online_here(b.code)]
    others = [b for b in here if _for_other_accounts(request.user, b)]
    online = [(b.code, _business_name(b)) for b in here if b not in others]
    offline = [(b.code, _business_name(b)) for b in businesses if not rules.business_online_here(b.code)]
    return {"online": online, "others": [(b.code, _business_name(b)) for b in others], "offline": offline}


def services_index(request: HttpRequest) -> HttpResponse:
    """Every service tile and every business, so nothing is hidden in elder-care mode."""
    areas = [
        (key, title, _business_lists(request, area))
        for key, (title, area) in [("violation", (gettext_lazy("交通违法"), "violation")), *AREAS.items()]
    ]
    context = {
        # Every tile this visitor could use (a hospital's tile only to hospitals, B6/B7).
        "groups": _grid(False, request.user),
        "areas": areas,
        "counters": counters_for(division=selectors.home_division(request.user)),
    }
    return render(request, "accounts/services.html", context)


def _unavailable(
    request: HttpRequest, *, title: Any, business_code: str = "", description: Any = "", note: str = ""
) -> HttpResponse:
    """A service that cannot be used online here: say so, and where it can be done instead."""
    context = {
        "title": title,
        "description": description,
        "note": note,
        "counters": counters_for(division=selectors.home_division(request.user), business_code=business_code),
    }
    return render(request, "accounts/service.html", context)


def service(request: HttpRequest, code: str) -> HttpResponse:
    """One tile: a business (checked against the account's registration), an area, or a feature."""
    key = code.upper() if code.upper() in rules.BUSINESSES else code.lower()
    if key == "e-licence":
        return redirect("credentials:list")
    if key == "accident":
        return redirect(reverse("accidents:query"))
    if key == "study":
        return redirect(reverse("points_study:home"))
    if key == "notices":
        return redirect(reverse("announcements:notices"))
    if key in AREAS:
        title, area = AREAS[key]
        context = {
            "title": title,
            **_business_lists(request, area),
            "counters": counters_for(division=selectors.home_division(request.user)),
        }
        return render(request, "accounts/service_area.html", context)
    if key in FEATURES:
        title, description = FEATURES[key]
        return _unavailable(request, title=title, description=description)
    if key not in rules.BUSINESSES:
        raise Http404(code)
    business = rules.BUSINESSES[key]
    user = request.user
    if not rules.business_online_here(key):
        # Nobody can do it online yet, whatever their registration: no login, and no upgrade advice.
        note = ""
        if user.is_authenticated and can(user, "accounts.business.open"):
            note = _who_for(user, key)
        return _unavailable(request, title=_business_name(business), business_code=key, note=note)
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    require(user, "accounts.business.open")
    if key in APPLICATION_BUSINESSES:
        # The business page says what is needed and, when the account may not apply (U5) or the
        # licence rules say not now, the true reason and remedy in context (issue 13).
        return redirect("applications:business", code=key)
    organisation_kind = user.organisation.kind if user.organisation_id else ""  # type: ignore[union-attr]
    try:
        rules.check_business_allowed(
            business_code=key,
            user_kind=user.kind,
            level=user.registration_level,
            organisation_kind=organisation_kind,
        )
    except NotAllowed as error:
        context = {
            "title": _business_name(business),
            "business": business,
            "refusal": error,
            "counters": counters_for(division=selectors.home_division(user), business_code=key),
        }
        return render(request, "accounts/service.html", context, status=error.status)
    if key in CONTACT_BUSINESSES:
        if not can(user, "accounts.contact.change"):
            # An organisation's contact details are its legal representative's business at a counter.
            note = _("单位的联系方式由法定代表人或经办人到业务窗口变更。")
            return _unavailable(request, title=_business_name(business), business_code=key, note=note)
        return redirect("accounts:contact")
    if key in APPLICATION_BUSINESSES:
        return redirect("applications:business", code=key)
    if key in HOSPITAL_PAGES:
        return redirect(HOSPITAL_PAGES[key])
    if key in INSPECTION_PAGES:
        return redirect(INSPECTION_PAGES[key])
    if key in EXAM_PAGES:
        # A driving school applies for its learners on its own page.
        return redirect("exams:school" if user.kind == "organisation" else EXAM_PAGES[key])
    if key in PLATE_PAGES:
        return redirect(PLATE_PAGES[key])
    if key in CREDENTIAL_PAGES:
        return redirect(CREDENTIAL_PAGES[key])
    if key in DEALER_PAGES:
        return redirect(DEALER_PAGES[key])
    return redirect(OWN_PAGES[key].url)


def _who_for(user: Any, key: str) -> str:
    """Who may do a business done at a counter, when it is not the visitor (a hospital's exam)."""
    organisation_kind = user.organisation.kind if user.organisation_id else ""
    try:
        rules.check_business_allowed(
            business_code=key,
            user_kind=user.kind,
            level=user.registration_level,
            organisation_kind=organisation_kind,
        )
    except NotAllowed as error:
        if error.code in ("accounts.hospital_only", "accounts.car_dealer_only"):
            return error.message
    return ""


@require_POST
def elder_mode(request: HttpRequest) -> HttpResponse:
    """Switch elder-care mode (关怀模式) on or off; remembered in a cookie."""
    response = HttpResponseRedirect(_safe_next(request, reverse("accounts:home")))
    if request.POST.get("on") == "1":
        response.set_cookie(ELDER_COOKIE, "1", max_age=ELDER_COOKIE_AGE, samesite="Lax", httponly=True)
    else:
        response.delete_cookie(ELDER_COOKIE, samesite="Lax")
    return response


# ---------------------------------------------------------------- registration and login


def _after_login(user: User) -> str:
    return reverse("accounts:counter") if can(user, "core.counter.enter") else reverse("accounts:home")


def register(request: HttpRequest) -> HttpResponse:
    """Online registration (网上注册): registry match, SMS code, password."""
    if request.user.is_authenticated:
        return redirect("accounts:home")
    if request.method == "POST":
        form = RegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.account_register_online(
                    id_type=data["id_type"],
                    id_number=data["id_number"],
                    name=data["name"],
                    mobile=data["mobile"],
                    sms_code=data["sms_code"],
                    password=data["password"],
                    request=request,
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                login(request, user, backend=LOGIN_BACKEND)
                messages.success(request, _("注册成功，欢迎使用交管互联网服务平台。"))
                return redirect("accounts:home")
    else:
        form = RegisterForm()
    return render(request, "accounts/register.html", {"form": form})


def _send_code(request: HttpRequest, purpose: str) -> dict[str, Any]:
    """Send an SMS code to the number typed in the form; the result is shown by the mobile field."""
    try:
        services.sms_code_request(
            mobile=request.POST.get("mobile", "")[:32], purpose=purpose, request=request
        )
    except DomainError as error:
        return {"sms_error": error.message, **_resend_wait(error)}
    minutes = int(rules.SMS_CODE_TTL.total_seconds() // 60)
    return {
        "sms_sent": _("验证码已发送，%(minutes)d分钟内有效。") % {"minutes": minutes},
        "sms_wait": int(rules.SMS_MIN_GAP.total_seconds()),
    }


def _resend_wait(error: DomainError) -> dict[str, int]:
    """A send refused as too soon counts down to when it will go (the button shows the wait)."""
    if isinstance(error, Throttled) and error.code == "accounts.sms_too_soon":
        return {"sms_wait": error.retry_after}
    return {}


@require_POST
def register_sms(request: HttpRequest) -> HttpResponse:
    """The "获取验证码" button: posts the whole form, keeps what was typed."""
    form = RegisterForm(initial=initial_from_post(request.POST, RegisterForm))
    context = {"form": form, **_send_code(request, SmsCode.Purpose.REGISTER)}
    return render(request, "accounts/register.html", context)


def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, "")
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or _after_login(request.user))
    status = 200
    retry_after = 0
    unlock_at = None
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            try:
                user = services.account_authenticate(
                    username=form.cleaned_data["account"],
                    password=form.cleaned_data["password"],
                    request=request,
                )
            except Throttled as error:
                form.add_error(None, error.message)
                retry_after = error.retry_after
                unlock_at = timezone.localtime() + timedelta(seconds=retry_after)
                status = error.status
            except DomainError as error:
                add_domain_error(form, error)
            else:
                login(request, user, backend=LOGIN_BACKEND)
                messages.success(request, _("登录成功。"))
                return redirect(next_url or _after_login(user))
    else:
        form = LoginForm()
    response = render(
        request,
        "accounts/login.html",
        {"form": form, "next": next_url, "unlock_at": unlock_at},
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


# Service errors name the API's field; the page calls it the account.
PASSWORD_RESET_FIELD_MAP = {"username": "account"}


def password_reset(request: HttpRequest) -> HttpResponse:
    """Password recovery (忘记密码): a code to the mobile on record, then a new password."""
    if request.method == "POST":
        form = PasswordResetForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.password_reset_confirm(
                    username=data["account"],
                    mobile=data["mobile"],
                    sms_code=data["sms_code"],
                    password=data["password"],
                    request=request,
                )
            except DomainError as error:
                add_domain_error(form, error, PASSWORD_RESET_FIELD_MAP)
            else:
                messages.success(request, _("密码已重置，请用新密码登录。"))
                return redirect("accounts:login")
    else:
        form = PasswordResetForm(initial={"account": request.GET.get("account", "")[:150]})
    context = {"form": form, "counters": counters_for(division=selectors.home_division(request.user))}
    return render(request, "accounts/password_reset.html", context)


@require_POST
def password_reset_sms(request: HttpRequest) -> HttpResponse:
    """The "获取验证码" button of password recovery: the same words whatever was found."""
    form = PasswordResetForm(initial=initial_from_post(request.POST, PasswordResetForm))
    context: dict[str, Any] = {
        "form": form,
        "counters": counters_for(division=selectors.home_division(request.user)),
    }
    try:
        services.password_reset_request(
            username=request.POST.get("account", "")[:150],
            mobile=request.POST.get("mobile", "")[:32],
            request=request,
        )
    except DomainError as error:
        context["sms_error"] = error.message
        context.update(_resend_wait(error))
    else:
        context["sms_sent"] = services.password_reset_notice()
        context["sms_wait"] = int(rules.SMS_MIN_GAP.total_seconds())
    return render(request, "accounts/password_reset.html", context)


def password_setup(request: HttpRequest, token: str) -> HttpResponse:
    """The texted link of counter registration: the citizen sets the first password (设置密码)."""
    try:
        link = services.password_link_find(token=token)
    except DomainError as error:
        return render(request, "accounts/password_setup.html", {"invalid": error.message}, status=404)
    if request.method == "POST":
        form = PasswordSetupForm(request.POST)
        if form.is_valid():
            user = submit_form(
                form,
                lambda: services.password_setup_complete(
                    token=token, password=form.cleaned_data["password"], request=request
                ),
            )
            if user is not None:
                messages.success(request, _("登录密码已设置，请用证件号码和新密码登录。"))
                return redirect("accounts:login")
    else:
        form = PasswordSetupForm()
    context = {"form": form, "name": mask_name(link.user.first_name), "expires_at": link.expires_at}
    response = render(request, "accounts/password_setup.html", context)
    # The token in the address goes to no other site (the form posts back here, with its origin).
    response["Referrer-Policy"] = "same-origin"
    return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("您已安全退出。"))
    return redirect("accounts:home")


# ---------------------------------------------------------------- my account

ROLE_LABELS: dict[str, Promise] = {
    StaffRole.COUNTER_CLERK.value: gettext_lazy("窗口业务员"),
    StaffRole.VIOLATION_OFFICER.value: gettext_lazy("违法处理民警"),
    StaffRole.ACCIDENT_OFFICER.value: gettext_lazy("事故处理民警"),
    StaffRole.ACCIDENT_HEAD.value: gettext_lazy("事故处理部门负责人"),
    StaffRole.AUDITOR.value: gettext_lazy("审计员"),
    StaffRole.ADMINISTRATOR.value: gettext_lazy("系统管理员"),
}

ACTION_LABELS: dict[str, Promise] = {
    "view": gettext_lazy("查看"),
    "list": gettext_lazy("列表查询"),
    "create": gettext_lazy("新增"),
    "change": gettext_lazy("修改"),
    "reveal": gettext_lazy("显示完整信息"),
    "login": gettext_lazy("登录"),
    "login_failed": gettext_lazy("登录失败"),
    "register": gettext_lazy("注册"),
    "upgrade": gettext_lazy("升级为窗口注册"),
}

LEVEL_LABELS: dict[str, Promise] = {
    User.Level.ONLINE.value: gettext_lazy("网上注册用户"),
    User.Level.COUNTER.value: gettext_lazy("窗口注册用户"),
}

KIND_LABELS: dict[str, Promise] = {
    User.Kind.INDIVIDUAL.value: gettext_lazy("个人用户"),
    User.Kind.ORGANISATION.value: gettext_lazy("单位用户"),
    User.Kind.STAFF.value: gettext_lazy("民警/工作人员"),
}


def _division_label(code: str) -> str:
    return f"{DIVISIONS.get(code, '')}（{code}）" if code else ""


def me(request: HttpRequest) -> HttpResponse:
    """My profile, masked, and who among the staff looked at my data."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    user: User = request.user  # type: ignore[assignment]
    person = user.person
    organisation = user.organisation
    access = [
        {
            "at": group.at,
            "first_at": group.first_at,
            "count": group.count,
            "actor": group.actor,
            "role": ROLE_LABELS.get(group.role, group.role),
            "action": ACTION_LABELS.get(group.action, group.action),
            "summary": group.summary,
        }
        for group in selectors.access_groups_for(user=user)
    ]
    profile = {
        "kind": KIND_LABELS.get(user.kind, user.kind),
        "name": mask_name(person.name)
        if person
        else (organisation.name if organisation else user.first_name),
        "id_number": mask_id_number(person.id_number)
        if person
        else (organisation.uscc if organisation else ""),
        "mobile": mask_phone(user.mobile) if user.mobile else "",
        "level": LEVEL_LABELS.get(user.registration_level, ""),
        # Upgrade advice only where upgrading makes something available online (issue 11, item 2).
        "upgrade_unlocks": [_business_name(b) for b in rules.upgrade_unlocks()]
        if user.kind == User.Kind.INDIVIDUAL and user.registration_level == User.Level.ONLINE
        else [],
        "organisation_kind": ORGANISATION_KIND_LABELS.get(organisation.kind, "") if organisation else "",
        "role": ROLE_LABELS.get(user.staff_role, "") if user.staff_role else "",
        "jurisdiction": _division_label(user.jurisdiction),
        "username": user.username if user.kind == User.Kind.STAFF else "",
    }
    context = {
        "profile": profile,
        "access": access,
        "show_access": can(user, "accounts.access_log.view"),
        # Issue 18: who acted for me and filed vehicles are citizens' (and organisations') pages.
        "show_delegations": can(user, "delegations.own.view"),
        "show_filings": can(user, "delegations.filing.request"),
    }
    return render(request, "accounts/me.html", context)


@access_required("accounts.contact.change")
def contact(request: HttpRequest) -> HttpResponse:
    """Change owner and driver contact details (B5, B15) after an SMS check of the new number."""
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.contact_details_change(
                    actor=request.user,  # type: ignore[arg-type]
                    mobile=data["mobile"],
                    sms_code=data["sms_code"],
                    postal_address=data["postal_address"] or None,
                    request=request,
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, _("联系方式已变更，机动车和驾驶证的联系电话已同步更新。"))
                return redirect("accounts:me")
    else:
        form = ContactForm()
    return render(request, "accounts/contact.html", {"form": form})


@require_POST
@access_required("accounts.contact.change")
def contact_sms(request: HttpRequest) -> HttpResponse:
    form = ContactForm(initial=initial_from_post(request.POST, ContactForm))
    context = {"form": form, **_send_code(request, SmsCode.Purpose.CHANGE_MOBILE)}
    return render(request, "accounts/contact.html", context)


# ---------------------------------------------------------------- counter (staff)


@access_required("core.counter.enter")
def counter(request: HttpRequest) -> HttpResponse:
    """The staff menu: a tile for every action of the table the role may use, nothing else."""
    user: User = request.user  # type: ignore[assignment]
    menu = staff_menu(user)
    context = {
        "role": ROLE_LABELS.get(user.staff_role, user.staff_role),
        "jurisdiction": _division_label(user.jurisdiction),
        "menu": menu,
    }
    return render(request, "accounts/counter/home.html", context)


@access_required("accounts.individual.register_at_counter")
def counter_register(request: HttpRequest) -> HttpResponse:
    """Counter registration of an individual (窗口注册); the clerk has seen the document."""
    if request.method == "POST":
        form = CounterRegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.account_register_at_counter(
                    actor=request.user,  # type: ignore[arg-type]
                    id_type=data["id_type"],
                    id_number=data["id_number"],
                    name=data["name"],
                    mobile=data["mobile"],
                    request=request,
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                hours = int(rules.PASSWORD_LINK_TTL.total_seconds() // 3600)
                messages.success(
                    request,
                    _(
                        "已完成窗口注册：%(name)s，证件号码 %(number)s。设置登录密码的链接已发送到手机 "
                        "%(mobile)s，请申请人在%(hours)d小时内打开链接自行设置密码。"
                    )
                    % {
                        "name": mask_name(user.first_name),
                        "number": mask_id_number(user.username),
                        "mobile": mask_phone(user.mobile),
                        "hours": hours,
                    },
                )
                return redirect("accounts:counter_register")
    else:
        form = CounterRegisterForm()
    return render(request, "accounts/counter/register.html", {"form": form})


def _account_summary(user: User) -> dict[str, Any]:
    person = user.person
    return {
        "id": user.pk,
        "name": mask_name(person.name) if person else "",
        "id_number": mask_id_number(person.id_number) if person else "",
        "mobile": mask_phone(user.mobile) if user.mobile else "",
        "level": LEVEL_LABELS.get(user.registration_level, ""),
        "is_online": user.registration_level == User.Level.ONLINE,
        "joined": user.date_joined,
    }


@access_required("accounts.individual.upgrade")
def counter_upgrade(request: HttpRequest) -> HttpResponse:
    """Internet user to counter user (互联网用户转窗口用户): find by document, check the original, upgrade."""
    found: User | None = None
    searched = False
    upgrade_form = None
    if request.method == "POST":
        upgrade_form = UpgradeForm(request.POST)
        lookup = UpgradeLookupForm(request.POST)
        if upgrade_form.is_valid():
            try:
                user = services.account_upgrade_to_counter(
                    actor=request.user,  # type: ignore[arg-type]
                    user_id=upgrade_form.cleaned_data["user_id"],
                    document_checked=upgrade_form.cleaned_data["document_checked"],
                    request=request,
                )
            except DomainError as error:
                add_domain_error(upgrade_form, error)
            else:
                messages.success(
                    request,
                    _("%(name)s（%(number)s）已升级为窗口注册用户。")
                    % {"name": mask_name(user.first_name), "number": mask_id_number(user.username)},
                )
                return redirect("accounts:counter_upgrade")
        searched = True
        if lookup.is_valid():
            try:
                found = selectors.account_find_for_counter(
                    actor=cast(User, request.user), request=request, **lookup.cleaned_data
                )  # type: ignore[arg-type]
            except DomainError as error:
                add_domain_error(lookup, error)
    elif "id_number" in request.GET:
        lookup = UpgradeLookupForm(request.GET)
        searched = True
        if lookup.is_valid():
            try:
                found = selectors.account_find_for_counter(
                    actor=cast(User, request.user), request=request, **lookup.cleaned_data
                )  # type: ignore[arg-type]
            except DomainError as error:
                add_domain_error(lookup, error)
    else:
        lookup = UpgradeLookupForm()
    if found is not None and upgrade_form is None:
        upgrade_form = UpgradeForm(initial={"user_id": found.pk})
    context = {
        "lookup": lookup,
        "found": _account_summary(found) if found else None,
        "searched": searched,
        "upgrade_form": upgrade_form,
    }
    return render(request, "accounts/counter/upgrade.html", context)


@access_required("accounts.individual.recover")
def counter_recover(request: HttpRequest) -> HttpResponse:
    """Counter side of password recovery (窗口找回密码): find by document, check the original, record
    the applicant's current mobile; the applicant then resets the password online by SMS."""
    clerk = cast(User, request.user)
    source = request.POST if request.method == "POST" else request.GET
    lookup = UpgradeLookupForm(source) if "id_number" in source else UpgradeLookupForm()
    recover_form = RecoverForm(request.POST) if request.method == "POST" else None
    if recover_form is not None and recover_form.is_valid():
        data = recover_form.cleaned_data
        user = submit_form(
            recover_form,
            lambda: services.account_recover_at_counter(
                actor=clerk,
                user_id=data["user_id"],
                mobile=data["mobile"],
                document_checked=data["document_checked"],
                request=request,
            ),
        )
        if user is not None:
            messages.success(
                request,
                _(
                    "%(name)s（%(number)s）的预留手机号已变更为 %(mobile)s，账号已解锁。"
                    "请申请人在“忘记密码”页面用该号码获取验证码，设置新密码。"
                )
                % {
                    "name": mask_name(user.first_name),
                    "number": mask_id_number(user.username),
                    "mobile": mask_phone(user.mobile),
                },
            )
            return redirect("accounts:counter_recover")
    found: User | None = None
    if lookup.is_bound and lookup.is_valid():
        found = submit_form(
            lookup,
            lambda: selectors.account_find_for_counter(actor=clerk, request=request, **lookup.cleaned_data),
        )
    if found is not None and recover_form is None:
        recover_form = RecoverForm(initial={"user_id": found.pk})
    context = {
        "lookup": lookup,
        "found": _account_summary(found) if found else None,
        "searched": lookup.is_bound,
        "recover_form": recover_form,
    }
    return render(request, "accounts/counter/recover.html", context)


@access_required("accounts.organisation.members")
def counter_organisations(request: HttpRequest) -> HttpResponse:
    """Find an organisation by its USCC to manage its members."""
    uscc = request.GET.get("uscc", "").strip().upper()[:32]
    organisation = None
    if uscc:
        organisation = (
            registry_selectors.organisations_visible_to(actor=cast(User, request.user))
            .filter(uscc=uscc)
            .first()
        )  # type: ignore[arg-type]
        if organisation is not None:
            return redirect("accounts:counter_members", organisation_id=organisation.pk)
    return render(request, "accounts/counter/organisations.html", {"uscc": uscc, "not_found": bool(uscc)})


@access_required("accounts.organisation.register")
def counter_organisation_new(request: HttpRequest) -> HttpResponse:
    """Counter registration of an organisation user (单位用户注册)."""
    jurisdiction = cast(User, request.user).jurisdiction
    if request.method == "POST":
        form = OrganisationForm(request.POST, jurisdiction=jurisdiction)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.organisation_register(
                    actor=request.user,  # type: ignore[arg-type]
                    uscc=data["uscc"],
                    name=data["organisation_name"],
                    kind=data["kind"],
                    division=data["division"],
                    representative_id_type=data["representative_id_type"],
                    representative_id_number=data["representative_id_number"],
                    representative_name=data["representative_name"],
                    representative_role=data["representative_role"],
                    authorisation_reference=data["authorisation_reference"],
                    mobile=data["mobile"],
                    password=data["password"],
                    address=data["address"],
                    request=request,
                )
            except DomainError as error:
                add_domain_error(form, error, ORGANISATION_FIELD_MAP)
            else:
                messages.success(
                    request,
                    _("单位用户已注册：%(name)s，登录账号为统一社会信用代码 %(uscc)s，办理人 %(rep)s。")
                    % {
                        "name": user.first_name,
                        "uscc": user.username,
                        "rep": mask_name(data["representative_name"]),
                    },
                )
                return redirect("accounts:counter_members", organisation_id=user.organisation_id)
    else:
        form = OrganisationForm(jurisdiction=jurisdiction)
    return render(request, "accounts/counter/organisation_new.html", {"form": form})


@access_required("accounts.organisation.members")
def counter_members(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """People who act for an organisation; add a member (organisation_member_add)."""
    organisation = (
        registry_selectors.organisations_visible_to(actor=cast(User, request.user))
        .filter(pk=organisation_id)
        .first()
    )  # type: ignore[arg-type]
    if organisation is None:
        raise Http404("organisation")
    if request.method == "POST":
        form = MemberForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                member = services.organisation_member_add(
                    actor=request.user,  # type: ignore[arg-type]
                    organisation_id=organisation.pk,
                    id_type=data["id_type"],
                    id_number=data["id_number"],
                    name=data["name"],
                    role=data["role"],
                    authorisation_reference=data["authorisation_reference"],
                    request=request,
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(
                    request,
                    _("已添加单位人员：%(name)s（%(number)s），%(role)s。")
                    % {
                        "name": mask_name(member.person.name),
                        "number": mask_id_number(member.person.id_number),
                        "role": MEMBER_ROLE_LABELS.get(member.role, member.role),
                    },
                )
                return redirect("accounts:counter_members", organisation_id=organisation.pk)
    else:
        form = MemberForm()
    members = [
        {
            "name": mask_name(m.person.name),
            "id_number": mask_id_number(m.person.id_number),
            "role": MEMBER_ROLE_LABELS.get(m.role, m.role),
            "added_at": m.added_at,
        }
        for m in selectors.organisation_members(organisation_id=organisation.pk)
    ]
    context = {
        "organisation": organisation,
        "kind": ORGANISATION_KIND_LABELS.get(organisation.kind, organisation.kind),
        "division": _division_label(organisation.division),
        "members": members,
        "form": form,
    }
    return render(request, "accounts/counter/members.html", context)
