"""Accident case rules as data and pure functions (A1-A9). No ORM, no clock.

Accident number (事故编号), defined here because no public standard exists:
``DDDDDD YYYYMMDD NNNNN C`` — 20 characters: the GB/T 2260 code of the handling unit,
the date the case was opened, a 5-digit serial within that unit and day, and an
ISO 7064 MOD 11-2 check character (0-9 or X) over the first 19, so a mistyped number is
refused before any lookup.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from jiaoguan.core.errors import Conflict, DomainError, Throttled, ValidationFailed


class Stage(StrEnum):
    """The ten progress stages of a general-procedure case (A2, seed 000)."""

    ACCEPTANCE = "acceptance"  # 案件受理
    INVESTIGATION = "investigation"  # 调查取证
    INSPECTION = "inspection"  # 检验鉴定
    DETENTION = "detention"  # 扣留扣押
    DETERMINATION = "determination"  # 事故认定
    REVIEW_APPLICATION = "review_application"  # 复核申请
    REVIEW_CONCLUSION = "review_conclusion"  # 复核结论
    MEDIATION = "mediation"  # 损害赔偿调解
    HIT_AND_RUN = "hit_and_run"  # 逃逸事故侦办
    CLOSURE = "closure"  # 事故结案


@dataclass(frozen=True)
class StageRule:
    stage: Stage
    order: int
    name_zh: str
    name_en: str
    after: frozenset[Stage]  # every one of these must be recorded first


_S = Stage
STAGES: dict[Stage, StageRule] = {
    r.stage: r
    for r in [
        StageRule(_S.ACCEPTANCE, 1, "案件受理", "Case accepted", frozenset()),
        StageRule(_S.INVESTIGATION, 2, "调查取证", "Investigation", frozenset({_S.ACCEPTANCE})),
        StageRule(_S.INSPECTION, 3, "检验鉴定", "Inspection and appraisal", frozenset({_S.ACCEPTANCE})),
        StageRule(_S.DETENTION, 4, "扣留扣押", "Detention and seizure", frozenset({_S.ACCEPTANCE})),
        StageRule(_S.DETERMINATION, 5, "事故认定", "Determination", frozenset({_S.INVESTIGATION})),
        StageRule(_S.REVIEW_APPLICATION, 6, "复核申请", "Review applied for", frozenset({_S.DETERMINATION})),
        StageRule(
            _S.REVIEW_CONCLUSION, 7, "复核结论", "Review conclusion", frozenset({_S.REVIEW_APPLICATION})
        ),
        StageRule(_S.MEDIATION, 8, "损害赔偿调解", "Damages mediation", frozenset({_S.DETERMINATION})),
        StageRule(_S.HIT_AND_RUN, 9, "逃逸事故侦办", "Hit-and-run investigation", frozenset({_S.ACCEPTANCE})),
        StageRule(_S.CLOSURE, 10, "事故结案", "Case closed", frozenset({_S.DETERMINATION})),
    ]
}


def stage_choices() -> list[tuple[str, str]]:
    """Stages in their order with their names, as the back office shows them."""
    ordered = sorted(STAGES.values(), key=lambda r: r.order)
    return [(r.stage.value, f"{r.name_zh} {r.name_en}") for r in ordered]


def check_closable(*, recorded: set[str], open_applications: int, open_reviews: int) -> StageRule:
    """Closure (事故结案, A2) is the last word on a case: its prerequisites are recorded and nobody
    still waits for an answer, since nothing can be recorded on the case afterwards."""
    rule = check_stage_allowed(recorded=recorded, stage=Stage.CLOSURE)
    if open_applications:
        raise Conflict(
            "accidents.close_open_applications",
            f"还有 {open_applications} 份查询申请待审核，审核后才能结案。",
            f"{open_applications} written application(s) still await review; review them before closing.",
        )
    if open_reviews:
        raise Conflict(
            "accidents.close_open_reviews",
            f"还有 {open_reviews} 份证据材料查阅未办结（待选择材料或待负责人审批），办结后才能结案。",
            f"{open_reviews} evidence review(s) are not finished; finish them before closing.",
        )
    return rule


def check_stage_allowed(*, recorded: set[str], stage: str) -> StageRule:
    """A stage may be recorded once, after the stages it depends on, and nothing after closure."""
    try:
        rule = STAGES[Stage(stage)]
    except ValueError:
        raise ValidationFailed(
            "accidents.stage_unknown", "没有这个处理阶段。", "There is no such stage.", field="stage"
        ) from None
    if Stage.CLOSURE in recorded:
        raise Conflict("accidents.case_closed", "案件已结案，不能再登记处理阶段。", "The case is closed.")
    if rule.stage in recorded:
        raise Conflict(
            "accidents.stage_recorded",
            f"“{rule.name_zh}”已登记过。",
            f"'{rule.name_en}' has already been recorded.",
            field="stage",
        )
    missing = sorted((STAGES[s] for s in rule.after if s not in recorded), key=lambda r: r.order)
    if missing:
        raise Conflict(
            "accidents.stage_order",
            f"须先登记“{missing[0].name_zh}”，才能登记“{rule.name_zh}”。",
            f"Record '{missing[0].name_en}' before '{rule.name_en}'.",
            field="stage",
            detail={"missing": [m.stage.value for m in missing]},
        )
    return rule


class DocumentKind(StrEnum):
    """Result documents (A3)."""

    DETERMINATION = "determination"  # 道路交通事故认定书
    CERTIFICATE = "certificate"  # 道路交通事故证明
    REVIEW_CONCLUSION = "review_conclusion"  # 复核结论


DOCUMENT_STAGE: dict[DocumentKind, Stage] = {
    DocumentKind.DETERMINATION: Stage.DETERMINATION,
    DocumentKind.CERTIFICATE: Stage.DETERMINATION,  # a certificate stands where no determination is possible
    DocumentKind.REVIEW_CONCLUSION: Stage.REVIEW_CONCLUSION,
}
DOCUMENT_NAMES: dict[DocumentKind, tuple[str, str]] = {
    DocumentKind.DETERMINATION: ("道路交通事故认定书", "Accident determination"),
    DocumentKind.CERTIFICATE: ("道路交通事故证明", "Accident certificate"),
    DocumentKind.REVIEW_CONCLUSION: ("道路交通事故认定复核结论", "Review conclusion"),
}


class EvidenceKind(StrEnum):
    """Evidence items that may be reviewed online (A7)."""

    SCENE_DIAGRAM = "scene_diagram"  # 现场图
    PHOTOS = "photos"  # 现场照片
    SURVEY_RECORD = "survey_record"  # 现场勘查笔录
    INSPECTION_REPORT = "inspection_report"  # 检验报告
    APPRAISAL_OPINION = "appraisal_opinion"  # 鉴定意见
    SIMULATION_RECORD = "simulation_record"  # 侦查实验笔录
    INSURANCE_POLICY = "insurance_policy"  # 保险单
    LICENCE_COPY = "licence_copy"  # 驾驶证、行驶证复印件


EVIDENCE_KIND_NAMES: dict[EvidenceKind, tuple[str, str]] = {
    EvidenceKind.SCENE_DIAGRAM: ("现场图", "scene diagram"),
    EvidenceKind.PHOTOS: ("现场照片", "scene photos"),
    EvidenceKind.SURVEY_RECORD: ("现场勘查笔录", "survey record"),
    EvidenceKind.INSPECTION_REPORT: ("检验报告", "inspection report"),
    EvidenceKind.APPRAISAL_OPINION: ("鉴定意见", "appraisal opinion"),
    EvidenceKind.SIMULATION_RECORD: ("侦查实验笔录", "simulation test record"),
    EvidenceKind.INSURANCE_POLICY: ("保险单", "insurance policy"),
    EvidenceKind.LICENCE_COPY: ("驾驶证、行驶证复印件", "copies of licences"),
}


class Confidentiality(StrEnum):
    """Items carrying one of these are never shown online (A7)."""

    NONE = "none"
    STATE_SECRET = "state_secret"  # noqa: S105 - 国家秘密, a category, not a password
    TRADE_SECRET = "trade_secret"  # noqa: S105 - 商业秘密
    PERSONAL_PRIVACY = "personal_privacy"  # 个人隐私
    WITNESS = "witness"  # 证人要求保密


CONFIDENTIALITY_NAMES: dict[Confidentiality, tuple[str, str]] = {
    Confidentiality.NONE: ("不涉密", "not confidential"),
    Confidentiality.STATE_SECRET: ("涉及国家秘密", "state secret"),
    Confidentiality.TRADE_SECRET: ("涉及商业秘密", "trade secret"),
    Confidentiality.PERSONAL_PRIVACY: ("涉及个人隐私", "personal privacy"),
    Confidentiality.WITNESS: ("证人要求保密", "witness confidentiality"),
}


def named_choices(names: dict[Any, tuple[str, str]]) -> list[tuple[str, str]]:
    """Model choices in words, Chinese first: ``[(value, "现场图 scene diagram"), ...]``."""
    return [(str(value), f"{zh} {en}") for value, (zh, en) in names.items()]


def check_shareable(confidentiality: str) -> None:
    if confidentiality != Confidentiality.NONE:
        raise Conflict(
            "accidents.item_confidential",
            "涉及国家秘密、商业秘密、个人隐私或证人要求保密的材料不能网上查阅。",
            "Items involving state or trade secrets, personal privacy or a witness's confidentiality cannot be shared.",
        )


# ---------------------------------------------------------------- numbers and codes


def _mod11_2(body: str) -> str:
    total = 0
    for ch in body:
        total = (total + int(ch)) * 2 % 11
    return "0123456789X"[(12 - total) % 11]


def accident_number_make(*, division: str, opened_on: date, serial: int) -> str:
    body = f"{division}{opened_on:%Y%m%d}{serial:05d}"
    return body + _mod11_2(body)


def accident_number_check(value: str) -> str:
    """Normalise and validate an accident number; a malformed one is refused before any lookup."""
    number = (value or "").strip().upper().replace(" ", "").replace("-", "")
    if len(number) != 20 or not number[:19].isdigit() or number[19] not in "0123456789X":
        raise ValidationFailed(
            "accidents.number_format",
            "事故编号应为20位（19位数字加1位校验码），请按查询凭证填写。",
            "An accident number has 20 characters (19 digits and a check character); copy it from the credential.",
            field="accident_number",
        )
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationFailed(
            "accidents.number_format", "事故编号中的日期无效。", "The date inside the accident number is invalid.",
            field="accident_number",
        ) from None  # fmt: skip
    if _mod11_2(number[:19]) != number[19]:
        raise ValidationFailed(
            "accidents.number_checksum",
            "事故编号校验位不正确，请核对后重新输入。",
            "The accident number's check character is wrong; check it and type it again.",
            field="accident_number",
        )
    return number


# Codes use an alphabet without look-alike characters; 12 characters give 60 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


def code_make() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_normalise(value: str) -> str:
    """The code as compared: full-width characters (a Chinese input method's) as their ASCII
    forms, upper case, letters and digits only, look-alikes as the alphabet writes them.

    The page's script (``accidents/challenge.js``) normalises the same way for its proof.
    """
    text = unicodedata.normalize("NFKC", value or "").upper()
    cleaned = "".join(ch for ch in text if ch.isascii() and ch.isalnum())[:64]
    return cleaned.replace("O", "0").replace("I", "1").replace("L", "1")


def code_display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


# ---------------------------------------------------------------- guessing limits (A5, A6)
#
# A 12-character code has 60 bits: guessing one is hopeless, so the limits only slow a
# guesser down, and none of them may ever shut out the party holding the right code:
#
# * per client (a login, or an address): after QUERY_MAX_FAILURES_PER_CLIENT wrong codes
#   in the window that client waits; everybody else is unaffected;
# * per accident number: numbers are predictable, so a guesser spreads over many
#   addresses. From QUERY_CHALLENGE_AFTER wrong codes in the window on a number, every try
#   on it carries a proof of work bound to the number and to the code tried, growing with
#   the wrong codes (a few seconds on a phone at most). The right code with its proof is
#   always answered: an attack costs the attacker, never locks the party out.

QUERY_MAX_FAILURES_PER_CLIENT = 10  # within the window, from one client
QUERY_CHALLENGE_AFTER = 20  # wrong codes within the window on one accident number
QUERY_WINDOW = timedelta(minutes=30)
CHALLENGE_BITS_MIN = 16  # about 65,000 SHA-256 hashes: well under a second in a browser
CHALLENGE_BITS_MAX = 20  # about a million: a few seconds on a phone
CHALLENGE_TTL = timedelta(minutes=10)
CHALLENGE_SOLUTION_MAX = 16  # digits


class ChallengeRequired(DomainError):
    """This accident number is being guessed at: send the try again with a proof of work (429)."""

    status = 429


def check_client_attempts(*, now: datetime, failures: list[datetime]) -> None:
    """Refuse a client with too many recent wrong codes until the oldest counted one leaves the window."""
    recent = sorted(t for t in failures if now - t < QUERY_WINDOW)
    limit = QUERY_MAX_FAILURES_PER_CLIENT
    if len(recent) >= limit:
        wait = int((recent[-limit] + QUERY_WINDOW - now).total_seconds()) + 1
        raise Throttled(
            "accidents.too_many_attempts",
            f"查询码错误次数过多，请{(wait + 59) // 60}分钟后再试。",
            f"Too many wrong codes; try again in {(wait + 59) // 60} minutes.",
            retry_after=wait,
        )


def challenge_bits(number_failures: int) -> int | None:
    """Leading zero bits a try on the number must prove, or None below the threshold.

    One more bit (twice the work) each time the wrong codes in the window double.
    """
    if number_failures < QUERY_CHALLENGE_AFTER:
        return None
    doublings = (number_failures // QUERY_CHALLENGE_AFTER).bit_length() - 1
    return min(CHALLENGE_BITS_MAX, CHALLENGE_BITS_MIN + doublings)


def _proof_digest(challenge: str, code: str, solution: str) -> bytes:
    return hashlib.sha256(f"{challenge}:{code}:{solution}".encode()).digest()


def _leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def challenge_solved(*, challenge: str, code: str, solution: str, bits: int) -> bool:
    """Whether SHA-256 of ``challenge:code:solution`` starts with ``bits`` zero bits.

    ``code`` is the normalised code tried (:func:`code_normalise`): a proof is good for one
    code only, so each guess costs its own work, while repeating a try costs nothing new.
    """
    if not (solution.isascii() and solution.isdigit() and len(solution) <= CHALLENGE_SOLUTION_MAX):
        return False
    return _leading_zero_bits(_proof_digest(challenge, code, solution)) >= bits


def challenge_solve(*, challenge: str, code: str, bits: int) -> str:
    """The smallest solution, as the browser's script finds it (for clients written in Python)."""
    counter = 0
    while _leading_zero_bits(_proof_digest(challenge, code, str(counter))) < bits:
        counter += 1
    return str(counter)


# ---------------------------------------------------------------- rollout (A9)

ONLINE_QUERY = "online_query"
EVIDENCE_REVIEW = "evidence_review"

# Which provinces (first two digits of GB/T 2260) opened which service on which date, as the
# seeds say (A9a; seed 000 for the online query, seed 004 §十二 for the evidence review pilot).
QUERY_FIRST_PROVINCES = ("31", "32", "37", "44", "50", "51")
QUERY_FIRST_DATE = date(2020, 3, 1)
QUERY_SECOND_PROVINCES = ("11", "12", "13", "14", "15", "36", "45", "46", "52", "54", "62", "63", "65")
QUERY_SECOND_DATE = date(2020, 8, 1)
EVIDENCE_PILOT_PROVINCES = ("31", "32", "37", "44", "50", "51")
EVIDENCE_PILOT_DATE = date(2021, 6, 1)


def _seed_rollout() -> dict[str, dict[str, date]]:
    table: dict[str, dict[str, date]] = {}
    for provinces, service, opened in [
        (QUERY_FIRST_PROVINCES, ONLINE_QUERY, QUERY_FIRST_DATE),
        (QUERY_SECOND_PROVINCES, ONLINE_QUERY, QUERY_SECOND_DATE),
        (EVIDENCE_PILOT_PROVINCES, EVIDENCE_REVIEW, EVIDENCE_PILOT_DATE),
    ]:
        for province in provinces:
            table.setdefault(province, {})[service] = opened
    return table


# Province -> service -> date it opened. A province not listed has no online accident service
# unless the deployment serving it switches one on (:func:`local_rollout_parse`).
ROLLOUT: dict[str, dict[str, date]] = _seed_rollout()
SERVICES = (ONLINE_QUERY, EVIDENCE_REVIEW)


def local_rollout_parse(text: str) -> dict[str, date]:
    """The local setting ``online_query=2020-06-01,evidence_review=2021-07-01`` as a mapping.

    A deployment in a province the seeds do not list (the Zhumadian demo: Henan) opens its
    services with this setting; it applies to the deployment's own province only. Raises
    ``ValueError`` with a message naming the bad part, so a typo stops the start.
    """
    opened: dict[str, date] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        service, sep, day = (piece.strip() for piece in part.partition("="))
        if not sep:
            raise ValueError(f"{part!r}: write service=YYYY-MM-DD")
        if service not in SERVICES:
            raise ValueError(f"{service!r} is not a service; use {' or '.join(SERVICES)}")
        if service in opened:
            raise ValueError(f"{service!r} is given twice")
        try:
            opened[service] = date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"{day!r} is not a date (YYYY-MM-DD) for {service}") from None
    return opened


def service_enabled(
    *,
    division: str,
    service: str,
    today: date,
    local_province: str = "",
    local: dict[str, date] | None = None,
) -> bool:
    """Whether ``service`` is open online for cases handled in ``division`` (A9, A9a).

    ``local`` opens services in ``local_province`` (the deployment's own) where the seeds
    give no date for it; a date the seeds give is never moved by a local setting.
    """
    province = division[:2]
    opened = ROLLOUT.get(province, {}).get(service)
    if opened is None and local and province == local_province[:2]:
        opened = local.get(service)
    return opened is not None and opened <= today
