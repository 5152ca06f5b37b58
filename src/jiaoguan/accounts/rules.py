"""Account rules: which registration a business needs, SMS and login limits (U2, U5).

Pure functions over tables; no ORM and no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from jiaoguan.core.errors import NotAllowed, Throttled


class Requirement(StrEnum):
    """Registration mode a business needs (注册方式), seed 002 附件5."""

    ONLINE = "online"  # 个人用户网上注册
    COUNTER = "counter"  # 个人用户窗口注册
    HOSPITAL = "hospital"  # 医院单位用户窗口注册
    CAR_DEALER = "car_dealer"  # 4S店单位用户窗口注册


@dataclass(frozen=True)
class Business:
    code: str
    name_zh: str
    name_en: str
    requirement: Requirement
    area: str  # vehicle / licence / violation
    online_now: bool  # False: 下一步上线业务 (announced, not yet live in the 2015 pilot)


# REQ U5 / B-table: seed 002 附件5 (一) live businesses and (二) next businesses.
BUSINESSES: dict[str, Business] = {
    b.code: b
    for b in [
        Business("B1", "补领机动车号牌", "Replace lost plate", Requirement.COUNTER, "vehicle", True),
        Business("B2", "换领机动车号牌", "Exchange plate", Requirement.COUNTER, "vehicle", True),
        Business(
            "B3", "补领机动车检验合格标志", "Replace inspection sticker", Requirement.COUNTER, "vehicle", True
        ),
        Business(
            "B4", "机动车安全技术检验预约", "Inspection appointment", Requirement.ONLINE, "vehicle", True
        ),
        Business(
            "B5", "变更车主联系方式", "Change owner contact details", Requirement.ONLINE, "vehicle", True
        ),
        Business("B6", "医院体检", "Hospital physical exam", Requirement.HOSPITAL, "licence", True),
        Business(
            "B7",
            "医院提交身体条件证明",
            "Submit physical-condition certificate",
            Requirement.HOSPITAL,
            "licence",
            True,
        ),
        Business("B8", "期满换领驾驶证", "Renew licence on expiry", Requirement.COUNTER, "licence", True),
        Business("B9", "超龄换领驾驶证", "Renew licence at age limit", Requirement.COUNTER, "licence", True),
        Business("B10", "遗失补领驾驶证", "Replace lost licence", Requirement.COUNTER, "licence", True),
        Business("B11", "损毁换领驾驶证", "Replace damaged licence", Requirement.COUNTER, "licence", True),
        Business("B12", "延期换证", "Defer renewal", Requirement.COUNTER, "licence", True),
        Business("B13", "延期审验", "Defer review", Requirement.COUNTER, "licence", True),
        Business(
            "B14",
            "延期提交《身体条件证明》",
            "Defer physical-condition certificate",
            Requirement.COUNTER,
            "licence",
            True,
        ),
        Business(
            "B15", "变更驾驶人联系方式", "Change driver contact details", Requirement.ONLINE, "licence", True
        ),
        Business(
            "B16", "电子监控处理", "Handle e-monitoring violation", Requirement.ONLINE, "violation", True
        ),
        Business("B17", "罚款缴纳", "Pay fine", Requirement.ONLINE, "violation", True),
        Business("B18", "申领机动车临时号牌", "Temporary plate", Requirement.CAR_DEALER, "vehicle", True),
        # Issue 17: pre-selection for a new small car on its own page (/plates/).
        Business("B19", "预选机动车号牌", "Plate pre-selection", Requirement.ONLINE, "vehicle", True),
        # Issue 14 puts B20/B21 online through the applications engine.
        Business("B20", "补领机动车行驶证", "Replace vehicle licence", Requirement.COUNTER, "vehicle", True),
        Business("B21", "换领机动车行驶证", "Exchange vehicle licence", Requirement.COUNTER, "vehicle", True),
        # Issue 16: driving tests, booked and cancelled on their own pages (/exams/).
        Business("B22", "考试预约", "Exam booking", Requirement.ONLINE, "licence", True),
        Business("B23", "取消考试预约", "Cancel exam booking", Requirement.ONLINE, "licence", True),
        # Issue 14 (E2): the paper inspection mark of an inspection-exempt vehicle, asked for with
        # the online label application (an online account suffices) and made and sent through
        # the applications engine; its page is the electronic credentials' one.
        Business(
            "E2",
            "免检车辆申领检验合格标志",
            "Inspection label for an exempt vehicle",
            Requirement.ONLINE,
            "vehicle",
            True,
        ),
    ]
}


# The businesses this platform handles online today, each with a page of its own: contact details
# (B5, B15), hospital examinations and certificates (B6, B7, issue 13), violations (B16) and fines
# (B17). The others of the seed's list are announced but their pages are not built yet (issue 11):
# until they are, a page says where to go instead and never offers a remedy (an upgrade) that would
# not make them available either. B8-B14, the licence businesses, go through the applications
# engine (issue 13).
ONLINE_HERE: frozenset[str] = frozenset(
    {"B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12", "B13", "B14", "B15", "B16", "B17"}
    # Issue 14: plates, vehicle licences and paper marks on the applications engine.
    | {"B1", "B2", "B3", "B20", "B21", "E2"}
    # Car dealers' temporary plates (issue 14).
    | {"B18"}
    # Driving tests (issue 16).
    | {"B22", "B23"}
    # Plate pre-selection (issue 17).
    | {"B19"}
)


def business_online_here(business_code: str, *, online_here: frozenset[str] = ONLINE_HERE) -> bool:
    """Whether a business can be handled online on this platform now (for anybody at all)."""
    business = BUSINESSES.get(business_code)
    return business is not None and business.online_now and business.code in online_here


def upgrade_unlocks(*, online_here: frozenset[str] = ONLINE_HERE) -> list[Business]:
    """The businesses an online-registered individual could handle online after the counter upgrade
    (U5): only these make advice to upgrade true."""
    return [
        b
        for b in BUSINESSES.values()
        if b.requirement is Requirement.COUNTER and business_online_here(b.code, online_here=online_here)
    ]


# Driving tests (issue 16): a learner's own business; of the organisations only driving schools
# act, for learners who consented.
LEARNER_BUSINESSES = frozenset({"B22", "B23"})


def check_business_allowed(
    *, business_code: str, user_kind: str, level: str, organisation_kind: str = ""
) -> Business:
    """Refuse a business the account's registration does not cover, saying how to get it (U5)."""
    business = BUSINESSES.get(business_code)
    if business is None:
        raise NotAllowed("accounts.business_unknown", "没有这项业务。", "There is no such business.")
    if business.requirement is Requirement.HOSPITAL:
        if user_kind != "organisation" or organisation_kind != "hospital":
            raise NotAllowed(
                "accounts.hospital_only",
                f"“{business.name_zh}”仅限在窗口注册的医院单位用户办理。",
                f"'{business.name_en}' is only for hospital organisation users registered at the counter.",
            )
        return business
    if business.requirement is Requirement.CAR_DEALER:
        if user_kind != "organisation" or organisation_kind != "car_dealer":
            raise NotAllowed(
                "accounts.car_dealer_only",
                f"“{business.name_zh}”仅限在窗口注册的汽车销售商（4S店）单位用户办理。",
                f"'{business.name_en}' is only for car-dealer organisation users registered at the counter.",
            )
        return business
    if (
        user_kind == "organisation"
        and business.code in LEARNER_BUSINESSES
        and organisation_kind != "driving_school"
    ):
        raise NotAllowed(
            "accounts.learner_or_school_only",
            f"“{business.name_zh}”由学员本人办理，驾驶培训机构可为同意代为预约的学员办理。",
            f"'{business.name_en}' is for the learner, or a driving school for learners who allowed it.",
        )
    if user_kind == "organisation":
        return business  # organisations are always counter-registered (U2)
    if business.requirement is Requirement.COUNTER and level != "counter":
        raise NotAllowed(
            "accounts.counter_registration_required",
            f"“{business.name_zh}”需要窗口注册用户办理。您目前是网上注册用户：请携带本人身份证明到车管所"
            "互联网交通安全综合服务中心窗口办理“互联网用户转窗口用户注册”，升级后即可在网上办理。",
            f"'{business.name_en}' needs a counter-registered account. Yours was registered online: bring your "
            "identity document to the DMV service centre counter and ask for the 'internet user to counter user' "
            "upgrade; afterwards you can handle this business online.",
            detail={"business": business.code, "upgrade": "counter"},
        )
    return business


# SMS limits per mobile number: a minimum gap and caps per hour and day (a rolling 24 hours).
SMS_CODE_TTL = timedelta(minutes=5)
SMS_MIN_GAP = timedelta(seconds=60)
SMS_MAX_PER_HOUR = 5
SMS_MAX_PER_DAY = 10
SMS_MAX_ATTEMPTS = 5
# The link a citizen registered at the counter sets the first password with (issue 11): long
# enough to get home, short enough that an old text message is no standing key to the account.
PASSWORD_LINK_TTL = timedelta(hours=24)


def sms_too_soon(wait: int) -> Throttled:
    return Throttled(
        "accounts.sms_too_soon",
        f"验证码发送过于频繁，请{wait}秒后再试。",
        f"A code was sent moments ago; try again in {wait} seconds.",
        retry_after=wait,
        field="mobile",
    )


def sms_hourly_limit(wait: int) -> Throttled:
    return Throttled(
        "accounts.sms_hourly_limit",
        "该手机号一小时内获取验证码次数已达上限，请稍后再试。",
        "This number has had too many codes in the last hour; try again later.",
        retry_after=wait,
        field="mobile",
    )


def sms_daily_limit(wait: int) -> Throttled:
    return Throttled(
        "accounts.sms_daily_limit",
        "该手机号今日获取验证码次数已达上限，请明天再试。",
        "This number has had too many codes today; try again tomorrow.",
        retry_after=wait,
        field="mobile",
    )


def check_sms_quota(*, now: datetime, sent_at: list[datetime]) -> None:
    """Refuse another SMS code for a number that has had too many lately."""
    recent = sorted((t for t in sent_at if now - t < timedelta(days=1)), reverse=True)
    if recent and now - recent[0] < SMS_MIN_GAP:
        raise sms_too_soon(int((SMS_MIN_GAP - (now - recent[0])).total_seconds()) + 1)
    last_hour = [t for t in recent if now - t < timedelta(hours=1)]
    if len(last_hour) >= SMS_MAX_PER_HOUR:
        raise sms_hourly_limit(int((last_hour[-1] + timedelta(hours=1) - now).total_seconds()) + 1)
    if len(recent) >= SMS_MAX_PER_DAY:
        raise sms_daily_limit(int((recent[-1] + timedelta(days=1) - now).total_seconds()) + 1)


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` in a window of ``window``, counted from the window's first attempt."""

    attempts: int
    window: timedelta

    @property
    def name(self) -> str:
        return f"{int(self.window.total_seconds())}s"


# Per client (its network address) and per number, on top of the per-number SMS limits above.
# Generous enough for a carrier's shared address, tight enough that one machine cannot text
# thousands of numbers or walk the registry (issue 10, item 8). Password recovery uses the
# same limits as registration.
SMS_CLIENT_LIMITS = (Limit(20, timedelta(hours=1)), Limit(60, timedelta(days=1)))
REGISTRATION_CLIENT_LIMITS = (Limit(20, timedelta(hours=1)), Limit(60, timedelta(days=1)))
REGISTRATION_MOBILE_LIMITS = (Limit(10, timedelta(hours=1)),)
# Asking for a recovery code is limited per number like sending one, but whether or not a
# code goes out, so the limit's answer cannot tell an account on record from none.
RESET_REQUEST_MOBILE_LIMITS = (
    Limit(1, SMS_MIN_GAP),
    Limit(SMS_MAX_PER_HOUR, timedelta(hours=1)),
    Limit(SMS_MAX_PER_DAY, timedelta(days=1)),
)


@dataclass(frozen=True)
class Count:
    """A window's state after an attempt: where it starts, how many it holds, or how long to wait."""

    window_start: datetime
    hits: int
    wait_seconds: int = 0

    @property
    def refused(self) -> bool:
        return self.wait_seconds > 0


def count_attempt(*, limit: Limit, window_start: datetime | None, hits: int, now: datetime) -> Count:
    """Count one attempt in a fixed window, or refuse it (counts unchanged) when the window is full.

    A parallel request may carry a ``now`` a moment before the window it finds was opened; it
    belongs to that window.
    """
    if window_start is None or now >= window_start + limit.window:
        return Count(window_start=now, hits=1)
    if hits >= limit.attempts:
        wait = math.ceil((window_start + limit.window - now).total_seconds())
        return Count(window_start=window_start, hits=hits, wait_seconds=max(1, wait))
    return Count(window_start=window_start, hits=hits + 1)


def give_back_attempt(*, limit: Limit, window_start: datetime | None, hits: int, now: datetime) -> int:
    """The count once an attempt that turned out well is taken back (only within its window)."""
    if window_start is None or now >= window_start + limit.window:
        return hits
    return max(0, hits - 1)


def wait_minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def sms_client_limit(limit: Limit, wait: int) -> Throttled:
    minutes = wait_minutes(wait)
    return Throttled(
        "accounts.sms_client_limit",
        f"本网络获取验证码过于频繁，请{minutes}分钟后再试。",
        f"Too many codes were requested from this network; try again in {minutes} minutes.",
        retry_after=wait,
    )


def client_limit(limit: Limit, wait: int) -> Throttled:
    minutes = wait_minutes(wait)
    return Throttled(
        "accounts.client_limit",
        f"操作过于频繁，请{minutes}分钟后再试。",
        f"Too many attempts from this network; try again in {minutes} minutes.",
        retry_after=wait,
    )


def mobile_attempts_limit(limit: Limit, wait: int) -> Throttled:
    minutes = wait_minutes(wait)
    return Throttled(
        "accounts.mobile_attempts_limit",
        f"该手机号尝试次数过多，请{minutes}分钟后再试。",
        f"Too many attempts with this mobile number; try again in {minutes} minutes.",
        retry_after=wait,
        field="mobile",
    )


def reset_request_limit(limit: Limit, wait: int) -> Throttled:
    """The refusal of a recovery-code request: the SMS limit's own words for the window it hit."""
    if limit.window <= SMS_MIN_GAP:
        return sms_too_soon(wait)
    if limit.window <= timedelta(hours=1):
        return sms_hourly_limit(wait)
    return sms_daily_limit(wait)


def login_client_limit(limit: Limit, wait: int) -> Throttled:
    minutes = wait_minutes(wait)
    return Throttled(
        "accounts.login_client_limit",
        f"本网络登录失败次数过多，请{minutes}分钟后再试。",
        f"Too many failed logins from this network; try again in {minutes} minutes.",
        retry_after=wait,
    )


def login_locked(wait: int) -> Throttled:
    minutes = wait_minutes(wait)
    return Throttled(
        "accounts.locked",
        f"密码错误次数过多，账号已临时锁定，请{minutes}分钟后再试。",
        f"Too many wrong passwords; the account is locked. Try again in {minutes} minutes.",
        retry_after=wait,
    )


def login_lock_until(
    *, failures: int, now: datetime, max_failures: int, lock_seconds: int
) -> datetime | None:
    """After ``max_failures`` wrong passwords in a row the account is locked for a while."""
    if failures >= max_failures:
        return now + timedelta(seconds=lock_seconds)
    return None


# ---------------------------------------------------------------- who accessed my data

ACCESS_GROUP_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class AccessView:
    """One staff read or change of a person's data, as the audit trail has it."""

    at: datetime
    actor: str
    role: str
    action: str
    record: str  # the record touched (type and id): views of different records stay apart
    summary: str


@dataclass(frozen=True)
class AccessGroup:
    """Views of one record by one staff member within a minute, shown as one line with a count."""

    at: datetime  # the newest
    first_at: datetime  # the oldest
    actor: str
    role: str
    action: str
    summary: str
    count: int


def group_access_views(
    views: list[AccessView], *, window: timedelta = ACCESS_GROUP_WINDOW
) -> list[AccessGroup]:
    """Group repeated views (newest first in, newest first out): the same staff member, action and
    record, each within ``window`` of the newest of its group (issue 11, item 7)."""
    groups: list[list[AccessView]] = []
    open_groups: dict[tuple[str, str, str], list[AccessView]] = {}
    for view in sorted(views, key=lambda v: v.at, reverse=True):
        key = (view.actor, view.action, view.record)
        group = open_groups.get(key)
        if group is not None and group[0].at - view.at < window:
            group.append(view)
            continue
        group = [view]
        open_groups[key] = group
        groups.append(group)
    return [
        AccessGroup(
            at=group[0].at,
            first_at=group[-1].at,
            actor=group[0].actor,
            role=group[0].role,
            action=group[0].action,
            summary=group[0].summary,
            count=len(group),
        )
        for group in groups
    ]
