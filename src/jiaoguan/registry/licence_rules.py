"""Driving-licence business rules (issue 13, REQ B8-B14), as pure functions over dated tables.

The applications engine asks these before it offers a licence business (驾驶证业务) and
again when it decides one: renewal on expiry (期满换证, B8), exchange at an age limit
(超龄换证, B9), replacement of a lost or damaged licence (遗失补证 / 损毁换证, B10, B11) and
deferral of renewal, review or the physical-condition certificate (延期换证 / 延期审验 /
延期提交身体条件证明, B12-B14).

Like ``rules`` this module has no ORM, no clock and no Django: ``today`` and ``decided_on``
are arguments, so a case decided on an old date is replayed with the rule of that date.
Dates, validity terms, statuses and age limits come from ``rules``; this module only adds
what the businesses decide on top of them.

Every check answers with an object whose ``allowed`` is True, or with a ``Refusal`` that
carries a stable code, the true reason and, where there is one, the remedy, both in Chinese
and English, because the page must say why and what the citizen can do instead.

Sources (design/RULES.md): S1 公安部令第162号 机动车驾驶证申领和使用规定 (2022-04-01) art. 13,
62, 63, 65, 72, 74, 75, 79; S6 公安部令第172号 (2025-01-01, amends S1); S7 status codes;
seed 004 §八 (deferral for people abroad). Facts that are in neither RULES.md nor the seeds
are marked "not in RULES.md or the seeds" where they are used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import ClassVar

from . import rules
from .rules import ValidityTerm

__all__ = [
    "AGE_LIMIT_EXCHANGE_DAYS",
    "DEFERRAL_MAX_YEARS",
    "DEFERRAL_REASONS",
    "DEFERRAL_STATUS",
    "OVERDUE_RENEWAL_YEARS",
    "RESTORE_WITHIN_YEARS",
    "Allowed",
    "Business",
    "Deferral",
    "DeferralKind",
    "DeferralReason",
    "Exchange",
    "LicenceFacts",
    "Refusal",
    "RenewalOpen",
    "age_limit_exchange",
    "deferral_allowed",
    "deferral_latest_until",
    "medical_certificate_refusal",
    "next_validity_term",
    "renewal_allowed",
    "renewal_window",
    "replacement_allowed",
    "status_refusal",
]


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a business is refused and what the citizen can do instead (issue 13: the business
    page states the true reason and the true remedy).

    ``code`` is stable (pages, API and tests key on it); ``on`` is the date the refusal turns
    on, when there is one (the day the renewal window opens, the last day it was open, the
    latest end of a deferral).
    """

    allowed: ClassVar[bool] = False

    code: str
    zh: str
    en: str
    remedy_zh: str = ""
    remedy_en: str = ""
    on: date | None = None


@dataclass(frozen=True)
class Allowed:
    """A check that passed and has nothing more to say."""

    allowed: ClassVar[bool] = True


ALLOWED = Allowed()


@dataclass(frozen=True)
class LicenceFacts:
    """The facts of one licence the business rules decide on, gathered by the caller.

    ``status`` is the derived status string (stored codes plus M and S, see
    ``rules.derived_licence_status``). ``review_due`` and ``medical_due`` are the current
    deadlines as ``selectors.licence_status`` computes them (None: nothing due).
    ``renewal_deferred_until`` is the end of a granted renewal deferral (status N).
    """

    birth_date: date
    classes: str
    valid_from: date
    validity_term: ValidityTerm | str
    status: str = "A"
    review_due: date | None = None
    medical_due: date | None = None
    renewal_deferred_until: date | None = None

    @property
    def valid_until(self) -> date | None:
        return rules.licence_valid_until(valid_from=self.valid_from, term=self.validity_term)


def _d(day: date) -> str:
    return f"{day:%Y-%m-%d}"


# ---------------------------------------------------------------------------
# Statuses that stop a business (S7 codes)
# ---------------------------------------------------------------------------


class Business(StrEnum):
    """The licence businesses a status can stop."""

    RENEWAL = "renewal"  # B8 期满换证
    AGE_EXCHANGE = "age_exchange"  # B9 超龄换证
    REPLACEMENT = "replacement"  # B10 遗失补证, B11 损毁换证
    DEFERRAL = "deferral"  # B12-B14 延期


_B = Business
_ISSUING = frozenset({_B.RENEWAL, _B.AGE_EXCHANGE, _B.REPLACEMENT})
_ALL = frozenset(Business)


@dataclass(frozen=True)
class _Block:
    stops: frozenset[Business]
    remedy_zh: str
    remedy_en: str


# Which S7 statuses stop which business, and the remedy. The status meanings are S7 (and
# RULES.md for B, J, R); RULES.md and the seeds do not list which statuses stop a new card,
# so this table is the platform's reading: no new card while the licence is gone (C E F G
# R), held (B D J K U), locked (L), or has unfinished violation, accident or review (H I S);
# a new card of an expired (M) or deferred (N) licence is a renewal, not a replacement.
# Deferral stays open to a holder whose card is held or who has matters pending, because it
# only moves a deadline. Unknown codes and Z stop everything: an officer must look.
_STATUS_BLOCKS: dict[str, _Block] = {
    "B": _Block(
        _ALL,
        "记分已满12分：请先参加满分学习并通过科目一考试。",
        "The licence reached 12 points: complete the full-score study and pass the subject-1 exam first.",
    ),
    "C": _Block(
        _ALL,
        "驾驶证档案已转出，请向转入地车辆管理所申请。",
        "The licence record was transferred out; apply to the vehicle administration office it went to.",
    ),
    "D": _Block(
        _ISSUING,
        "驾驶证暂扣期间不能办理，暂扣期满领回驾驶证后再申请。",
        "Not while the licence is suspended; apply after the suspension ends and the licence is returned.",
    ),
    "E": _Block(
        _ALL,
        "驾驶许可已撤销，须重新申领驾驶证。",
        "The driving permit was annulled; apply for a new licence.",
    ),
    "F": _Block(
        _ALL,
        "驾驶证已吊销，须在法定期限届满后重新申领驾驶证。",
        "The licence was revoked; apply for a new licence once the legal ban has ended.",
    ),
    "G": _Block(
        _ALL,
        "驾驶证已注销，须重新申领驾驶证。",
        "The licence was cancelled; apply for a new licence.",
    ),
    "H": _Block(
        _ISSUING,
        "请先处理交通违法（电子监控记录可网上处理）。",
        "Handle the outstanding traffic violations first (camera records can be handled online).",
    ),
    "I": _Block(
        _ISSUING,
        "请先处理完毕交通事故。",
        "Settle the outstanding traffic accident first.",
    ),
    "J": _Block(
        _ALL,
        "驾驶证已停止使用：请先参加满分学习并通过科目一考试。",
        "The licence is suspended from use: complete the full-score study and pass the subject-1 exam first.",
    ),
    "K": _Block(
        _ISSUING,
        "驾驶证扣押期间不能办理，领回驾驶证后再申请。",
        "Not while the licence is seized; apply after it is returned.",
    ),
    "L": _Block(
        _ALL,
        "驾驶证已锁定，请到驾驶证核发地车辆管理所咨询。",
        "The licence is locked; ask the vehicle administration office that issued it.",
    ),
    "M": _Block(
        frozenset({_B.REPLACEMENT}),
        "驾驶证已超过有效期，请申请期满换证，换证即发新证。",
        "The licence has expired: apply for renewal, which issues a new card.",
    ),
    "N": _Block(
        frozenset({_B.REPLACEMENT}),
        "驾驶证延期换证期间，请申请期满换证，换证即发新证。",
        "The renewal of this licence is deferred: apply for renewal, which issues a new card.",
    ),
    "R": _Block(
        _ALL,
        "驾驶证已注销（可恢复），请先到车辆管理所申请恢复驾驶资格。",
        "The licence was cancelled but can be restored; apply at a vehicle administration office to restore it first.",
    ),
    "S": _Block(
        _ISSUING,
        "请先参加审验。",
        "Attend the overdue review first.",
    ),
    "U": _Block(
        _ISSUING,
        "驾驶证扣留期间不能办理，领回驾驶证后再申请。",
        "Not while the licence is detained; apply after it is returned.",
    ),
    "Z": _Block(
        _ALL,
        "请到驾驶证核发地车辆管理所咨询。",
        "Ask the vehicle administration office that issued the licence.",
    ),
}

_UNKNOWN_BLOCK = _Block(
    _ALL,
    "驾驶证状态无法识别，请到车辆管理所核实。",
    "The licence status is not recognised; have it checked at a vehicle administration office.",
)

_BUSINESS_LABELS: dict[Business, tuple[str, str]] = {
    _B.RENEWAL: ("期满换证", "renewal"),
    _B.AGE_EXCHANGE: ("超龄换证", "exchange at the age limit"),
    _B.REPLACEMENT: ("补领或换领驾驶证", "replacement of the licence"),
    _B.DEFERRAL: ("延期办理", "deferral"),
}


def status_refusal(status: str, business: Business) -> Refusal | None:
    """The refusal for the first status code that stops ``business``, or None (S7).

    Codes are taken in the order stored; A (normal), P and T stop nothing.
    """
    for code in status or "A":
        if code in ("A", "P", "T"):
            continue
        block = _STATUS_BLOCKS.get(code, _UNKNOWN_BLOCK)
        if business not in block.stops:
            continue
        zh_status, en_status = rules.LICENCE_STATUS.get(code, (f"未知状态 {code}", f"unknown status {code}"))
        label_zh, label_en = _BUSINESS_LABELS[business]
        return Refusal(
            f"licence.status_{code}",
            f"驾驶证状态为“{zh_status}”，不能办理{label_zh}。",
            f"The licence is marked “{en_status.lower()}”, which rules out {label_en}.",
            block.remedy_zh,
            block.remedy_en,
        )
    return None


def replacement_allowed(status: str) -> Allowed | Refusal:
    """Whether a lost or damaged licence may be replaced (B10 遗失补领, B11 损毁换领).

    Only the status decides: see ``_STATUS_BLOCKS`` (M and N send the holder to renewal).
    """
    return status_refusal(status, _B.REPLACEMENT) or ALLOWED


# ---------------------------------------------------------------------------
# B8 renewal on expiry (S1 art. 13, 62, 63, 79)
# ---------------------------------------------------------------------------

# S1 art. 79 (RULES.md): cancelled when more than 1 year overdue, restorable within 2 years
# by passing subject 1. The same year is rules.CANCELLABLE_AFTER_YEARS.
OVERDUE_RENEWAL_YEARS = rules.CANCELLABLE_AFTER_YEARS
RESTORE_WITHIN_YEARS = 2


@dataclass(frozen=True)
class RenewalOpen:
    """Renewal may be applied for today: the window and whether the licence is overdue (M)."""

    allowed: ClassVar[bool] = True

    opens_on: date  # 90 days before the end of validity
    expires_on: date  # end of validity, or of a granted deferral (N)
    last_day: date  # last day of the overdue year; after it the licence is cancelled
    overdue: bool


def renewal_window(facts: LicenceFacts, today: date) -> RenewalOpen | Refusal:
    """Whether ``today`` is in the renewal window (B8, S1 art. 62, 79).

    Open from 90 days before the end of validity (``rules.renewal_window``) through the
    overdue year (status M) up to ``rules.renewal_status``'s last "overdue" day; after that
    the licence is cancelled and can only be restored (S1 art. 79).

    A granted renewal deferral (N) keeps the window open to its end, and the overdue year
    then counts from the end of the deferral: RULES.md and the seeds do not say when the
    year starts after a deferral; counting from the deferral's end is the reading that does
    not cancel a licence during the deferral it was granted.
    """
    valid_until = facts.valid_until
    if valid_until is None:
        return Refusal(
            "licence.renewal_long_term",
            "长期有效的驾驶证无需期满换证。",
            "A long-term licence does not expire and needs no renewal.",
            "证件遗失或损毁的，可申请补领或换领。",
            "If the card is lost or damaged, apply for a replacement.",
        )
    opens_on = rules.renewal_window(valid_until=valid_until)[0]
    expires_on = valid_until
    if "N" in facts.status and facts.renewal_deferred_until and facts.renewal_deferred_until > valid_until:
        expires_on = facts.renewal_deferred_until
    last_day = rules.add_years(expires_on, OVERDUE_RENEWAL_YEARS)
    if today < opens_on:
        return Refusal(
            "licence.renewal_too_early",
            f"驾驶证有效期至{_d(valid_until)}，期满换证须在有效期满前{rules.RENEWAL_WINDOW_DAYS}日内申请。",
            f"The licence is valid until {_d(valid_until)}; renewal opens "
            f"{rules.RENEWAL_WINDOW_DAYS} days before that.",
            f"请于{_d(opens_on)}起申请。证件遗失或损毁的，现在可申请补领或换领。",
            f"Apply from {_d(opens_on)}. If the card is lost or damaged, you can apply for a replacement now.",
            on=opens_on,
        )
    if today > last_day:
        restore_until = rules.add_years(last_day, RESTORE_WITHIN_YEARS)
        return Refusal(
            "licence.renewal_too_late",
            f"驾驶证超过有效期一年以上未换证（最后换证日期{_d(last_day)}），驾驶证应予注销，不能办理期满换证。",
            f"The licence has been expired for more than a year (the last day to renew was {_d(last_day)}); "
            "it is to be cancelled and can no longer be renewed.",
            f"注销后两年内（约至{_d(restore_until)}）可到车辆管理所申请恢复驾驶资格，科目一考试合格后恢复。",
            f"Within two years of the cancellation (about until {_d(restore_until)}) you can apply at a "
            "vehicle administration office to restore the licence by passing the subject-1 exam.",
            on=last_day,
        )
    return RenewalOpen(
        opens_on=opens_on, expires_on=expires_on, last_day=last_day, overdue=today > expires_on
    )


def next_validity_term(current_term: ValidityTerm | str, cycles_reached_12: bool) -> ValidityTerm:
    """The validity term of the renewed licence (S1 art. 13, 63).

    6 years, then 10 years, then long-term; each step only when no scoring cycle of the
    current term reached 12 points, otherwise the same term again. A long-term licence
    stays long-term.
    """
    term = ValidityTerm(current_term)
    if cycles_reached_12 or term is ValidityTerm.LONG_TERM:
        return term
    return ValidityTerm.TEN_YEARS if term is ValidityTerm.SIX_YEARS else ValidityTerm.LONG_TERM


def medical_certificate_refusal(medical_issued_on: date | None, today: date) -> Refusal | None:
    """Refusal when no physical-condition certificate of the last six months is on file.

    Renewal needs a certificate issued within ``rules.MEDICAL_CERTIFICATE_VALID`` (six
    months, RULES.md; S1 art. 74) before the application day.
    """
    remedy_zh = "请到具备资质的医院体检，由医院提交《身体条件证明》后再申请。"
    remedy_en = (
        "Have a medical examination at an approved hospital, which submits the certificate, then apply."
    )
    if medical_issued_on is None:
        return Refusal(
            "licence.medical_missing",
            "未查询到《身体条件证明》。",
            "No physical-condition certificate is on file.",
            remedy_zh,
            remedy_en,
        )
    if medical_issued_on > today:
        raise ValueError("the medical certificate is dated after today")
    if today - medical_issued_on > rules.MEDICAL_CERTIFICATE_VALID:
        return Refusal(
            "licence.medical_expired",
            f"《身体条件证明》开具于{_d(medical_issued_on)}，已超过六个月有效期。",
            f"The physical-condition certificate of {_d(medical_issued_on)} is more than six months old.",
            remedy_zh,
            remedy_en,
        )
    return None


def renewal_allowed(
    facts: LicenceFacts, today: date, *, medical_issued_on: date | None
) -> RenewalOpen | Refusal:
    """Everything B8 decides before a renewal is accepted: status, window, certificate.

    The status comes first: a cancelled licence is refused as cancelled, not as "too late".
    """
    refusal = status_refusal(facts.status, _B.RENEWAL)
    if refusal is not None:
        return refusal
    window = renewal_window(facts, today)
    if not window.allowed:
        return window
    return medical_certificate_refusal(medical_issued_on, today) or window


# ---------------------------------------------------------------------------
# B9 exchange at a driving age limit (S1 art. 65; S6 from 2025-01-01)
# ---------------------------------------------------------------------------

AGE_LIMIT_EXCHANGE_DAYS = 30  # S1 art. 65: exchange within 30 days of reaching the age

# RULES.md: the large classes exchange to "C1/C2" and C6 to "C1/C2": the holder chooses a
# manual or an automatic small car. rules._AGE_LIMIT_REPLACEMENTS writes C1; C2 is the other
# choice.
_SMALL_CAR_CHOICES = ("C1", "C2")


@dataclass(frozen=True)
class Exchange:
    """An age-limit exchange that is due (B9).

    ``from_classes`` are the held classes the holder may no longer drive; ``to_classes`` the
    class strings the new licence may carry, the holder's choice, the first the default (C1
    before C2). ``("",)`` means nothing is left: the licence is cancelled instead (S1 art.
    79). ``limit_age`` is the first limit reached; ``rule_from`` the effective date of the
    rule row applied.
    """

    due_by: date
    from_classes: tuple[str, ...]
    to_classes: tuple[str, ...]
    limit_age: int
    rule_from: date
    overdue: bool

    @property
    def cancels(self) -> bool:
        return self.to_classes == ("",)


def _day_age_reached(birth_date: date, age: int) -> date:
    """The first day ``rules.age_on`` gives ``age``: 29 February birthdays count from 1 March."""
    day = rules.add_years(birth_date, age)
    return day if rules.age_on(birth_date, day) >= age else day + timedelta(days=1)


def _minimal(codes: Iterable[str]) -> str:
    """A class set without classes another held class already allows (C1 with C2 is C1)."""
    held = set(codes)
    implied: set[str] = set()
    for code in held:
        implied |= rules.covered_classes(code) - {code}
    return rules.canonical_classes(held - implied)


def age_limit_exchange(
    *, birth_date: date, classes: str | Iterable[str], decided_on: date, today: date
) -> Exchange | None:
    """The exchange due at a driving age limit, or None (B9; S1 art. 65, S6).

    From 60 (63 under S6, for cases decided from 2025-01-01) A1 A2 A3 B1 B2 M N P may no
    longer be driven: the large classes become C1 or C2, A2 keeps C6; M N P are dropped.
    From 70 C3 C4 C6 D E: D and E become F, C6 becomes C1 or C2, C3 and C4 are dropped. The
    rule is the row in force on ``decided_on``; the age is taken on ``today``. The exchange
    is due within 30 days after the day the first limit was reached.
    """
    held = rules.parse_classes(classes) if isinstance(classes, str) else tuple(classes)
    dropped = rules.driving_age_limit_classes(
        birth_date=birth_date, classes=held, today=today, decided_on=decided_on
    )
    if not dropped:
        return None
    limits = rules.driving_age_limits(decided_on)
    limit_age = min(limits[code] for code in dropped)
    due_by = _day_age_reached(birth_date, limit_age) + timedelta(days=AGE_LIMIT_EXCHANGE_DAYS)
    kept = [code for code in held if code not in dropped]
    added = [
        code for replacement in dropped.values() if replacement for code in rules.parse_classes(replacement)
    ]
    options: list[str] = []
    choices = _SMALL_CAR_CHOICES if "C1" in added else ("C1",)
    for choice in choices:
        new = [choice if code == "C1" else code for code in added]
        option = _minimal([*kept, *new])
        if option not in options:
            options.append(option)
    return Exchange(
        due_by=due_by,
        from_classes=tuple(code for code in held if code in dropped),
        to_classes=tuple(options),
        limit_age=limit_age,
        rule_from=rules.driving_age_limit_rule_from(decided_on),
        overdue=today > due_by,
    )


# ---------------------------------------------------------------------------
# B12-B14 deferral of renewal, review, medical certificate (S1 art. 75)
# ---------------------------------------------------------------------------


class DeferralKind(StrEnum):
    """What is deferred: renewal (延期换证, N), review (延期审验, T), certificate (延期体检, P)."""

    RENEWAL = "renewal"
    REVIEW = "review"
    MEDICAL = "medical"


DEFERRAL_STATUS: dict[DeferralKind, str] = {
    DeferralKind.RENEWAL: "N",
    DeferralKind.REVIEW: "T",
    DeferralKind.MEDICAL: "P",
}

# S1 art. 75 (RULES.md): renewal may be deferred up to 3 years. RULES.md states the limit
# for renewal only; seed 004 §八 treats the deferral of renewal, review and certificate as
# one business, so the same limit is applied to all three. The 3 years are counted from the
# deadline being deferred (RULES.md does not say from when), so repeated deferrals of one
# deadline add up to 3 years at most.
DEFERRAL_MAX_YEARS = 3

_DEFERRAL_LABELS: dict[DeferralKind, tuple[str, str, str, str]] = {
    DeferralKind.RENEWAL: (
        "期满换证",
        "renewal",
        "请在有效期满后一年内申请期满换证。",
        "Apply for renewal within a year after expiry.",
    ),
    DeferralKind.REVIEW: ("审验", "review", "请尽快参加审验。", "Attend the review as soon as possible."),
    DeferralKind.MEDICAL: (
        "提交《身体条件证明》",
        "the physical-condition certificate",
        "请尽快体检并由医院提交《身体条件证明》。",
        "Have the medical examination and let the hospital submit the certificate as soon as possible.",
    ),
}


@dataclass(frozen=True)
class DeferralReason:
    """A reason a deferral may be granted for, the proof it needs and where it comes from."""

    code: str
    zh: str
    en: str
    proof_zh: str
    proof_en: str
    officer_review: bool  # the office judges the reason itself, not only the proof
    source: str


DEFERRAL_REASONS: dict[str, DeferralReason] = {
    reason.code: reason
    for reason in (
        # Seed 004 §八: people abroad may defer through someone at home; copies or printed
        # scans of ID and entrustment are accepted; the office checks exit and entry records.
        DeferralReason(
            "abroad",
            "出国（境）",
            "Abroad",
            "身份证明、委托书（可用复印件或影像打印件）；车辆管理所核查出入境记录",
            "ID and letter of entrustment (copies or printed scans accepted); the office checks exit and entry records",
            officer_review=False,
            source="seed 004 §八; S1 art. 75",
        ),
        # Not in RULES.md or the seeds: military service is the other reason S1 art. 75
        # names in the regulation's own text; the proof listed is the platform's assumption.
        DeferralReason(
            "military_service",
            "服兵役",
            "Military service",
            "部队出具的服役证明",
            "Certificate of service issued by the unit",
            officer_review=False,
            source="S1 art. 75 (not in RULES.md or the seeds)",
        ),
        # S1 art. 75 ends its list with "等原因" (and similar reasons): any other reason is
        # judged by an officer. Not in RULES.md or the seeds.
        DeferralReason(
            "other",
            "其他原因",
            "Other reason",
            "说明原因的书面材料及相关证明",
            "A written statement of the reason with supporting documents",
            officer_review=True,
            source="S1 art. 75 (not in RULES.md or the seeds)",
        ),
    )
}


@dataclass(frozen=True)
class Deferral:
    """A deferral that may be granted: the status it sets and its end date."""

    allowed: ClassVar[bool] = True

    kind: DeferralKind
    status_code: str  # N, T or P (S7)
    deadline: date  # the deadline deferred
    until: date  # the end asked for, at most ``latest_until``
    latest_until: date
    reason: DeferralReason


def _deadline(kind: DeferralKind, facts: LicenceFacts) -> date | None:
    if kind is DeferralKind.RENEWAL:
        return facts.valid_until
    if kind is DeferralKind.REVIEW:
        return facts.review_due
    return facts.medical_due


def deferral_latest_until(kind: DeferralKind | str, facts: LicenceFacts) -> date | None:
    """The latest end of a deferral: the deadline plus 3 years (S1 art. 75), None when nothing is due."""
    deadline = _deadline(DeferralKind(kind), facts)
    return None if deadline is None else rules.add_years(deadline, DEFERRAL_MAX_YEARS)


def deferral_allowed(
    *,
    kind: DeferralKind | str,
    reason: str,
    requested_until: date,
    facts: LicenceFacts,
    today: date,
) -> Deferral | Refusal:
    """Whether a deferral (B12 renewal, B13 review, B14 certificate) may be granted (S1 art. 75).

    Refused for an unknown reason, a status that stops it, nothing due, a deadline already
    passed (RULES.md and the seeds do not say a deferral may be asked for afterwards; the
    holder then does the business itself), an end not after the deadline, or an end more
    than 3 years after the deadline. A deadline already deferred (its status code set) may be
    deferred again within the same 3 years.
    """
    kind = DeferralKind(kind)
    name_zh, name_en, now_zh, now_en = _DEFERRAL_LABELS[kind]
    chosen = DEFERRAL_REASONS.get(reason)
    if chosen is None:
        return Refusal(
            "licence.deferral_reason_unknown",
            "延期原因无效。",
            "The reason for the deferral is not one the office accepts online.",
            "可选原因：" + "、".join(r.zh for r in DEFERRAL_REASONS.values()) + "。",
            "Choose one of: " + ", ".join(r.en.lower() for r in DEFERRAL_REASONS.values()) + ".",
        )
    refusal = status_refusal(facts.status, _B.DEFERRAL)
    if refusal is not None:
        return refusal
    deadline = _deadline(kind, facts)
    if deadline is None:
        return Refusal(
            "licence.deferral_nothing_due",
            f"当前无须{name_zh}，无需延期。",
            f"Nothing is due for {name_en}, so there is nothing to defer.",
        )
    latest = rules.add_years(deadline, DEFERRAL_MAX_YEARS)
    already = DEFERRAL_STATUS[kind] in facts.status
    if today > deadline and not already:
        return Refusal(
            "licence.deferral_deadline_passed",
            f"{name_zh}期限已于{_d(deadline)}届满，不能再申请延期。",
            f"The deadline for {name_en} passed on {_d(deadline)}; it can no longer be deferred.",
            now_zh,
            now_en,
            on=deadline,
        )
    if requested_until <= max(deadline, today):
        return Refusal(
            "licence.deferral_end_too_early",
            f"延期截止日期须晚于{_d(max(deadline, today))}。",
            f"The deferral must end after {_d(max(deadline, today))}.",
            f"请选择{_d(max(deadline, today) + timedelta(days=1))}至{_d(latest)}之间的日期。",
            f"Choose a date from {_d(max(deadline, today) + timedelta(days=1))} to {_d(latest)}.",
        )
    if requested_until > latest:
        return Refusal(
            "licence.deferral_too_long",
            f"延期最长不超过{DEFERRAL_MAX_YEARS}年，最迟至{_d(latest)}。",
            f"A deferral lasts at most {DEFERRAL_MAX_YEARS} years, until {_d(latest)} at the latest.",
            f"请选择不晚于{_d(latest)}的日期。",
            f"Choose a date no later than {_d(latest)}.",
            on=latest,
        )
    return Deferral(
        kind=kind,
        status_code=DEFERRAL_STATUS[kind],
        deadline=deadline,
        until=requested_until,
        latest_until=latest,
        reason=chosen,
    )
