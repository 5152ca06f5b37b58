"""Pure rules of acting for others: what may be entrusted (O5), what a relative may do for a
person aged 60 or over (O2), and how long each lasts. No ORM and no clock: callers pass ``today``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from jiaoguan.core.errors import ValidationFailed

# O5 (seed 004 §九 二): 单次委托有效期不超过 30 日. Counted in calendar days, both ends included.
ENTRUSTMENT_MAX_DAYS = 30
# An entrustment starts today or later, but not so far ahead that it is forgotten.
ENTRUSTMENT_MAX_START_AHEAD_DAYS = 30
# O2 (seed 004 §六 一): 60周岁以上老年人.
ELDER_MIN_AGE = 60
# A proxy authorisation is for one business (一次代办仅限办理单笔业务); it is meant to be used the
# day it is given. ASSUMPTION: 7 days to submit the application before it lapses (the seed is silent).
PROXY_VALID_DAYS = 7
# U7: a filing waits this long for the owner's consent, then lapses (ASSUMPTION, the seed is silent).
FILING_CONSENT_DAYS = 7
# U7: the owner's SMS code, typed by the driver, works for 10 minutes and 5 tries.
FILING_CODE_MINUTES = 10
FILING_CODE_ATTEMPTS = 5
# U7: vehicle states that leave no mark to show: transferred out, stolen, deregistered, forcibly
# deregistered, scrapped (转出、被盗抢、注销、强制注销、达到报废标准).
FILING_REFUSED_STATUSES = frozenset("BCEMP")


@dataclass(frozen=True)
class Entrustable:
    """A business that may be entrusted online (网上委托事项, O5).

    ``engine_codes``: the businesses of the applications engine it covers, so the counter can
    check an application against the entrustment; empty when the business is done only at the
    counter on the comprehensive platform.
    """

    code: str
    area: str  # "vehicle" or "licence"
    name_zh: str
    name_en: str
    engine_codes: frozenset[str] = frozenset()


def _e(code: str, area: str, zh: str, en: str, *engine: str) -> Entrustable:
    return Entrustable(code, area, zh, en, frozenset(engine))


# Seed 004 §九 一, in its order.
ENTRUSTABLE: dict[str, Entrustable] = {
    e.code: e
    for e in [
        _e("vehicle.registration", "vehicle", "注册登记", "Registration"),
        _e("vehicle.change", "vehicle", "变更登记（不含变更共同所有人）", "Change of particulars (not co-owners)"),
        _e("vehicle.transfer_local", "vehicle", "转移登记（辖区内）", "Transfer of ownership within the area"),
        _e("vehicle.certificate", "vehicle", "换领机动车登记证书", "Exchange the registration certificate"),
        _e("vehicle.plate", "vehicle", "补换领机动车号牌", "Replace or exchange plates", "B1", "B2"),
        _e("vehicle.licence", "vehicle", "补换领机动车行驶证", "Replace or exchange the vehicle licence", "B20", "B21"),
        _e("vehicle.inspection_mark", "vehicle", "补领机动车检验合格标志", "Replace the inspection mark", "B3"),
        _e("vehicle.exempt_mark", "vehicle", "免检车申领检验标志", "Inspection mark of an exempt vehicle", "E2"),
        _e("vehicle.mortgage", "vehicle", "抵押/解除抵押", "Mortgage and release"),
        _e("vehicle.pledge", "vehicle", "质押/解除质押", "Pledge and release"),
        _e("vehicle.temporary_plate", "vehicle", "申领新车临时行驶车号牌", "Temporary plate of a new car", "B18"),
        _e("vehicle.deregistration", "vehicle", "注销登记（不在境内使用、因质量问题退车）",
           "Deregistration (used abroad, returned for quality problems)"),
        _e("vehicle.disability_device", "vehicle", "变更备案（加/拆装残疾人辅助操纵装置）",
           "Filing of a disability driving aid"),
        _e("licence.replacement", "licence", "补换领驾驶证", "Replace or exchange the licence",
           "B8", "B9", "B10", "B11"),
        _e("licence.transfer_in", "licence", "驾驶证转入换证", "Transfer a licence in"),
        _e("licence.cancellation", "licence", "驾驶证注销", "Cancel the licence"),
        _e("licence.medical_certificate", "licence", "提交身体条件证明", "Submit the physical-condition certificate",
           "B7"),
        _e("licence.deferral", "licence", "驾驶证延期", "Defer licence businesses", "B12", "B13", "B14"),
    ]
}  # fmt: skip

# O2 (seed 004 §六 一 2): what a relative may do for a person aged 60 or over, as engine codes.
# 免检车申领检验标志 is the exempt application of the person's e-mark page (credentials), named E2.
PROXY_BUSINESSES: dict[str, tuple[str, str]] = {
    "B1": ("补领机动车号牌", "Replace a lost plate"),
    "B2": ("换领机动车号牌", "Exchange a plate"),
    "B20": ("补领机动车行驶证", "Replace the vehicle licence"),
    "B21": ("换领机动车行驶证", "Exchange the vehicle licence"),
    "B3": ("补领检验合格标志", "Replace the inspection mark"),
    "E2": ("免检车申领检验标志", "Inspection mark of an exempt vehicle"),
    "B8": ("机动车驾驶证期满换证", "Renew the licence on expiry"),
    "B9": ("达到规定年龄换领机动车驾驶证", "Renew the licence at an age limit"),
    "B10": ("机动车驾驶证遗失补证", "Replace a lost licence"),
    "B11": ("机动车驾驶证损毁换证", "Replace a damaged licence"),
}


def entrustable_for(business_code: str) -> list[Entrustable]:
    """The entrustable businesses that cover an engine business (empty when none does)."""
    return [e for e in ENTRUSTABLE.values() if business_code in e.engine_codes]


def check_entrustment(
    *, businesses: list[str], valid_from: date, valid_until: date, today: date
) -> list[str]:
    """The entrustment's businesses, cleaned and in the seed's order, or a refusal (O5)."""
    if not businesses:
        raise ValidationFailed(
            "delegations.entrustment.no_business", "请至少选择一项委托事项。", "Choose at least one business to entrust.",
            field="businesses",
        )  # fmt: skip
    unknown = sorted({b for b in businesses if b not in ENTRUSTABLE})
    if unknown:
        raise ValidationFailed(
            "delegations.entrustment.business_not_entrustable",
            "所选事项不属于可网上委托的交管业务：" + "、".join(unknown) + "。",
            "These are not businesses that may be entrusted online: " + ", ".join(unknown) + ".",
            field="businesses", detail={"businesses": unknown},
        )  # fmt: skip
    if valid_from < today:
        raise ValidationFailed(
            "delegations.entrustment.starts_in_past", "委托开始日期不能早于今天。", "An entrustment cannot start in the past.",
            field="valid_from",
        )  # fmt: skip
    if valid_from > today + timedelta(days=ENTRUSTMENT_MAX_START_AHEAD_DAYS):
        raise ValidationFailed(
            "delegations.entrustment.starts_too_late",
            f"委托开始日期最迟为{ENTRUSTMENT_MAX_START_AHEAD_DAYS}日后。",
            f"An entrustment must start within {ENTRUSTMENT_MAX_START_AHEAD_DAYS} days.",
            field="valid_from",
        )  # fmt: skip
    if valid_until < valid_from:
        raise ValidationFailed(
            "delegations.entrustment.ends_before_start", "委托结束日期不能早于开始日期。",
            "An entrustment cannot end before it starts.", field="valid_until",
        )  # fmt: skip
    days = (valid_until - valid_from).days + 1
    if days > ENTRUSTMENT_MAX_DAYS:
        raise ValidationFailed(
            "delegations.entrustment.too_long",
            f"单次委托有效期不超过{ENTRUSTMENT_MAX_DAYS}日（所选为{days}日）。",
            f"An entrustment lasts at most {ENTRUSTMENT_MAX_DAYS} days (this one would last {days}).",
            field="valid_until", detail={"days": days, "max_days": ENTRUSTMENT_MAX_DAYS},
        )  # fmt: skip
    chosen = set(businesses)
    return [code for code in ENTRUSTABLE if code in chosen]


def age_on(birth_date: date, today: date) -> int:
    """Full years of age on ``today`` (周岁); someone born on 29 February turns a year older on 1 March."""
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def check_proxy(*, business_code: str, elder_birth_date: date, today: date) -> None:
    """Refuse a proxy authorisation for someone under 60 or for a business outside O2's list."""
    if business_code not in PROXY_BUSINESSES:
        raise ValidationFailed(
            "delegations.proxy.business_not_allowed",
            "该业务不在老年人代办范围内。",
            "This business is not one a relative may do for an elderly person.",
            field="business_code", detail={"business": business_code, "allowed": sorted(PROXY_BUSINESSES)},
        )  # fmt: skip
    age = age_on(elder_birth_date, today)
    if age < ELDER_MIN_AGE:
        raise ValidationFailed(
            "delegations.proxy.under_age",
            f"老年人代办仅适用于{ELDER_MIN_AGE}周岁以上的老年人（当事人现年{age}周岁）。",
            f"Only a person aged {ELDER_MIN_AGE} or over may be represented this way (this person is {age}).",
            field="id_number", detail={"age": age, "min_age": ELDER_MIN_AGE},
        )  # fmt: skip


def entrustment_status(*, revoked: bool, valid_from: date, valid_until: date, today: date) -> str:
    """valid, not_yet, expired or revoked: what the counter and the principal see (O5)."""
    if revoked:
        return "revoked"
    if today < valid_from:
        return "not_yet"
    if today > valid_until:
        return "expired"
    return "valid"


# ---------------------------------------------------------------- filed vehicles (U7)


def normalise_plate(value: str) -> str:
    """A plate as typed ("豫q·12345 ") in the stored form ("豫Q12345")."""
    cleaned = unicodedata.normalize("NFKC", value or "")
    return "".join(ch for ch in cleaned if ch not in " ·.-\u3000\t").upper()[:10]


def normalise_vin_tail(value: str) -> str:
    """The last six characters of a VIN as typed (spaces dropped, upper case), or "" if malformed."""
    tail = "".join(str(value or "").split()).upper()
    return tail if len(tail) == 6 and tail.isascii() and tail.isalnum() else ""


def filing_consent_expired(*, requested_on: date, today: date) -> bool:
    """Whether a filing still awaiting the owner's consent has waited too long (U7)."""
    return today > requested_on + timedelta(days=FILING_CONSENT_DAYS)


def filing_code_open(*, sent_at_seconds: float, now_seconds: float, attempts: int) -> bool:
    """Whether the owner's SMS code may still be tried: within its minutes and its tries (U7)."""
    return attempts < FILING_CODE_ATTEMPTS and 0 <= now_seconds - sent_at_seconds <= FILING_CODE_MINUTES * 60


# ---------------------------------------------------------------- online entrustment (O5)

# O4 (seed 004 §八 一): a person abroad entrusts someone at home to defer the renewal, the review or
# the physical-condition certificate (延期办理); copies of the ID and the entrustment are accepted.
ABROAD_ENTRUSTABLE: frozenset[str] = frozenset({"licence.deferral", "licence.medical_certificate"})
ENTRUSTMENT_PURPOSES = ("ordinary", "abroad")


def check_entrustment_purpose(*, purpose: str, businesses: list[str]) -> None:
    """Refuse an unknown purpose, or an entrustment from abroad for anything but a deferral (O4)."""
    if purpose not in ENTRUSTMENT_PURPOSES:
        raise ValidationFailed(
            "delegations.entrustment.purpose_unknown", "委托类型无效。", "Unknown kind of entrustment.",
            field="purpose",
        )  # fmt: skip
    if purpose == "abroad":
        outside = [code for code in businesses if code not in ABROAD_ENTRUSTABLE]
        if outside:
            raise ValidationFailed(
                "delegations.entrustment.abroad_business",
                "出国（境）人员委托仅限驾驶证延期和提交身体条件证明。",
                "An entrustment from abroad covers only licence deferrals and the physical-condition certificate.",
                field="businesses", detail={"businesses": outside, "allowed": sorted(ABROAD_ENTRUSTABLE)},
            )  # fmt: skip


def entrustment_covers(*, businesses: list[str], business: str) -> bool:
    """Whether an entrustment of ``businesses`` covers a business named by its entrustable code
    (vehicle.plate) or by the engine code of an application (B10); O5: 委托业务与实际申请办理业务
    不一致的，应当重新委托."""
    if business in ENTRUSTABLE:
        return business in businesses
    return any(entry.code in businesses for entry in entrustable_for(business))


def known_business(business: str) -> bool:
    """An entrustable code, or an engine code some entrustable business covers."""
    return business in ENTRUSTABLE or bool(entrustable_for(business))


def entrustment_checks(
    *,
    revoked: bool,
    valid_from: date,
    valid_until: date,
    today: date,
    entrusted_id_number: str,
    present_id_number: str,
    entrusted_name: str,
    present_name: str,
    businesses: list[str],
    business: str,
) -> str:
    """What the counter decides (O5): ``ok``, or why not: revoked, not_yet, expired,
    agent_mismatch, business_mismatch, in that order (the state first: nothing else matters
    for an entrustment that is no longer in force)."""
    status = entrustment_status(revoked=revoked, valid_from=valid_from, valid_until=valid_until, today=today)
    if status != "valid":
        return status
    if entrusted_id_number.upper() != present_id_number.upper() or (
        present_name and present_name != entrusted_name
    ):
        return "agent_mismatch"
    if not entrustment_covers(businesses=businesses, business=business):
        return "business_mismatch"
    return "ok"


# The counter's answer in words, zh and en, by the reason entrustment_checks gives.
CHECK_WORDS: dict[str, tuple[str, str]] = {
    "ok": ("委托核查通过，可以受理。", "The entrustment checks out; the business may be accepted."),
    "revoked": (
        "委托人已撤销该委托，不能受理。",
        "The principal has revoked this entrustment; do not accept.",
    ),
    "not_yet": ("该委托尚未生效，不能受理。", "This entrustment is not in force yet; do not accept."),
    "expired": ("该委托已过有效期，不能受理。", "This entrustment has expired; do not accept."),
    "agent_mismatch": (
        "被委托人与实际办理人不一致，需重新委托。",
        "The person present is not the agent named in the entrustment: a new entrustment is needed.",
    ),
    "business_mismatch": (
        "委托事项与实际办理业务不一致，需重新委托。",
        "The business being done is not one entrusted: a new entrustment is needed.",
    ),
}
