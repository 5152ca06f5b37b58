"""Accident case use cases (A1-A9): open, parties, stages, closure, documents, query credentials,
applications, progress queries, evidence review. Each change: access check, lock, re-check,
change, audit. Who may do what comes from the access table (``core.access``, actions
``accidents.*``); a case outside what the actor may see answers "not found"."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import allowed, division_prefix_for, require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import validate_division
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.identifiers import mask_id_number, mask_name, validate_mobile, validate_plate
from jiaoguan.core.locks import lock_named
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.core.purges import BATCH, purge_in_batches
from jiaoguan.registry.documents import normalise_document_number
from jiaoguan.registry.models import DrivingLicence, Organisation, Person, Vehicle

from . import rules
from .models import (
    AccidentCase,
    CaseCounter,
    EvidenceDownload,
    EvidenceItem,
    EvidenceReview,
    Party,
    QueryApplication,
    QueryAttempt,
    QueryCredential,
    ResultDocument,
    StageRecord,
)

CASE_VIEW = "accidents.case.view"


# ---------------------------------------------------------------- access


def case_for_officer(
    *, actor: Any, case_id: int, action: str = CASE_VIEW, lock: bool = False
) -> AccidentCase:
    """The case, for an actor who may do ``action`` on it.

    A role without the action is refused (403) before anything is read; a case outside what
    the actor may see is "not found", the same answer as a missing one, so ids cannot be
    probed; a visible case outside the action's scope is refused (403).
    """
    require(actor, action)
    prefix = division_prefix_for(actor, CASE_VIEW)
    qs = AccidentCase.objects.select_for_update() if lock else AccidentCase.objects.all()
    case = None if prefix is None else qs.filter(pk=case_id, division__startswith=prefix).first()
    if case is None:
        raise NotFound("accidents.case_not_found", "没有这起事故案件。", "No such accident case.")
    require(actor, action, division=case.division)
    return case


def _open(case: AccidentCase) -> None:
    """Nothing is recorded on a closed case (A2): closure is the case's last entry."""
    if case.closed_at is not None:
        raise Conflict(
            "accidents.case_closed",
            "案件已结案，不能再登记或变更案件材料。",
            "The case is closed; nothing more can be recorded on it.",
        )


# ---------------------------------------------------------------- cases, parties, stages


def case_open(
    *,
    actor: Any,
    occurred_at: datetime,
    place: str,
    division: str | None = None,
    weather: str = "",
    summary: str = "",
) -> AccidentCase:
    """Open a general-procedure case (A1) with a fresh accident number, in a unit of the jurisdiction."""
    require(actor, "accidents.case.open")
    division = validate_division(division or actor.jurisdiction)
    require(actor, "accidents.case.open", division=division)
    place = (place or "").strip()
    if not place or len(place) > 200:
        raise ValidationFailed(
            "accidents.place",
            "请填写事故地点（200字以内）。",
            "Enter the place (at most 200 characters).",
            field="place",
        )
    if occurred_at > timezone.now():
        raise ValidationFailed(
            "accidents.future",
            "事故时间不能晚于现在。",
            "The accident time cannot be in the future.",
            field="occurred_at",
        )
    today = timezone.localdate()
    with transaction.atomic():
        counter, _ = CaseCounter.objects.get_or_create(division=division, day=today)
        counter = CaseCounter.objects.select_for_update().get(pk=counter.pk)
        counter.last += 1
        counter.save(update_fields=["last"])
        case = AccidentCase.objects.create(
            number=rules.accident_number_make(division=division, opened_on=today, serial=counter.last),
            division=division,
            occurred_at=occurred_at,
            place=place,
            weather=(weather or "")[:20],
            summary=summary or "",
            officer=actor,
        )
        audit_record(actor=actor, action="create", subject=case, summary=f"立案 {case.number}")
    return case


def stage_record(
    *, actor: Any, case_id: int, stage: str, happened_on: date, public_note: str = "", internal_note: str = ""
) -> StageRecord:
    """Record a stage as it happens (A2). Closure has its own step, :func:`case_close`."""
    if stage == rules.Stage.CLOSURE:
        raise ValidationFailed(
            "accidents.closure_separate",
            "结案须使用“结案”功能，写明结案说明并确认。",
            "Close the case with the closing step, which asks for a summary and a confirmation.",
            field="stage",
        )
    if happened_on > timezone.localdate():
        raise ValidationFailed(
            "accidents.future", "日期不能晚于今天。", "The date cannot be in the future.", field="happened_on"
        )
    if len(public_note or "") > 300:
        raise ValidationFailed(
            "accidents.note_long",
            "公开说明最多300字。",
            "The public note is limited to 300 characters.",
            field="public_note",
        )
    with transaction.atomic():
        case = case_for_officer(actor=actor, case_id=case_id, action="accidents.case.record_stage", lock=True)
        _open(case)
        recorded = set(case.stages.values_list("stage", flat=True))
        rule = rules.check_stage_allowed(recorded=recorded, stage=stage)
        record = StageRecord.objects.create(
            case=case,
            stage=rule.stage,
            happened_on=happened_on,
            public_note=(public_note or "").strip(),
            internal_note=internal_note or "",
            recorded_by=actor,
        )
        audit_record(actor=actor, action="change", subject=case, summary=f"登记阶段 {rule.name_zh}")
        # The parties are told after commit (issue 15, A2): the message centre subscribes.
        outbox_enqueue(
            topic=STAGE_RECORDED,
            payload={"stage_record_id": record.pk},
            dedup_key=f"accident-stage-{record.pk}",
        )
    return record


STAGE_RECORDED = "accidents.stage_recorded"
DOCUMENT_RELEASED = "accidents.document_released"


CLOSURE_SUMMARY_MIN = 4
CLOSURE_SUMMARY_MAX = 500


def case_close(
    *, actor: Any, case_id: int, closed_on: date, summary: str, public_note: str = "", request: Any = None
) -> AccidentCase:
    """Close the case (事故结案, A2): the closure stage with the closing summary as its reason.

    Irreversible: nothing can be recorded on the case afterwards, so the pages ask for a
    confirmation first, and the case must have nobody still waiting for an answer.
    """
    summary = (summary or "").strip()
    if not CLOSURE_SUMMARY_MIN <= len(summary) <= CLOSURE_SUMMARY_MAX:
        raise ValidationFailed(
            "accidents.closure_summary",
            f"请写明结案说明（{CLOSURE_SUMMARY_MIN}到{CLOSURE_SUMMARY_MAX}字），例如调解结果或结案依据。",
            f"Write the closing summary ({CLOSURE_SUMMARY_MIN} to {CLOSURE_SUMMARY_MAX} characters).",
            field="summary",
        )
    public_note = (public_note or "").strip()
    if len(public_note) > 300:
        raise ValidationFailed(
            "accidents.note_long",
            "公开说明最多300字。",
            "The public note is limited to 300 characters.",
            field="public_note",
        )
    if closed_on > timezone.localdate():
        raise ValidationFailed(
            "accidents.future", "日期不能晚于今天。", "The date cannot be in the future.", field="closed_on"
        )
    with transaction.atomic():
        case = case_for_officer(actor=actor, case_id=case_id, action="accidents.case.close", lock=True)
        _open(case)
        rule = rules.check_closable(
            recorded=set(case.stages.values_list("stage", flat=True)),
            open_applications=case.applications.filter(state=QueryApplication.State.SUBMITTED).count(),
            open_reviews=case.reviews.filter(
                state__in=[EvidenceReview.State.DRAFT, EvidenceReview.State.PENDING]
            ).count(),
        )
        closure = StageRecord.objects.create(
            case=case, stage=rule.stage, happened_on=closed_on, public_note=public_note,
            internal_note=summary, recorded_by=actor,
        )  # fmt: skip
        outbox_enqueue(
            topic=STAGE_RECORDED,
            payload={"stage_record_id": closure.pk},
            dedup_key=f"accident-stage-{closure.pk}",
        )
        case.closed_at = timezone.now()
        case.closed_by = actor
        case.closure_summary = summary
        case.save(update_fields=["closed_at", "closed_by", "closure_summary"])
        audit_record(
            actor=actor, action="change", subject=case, summary=f"结案 {case.number}", reason=summary,
            request=request,
        )  # fmt: skip
    return case


def party_add(
    *,
    actor: Any,
    case_id: int,
    label: str,
    name: str,
    id_type: str,
    id_number: str,
    phone: str = "",
    plate: str = "",
    insurer_uscc: str = "",
) -> tuple[Party, QueryCredential, str]:
    """Add a party and issue their query credential without any application (A4); returns the code once."""
    from jiaoguan.accounts.services import clean_name

    name = clean_name(name)
    number = normalise_document_number(id_type, id_number)
    phone = validate_mobile(phone) if phone else ""
    # The same GA 36 check as every other plate: a mistyped one would never find the vehicle.
    plate = validate_plate(plate).number if (plate or "").strip() else ""
    label = (label or "").strip()[:8]
    if not label:
        raise ValidationFailed(
            "accidents.label",
            "请填写当事人序号（甲、乙……）。",
            "Enter the party's label, such as 甲 or 乙.",
            field="label",
        )
    with transaction.atomic():
        case = case_for_officer(actor=actor, case_id=case_id, action="accidents.party.add", lock=True)
        _open(case)
        person = Person.objects.filter(id_type=id_type, id_number=number).first()
        vehicle = Vehicle.objects.filter(plate_number=plate).first() if plate else None
        insurer = None
        if insurer_uscc:
            insurer = Organisation.objects.filter(uscc=insurer_uscc.strip().upper(), kind="insurer").first()
            if insurer is None:
                raise ValidationFailed(
                    "accidents.insurer_unknown",
                    "找不到该保险公司。",
                    "No insurer with that code.",
                    field="insurer_uscc",
                )
        try:
            with transaction.atomic():
                party = Party.objects.create(
                    case=case,
                    label=label,
                    person=person,
                    name=name,
                    id_type=id_type,
                    id_number=number,
                    phone=phone,
                    vehicle=vehicle,
                    plate=plate,
                    licence=DrivingLicence.objects.filter(holder=person).first() if person else None,
                    insurer=insurer,
                )
        except IntegrityError:
            raise Conflict(
                "accidents.label_taken",
                f"当事人“{label}”已存在。",
                f"Party '{label}' already exists.",
                field="label",
            ) from None
        credential, code = _credential_issue(
            case=case, actor=actor, holder_name=name, role="party", party=party
        )
        audit_record(
            actor=actor, action="create", subject=party, subject_person_id=person.pk if person else None,
            summary=f"当事人{label} {mask_name(name)} {mask_id_number(number)}",
        )  # fmt: skip
    return party, credential, code


# ---------------------------------------------------------------- codes


def _secret() -> bytes:
    return (getattr(settings, "ACCIDENT_CODE_SECRET", "") or settings.SECRET_KEY).encode()


def _code_hash(kind: str, case_id: int, code: str) -> str:
    return hmac.new(_secret(), f"{kind}:{case_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _derive_code(kind: str, row_id: int, salt: str) -> str:
    """The code of a credential, re-derivable for reprinting; the database alone cannot produce it."""
    digest = hmac.new(_secret(), f"{kind}-code:{row_id}:{salt}".encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest, "big")
    chars = []
    for _ in range(rules.CODE_LENGTH):
        value, index = divmod(value, len(rules.CODE_ALPHABET))
        chars.append(rules.CODE_ALPHABET[index])
    return "".join(chars)


def _credential_issue(
    *,
    case: AccidentCase,
    actor: Any,
    holder_name: str,
    role: str,
    party: Party | None = None,
    holder: Any = None,
) -> tuple[QueryCredential, str]:
    credential = QueryCredential.objects.create(
        case=case, party=party, holder=holder, holder_name=holder_name, role=role, code_hash="-",
        salt=secrets.token_hex(8), issued_by=actor,
    )  # fmt: skip
    code = query_code_of(credential)
    credential.code_hash = _code_hash("query", case.pk, code)
    credential.save(update_fields=["code_hash"])
    return credential, code


def query_code_of(credential: QueryCredential) -> str:
    """Re-derive a credential's code for printing; callers must have checked who is asking."""
    return _derive_code("query", credential.pk, credential.salt)


def query_credential_revoke(
    *, actor: Any, credential_id: int, reason: str, request: Any = None
) -> QueryCredential:
    """Revoke a query credential with the reason (A4); the code stops working at once.

    Allowed on a closed case too: it only takes access away, and a leaked code must be
    stoppable whenever it is found out.
    """
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationFailed(
            "accidents.reason_required", "请填写撤销原因。", "Give the reason for revoking.", field="reason"
        )
    with transaction.atomic():
        credential = QueryCredential.objects.select_for_update().filter(pk=credential_id).first()
        if credential is None:
            raise NotFound(
                "accidents.credential_not_found", "没有这份查询凭证。", "No such query credential."
            )
        case_for_officer(actor=actor, case_id=credential.case_id, action="accidents.query_credential.revoke")
        if credential.revoked_at is not None:
            raise Conflict(
                "accidents.credential_revoked", "该查询凭证已撤销。", "This credential is already revoked."
            )
        credential.revoked_at = timezone.now()
        credential.revoked_reason = reason
        credential.save(update_fields=["revoked_at", "revoked_reason"])
        audit_record(
            actor=actor, action="change", subject=credential, summary="撤销查询凭证", reason=reason,
            request=request,
        )  # fmt: skip
    return credential


# ---------------------------------------------------------------- written applications (A4)


def query_application_submit(
    *, actor: Any, accident_number: str, role: str, reason: str, document: bytes, document_name: str
) -> QueryApplication:
    """A vehicle owner or an insurer's staff member applies in writing for a query credential (A4)."""
    from jiaoguan.core.uploads import check_upload, safe_filename

    require(actor, "accidents.application.submit")
    if role not in (QueryCredential.Role.OWNER, QueryCredential.Role.INSURER):
        raise ValidationFailed(
            "accidents.applicant_role",
            "请选择申请人身份。",
            "Choose whether you apply as owner or insurer.",
            field="role",
        )
    if role == QueryCredential.Role.INSURER and not (
        getattr(actor, "kind", "") == "organisation"
        and actor.organisation
        and actor.organisation.kind == "insurer"
    ):
        raise NotAllowed(
            "accidents.insurer_only",
            "仅保险公司单位用户可以保险公司身份申请。",
            "Only insurer organisation users may apply as an insurer.",
        )
    reason = (reason or "").strip()
    if not 10 <= len(reason) <= 500:
        raise ValidationFailed(
            "accidents.reason_length",
            "请写明申请理由（10到500字）。",
            "State your reason (10 to 500 characters).",
            field="reason",
        )
    kind = check_upload(document, name=document_name)
    number = rules.accident_number_check(accident_number)
    case = AccidentCase.objects.filter(number=number).first()
    if case is None:
        raise _query_failed()
    if case.closed_at is not None:
        raise Conflict(
            "accidents.case_closed",
            "该事故案件已结案，不再受理网上查询申请，请到办案单位办理。",
            "The case is closed; online applications are no longer taken. Ask the handling unit.",
        )
    try:
        with transaction.atomic():
            return QueryApplication.objects.create(
                case=case, applicant=actor, role=role, reason=reason, document=document,
                document_type={"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg"}[kind],
                document_name=safe_filename(document_name),
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            "accidents.application_open",
            "您已有一份待审核的申请。",
            "You already have an application under review.",
        ) from None


def query_application_review(
    *, actor: Any, application_id: int, approve: bool, note: str = "", request: Any = None
) -> QueryApplication:
    """Approve a written application (the applicant gets a query credential) or reject it with the reason (A4)."""
    note = (note or "").strip()[:200]
    if not approve and not note:
        raise ValidationFailed(
            "accidents.reject_reason", "不批准须写明原因。", "Give the reason for rejecting.", field="note"
        )
    with transaction.atomic():
        application = QueryApplication.objects.select_for_update().filter(pk=application_id).first()
        if application is None:
            raise NotFound("accidents.application_not_found", "没有这份申请。", "No such application.")
        case = case_for_officer(
            actor=actor, case_id=application.case_id, action="accidents.application.review"
        )
        _open(case)
        if application.state != QueryApplication.State.SUBMITTED:
            raise Conflict(
                "accidents.application_reviewed", "该申请已审核。", "This application was already reviewed."
            )
        application.state = QueryApplication.State.APPROVED if approve else QueryApplication.State.REJECTED
        application.reviewed_by = actor
        application.reviewed_at = timezone.now()
        application.review_note = note
        if approve:
            applicant = application.applicant
            organisation = applicant.organisation
            name = organisation.name if organisation is not None else applicant.first_name
            application.credential, _code = _credential_issue(
                case=case,
                actor=actor,
                holder_name=name or applicant.username,
                role=application.role,
                holder=applicant,
            )
        application.save()
        audit_record(
            actor=actor, action="change", subject=application, summary=f"查询申请{'批准' if approve else '不批准'}",
            reason=note, request=request,
        )  # fmt: skip
    return application


# ---------------------------------------------------------------- public query (A5, A9)


def _query_failed() -> NotFound:
    # One answer for "no such number" and "wrong code": numbers cannot be probed.
    return NotFound(
        "accidents.query_failed",
        "事故编号或查询码不正确，请核对查询凭证后重新输入。",
        "The accident number or the query code is not correct; check the credential and try again.",
    )


def local_rollout() -> dict[str, date]:
    """The deployment's own opening dates (``JIAOGUAN_ACCIDENT_LOCAL_ROLLOUT``), checked at start."""
    return rules.local_rollout_parse(getattr(settings, "ACCIDENT_LOCAL_ROLLOUT", ""))


def service_open(division: str, service: str, today: date | None = None) -> bool:
    """Whether an online service is open for cases of ``division`` (A9a): the seeds' table, plus
    the local setting for the province this installation serves."""
    return rules.service_enabled(
        division=division, service=service, today=today or timezone.localdate(),
        local_province=settings.JIAOGUAN_JURISDICTION[:2], local=local_rollout(),
    )  # fmt: skip


def check_rollout(number: str, service: str) -> None:
    if not service_open(number[:6], service):
        raise NotAllowed(
            "accidents.service_unavailable",
            "该省份暂未开通此项网上服务，请到办案单位的事故处理窗口查询。",
            "This online service is not yet available in that province; ask at the accident unit's counter.",
        )


# The limits are checked and the attempt recorded in one transaction under a lock on the
# client and one on the number (always in that order, so two tries never wait on each
# other crosswise): parallel tries cannot all see the same count and all pass. Locks are
# striped over a fixed set of named rows rather than one row per address or number.
_LOCK_STRIPES = 256


def _stripe(kind: str, key: str) -> str:
    return f"accidents.query.{kind}:{zlib.crc32(key.encode()) % _LOCK_STRIPES}"


def _challenge_mac(body: str) -> str:
    return hmac.new(_secret(), f"query-challenge:{body}".encode(), hashlib.sha256).hexdigest()[:32]


def _challenge_make(*, number: str, bits: int, now: datetime) -> str:
    """``number.issued.bits.nonce.mac``: signed, so a client cannot pick its own difficulty."""
    body = f"{number}.{int(now.timestamp())}.{bits}.{secrets.token_hex(8)}"
    return f"{body}.{_challenge_mac(body)}"


def _challenge_passed(
    *, number: str, code: str, challenge: str, solution: str, bits: int, now: datetime
) -> bool:
    parts = (challenge or "").split(".")
    if len(parts) != 5 or not all(parts):
        return False
    body = ".".join(parts[:4])
    if not hmac.compare_digest(parts[4], _challenge_mac(body)):
        return False
    for_number, issued, signed_bits = parts[0], parts[1], parts[2]
    if for_number != number or not issued.isdigit() or not signed_bits.isdigit() or int(signed_bits) < bits:
        return False
    age = now.timestamp() - int(issued)
    if not 0 <= age <= rules.CHALLENGE_TTL.total_seconds():
        return False
    return rules.challenge_solved(
        challenge=challenge, code=code, solution=solution or "", bits=int(signed_bits)
    )


def _attempt_reserve(
    *, number: str, client: str, code: str, now: datetime, challenge: str, solution: str, proven: bool
) -> QueryAttempt:
    """Check the limits and record this try as a failure, in one step; a right code removes it again.

    ``proven``: the number and code come from a signed query credential (its QR), which
    no guesser can make, so the number's proof of work is not asked for.
    """
    since = now - rules.QUERY_WINDOW
    with transaction.atomic():
        lock_named(_stripe("client", client))
        lock_named(_stripe("number", number))
        rules.check_client_attempts(
            now=now,
            failures=list(
                QueryAttempt.objects.filter(client=client, at__gte=since).values_list("at", flat=True)
            ),
        )
        bits = rules.challenge_bits(QueryAttempt.objects.filter(number=number, at__gte=since).count())
        if bits is not None and not proven:
            if not _challenge_passed(
                number=number, code=code, challenge=challenge, solution=solution, bits=bits, now=now
            ):
                raise rules.ChallengeRequired(
                    "accidents.challenge_required",
                    "该事故编号近期查询码错误较多，为保护当事人，本次查询须先由浏览器完成一次安全验证，然后自动查询。",
                    "This accident number has had many wrong codes lately; to protect the parties, the query "
                    "needs a proof of work first (the page does it for you).",
                    detail={"challenge": _challenge_make(number=number, bits=bits, now=now), "bits": bits},
                )
        return QueryAttempt.objects.create(number=number, client=client, at=now)


@dataclass
class Progress:
    """What a query credential holder sees: the timeline with public notes and released documents."""

    number: str
    occurred_on: date
    place: str
    stages: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    closed: bool
    credential_id: int
    role: str
    evidence_available: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def progress_query(
    *,
    accident_number: str,
    code: str,
    client: str,
    challenge: str = "",
    solution: str = "",
    proven: bool = False,
) -> Progress:
    """Accident number plus query code -> progress and results (A2, A3, A5); guessing is limited.

    ``challenge`` and ``solution``: the proof of work a number under attack asks for
    (:class:`rules.ChallengeRequired` carries the challenge); ``proven``: the number and
    code come from a verified AQ1 QR.
    """
    case, credential = _match_code(
        accident_number=accident_number, code=code, client=client, service=rules.ONLINE_QUERY, kind="query",
        candidates=lambda case_id: QueryCredential.objects.filter(case_id=case_id, revoked_at__isnull=True),
        challenge=challenge, solution=solution, proven=proven,
    )  # fmt: skip
    return progress_of(case=case, credential=credential)


# Compared when nothing else is, so both answers run the same loop; an HMAC in hex never equals it.
_NO_MATCH = "-" * 64


def _match_code(
    *,
    accident_number: str,
    code: str,
    client: str,
    service: str,
    kind: str,
    candidates: Any,
    challenge: str = "",
    solution: str = "",
    proven: bool = False,
) -> tuple[AccidentCase, Any]:
    """Find the row whose code matches, under the guessing limits; one answer for every failure.

    An unknown number and a wrong code do the same work: the same queries (a case id of 0
    for a number nobody has), one HMAC, the same comparisons, the same failure record.
    """
    number = rules.accident_number_check(accident_number)
    check_rollout(number, service)
    code = rules.code_normalise(code)
    client = client[:64]
    now = timezone.now()
    attempt = _attempt_reserve(
        number=number,
        client=client,
        code=code,
        now=now,
        challenge=challenge,
        solution=solution,
        proven=proven,
    )
    case_id = AccidentCase.objects.filter(number=number).values_list("pk", flat=True).first() or 0
    wanted = _code_hash(kind, case_id, code)
    found = 0
    for pk, stored in [*candidates(case_id).values_list("pk", "code_hash"), (0, _NO_MATCH)]:
        if hmac.compare_digest(stored, wanted):  # every candidate compared: no early exit to time
            found = pk
    if not found:
        raise _query_failed()
    QueryAttempt.objects.filter(pk=attempt.pk).delete()  # the right code is no failure
    return AccidentCase.objects.get(pk=case_id), candidates(case_id).get(pk=found)


def _public_stages(case: AccidentCase) -> list[dict[str, Any]]:
    return [
        {
            "stage": s.stage,
            "name_zh": rules.STAGES[rules.Stage(s.stage)].name_zh,
            "name_en": rules.STAGES[rules.Stage(s.stage)].name_en,
            "happened_on": s.happened_on,
            "note": s.public_note,
        }
        for s in case.stages.all()
    ]


def _released_documents(case: AccidentCase) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "kind": d.kind,
            "name_zh": rules.DOCUMENT_NAMES[rules.DocumentKind(d.kind)][0],
            "name_en": rules.DOCUMENT_NAMES[rules.DocumentKind(d.kind)][1],
            "number": d.number,
            "issued_on": d.issued_on,
        }
        for d in case.documents.filter(released=True)
        .defer("content", "third_party_content")
        .order_by("issued_on", "id")
    ]


def progress_of(*, case: AccidentCase, credential: QueryCredential) -> Progress:
    return Progress(
        number=case.number,
        occurred_on=timezone.localtime(case.occurred_at).date(),
        place=case.place,
        stages=_public_stages(case),
        documents=_released_documents(case),
        closed=case.closed_at is not None,
        credential_id=credential.pk,
        role=credential.role,
    )


def released_document(*, case_number: str, credential_id: int, document_id: int) -> ResultDocument:
    """A released document of the case a live credential belongs to (checked again on every download)."""
    credential = (
        QueryCredential.objects.select_related("case")
        .filter(pk=credential_id, revoked_at__isnull=True)
        .first()
    )
    if credential is None or credential.case.number != case_number:
        raise NotFound("accidents.document_not_found", "没有这份文书。", "No such document.")
    document = ResultDocument.objects.filter(
        pk=document_id, case_id=credential.case_id, released=True
    ).first()
    if document is None:
        raise NotFound("accidents.document_not_found", "没有这份文书。", "No such document.")
    return document


def document_copy(document: ResultDocument, *, role: str) -> bytes:
    """The copy of a released document a credential of ``role`` gets (A3, A4): the parties, their
    near relatives and agents the document as delivered; vehicle owners and insurers the third
    party's copy, masked. A scan uploaded from paper has one copy only (the officer uploads what
    may be shown)."""
    if role in PARTY_SIDE_ROLES or not document.third_party_content:
        return bytes(document.content)
    return bytes(document.third_party_content)


def failed_attempts(*, actor: Any, case_id: int) -> list[QueryAttempt]:
    """Wrong-code attempts on the case's number, for its officer."""
    case = case_for_officer(actor=actor, case_id=case_id)
    return list(QueryAttempt.objects.filter(number=case.number).order_by("-at")[:200])


# ---------------------------------------------------------------- the party's own account (A3, A4)

PARTY_VIEW = "accidents.case.party_view"


@dataclass
class PartyCase:
    """A case as its party sees it when logged in: which party they are and their credential."""

    case: AccidentCase
    party: Party
    credential: QueryCredential | None
    open_online: bool


def _parties_of_actor(actor: Any) -> Any:
    """The party rows that are the actor: the registered person, or their document type and number."""
    from django.db.models import Q

    person = getattr(actor, "person", None)
    if person is None:
        return Party.objects.none()
    return Party.objects.filter(Q(person=person) | Q(id_type=person.id_type, id_number=person.id_number))


def cases_of_party(*, actor: Any) -> list[PartyCase]:
    """The cases the logged-in citizen is a party to (matched by their registered document
    number), newest first; no code to type (the login has proven who they are)."""
    require(actor, PARTY_VIEW)
    found: list[PartyCase] = []
    seen: set[int] = set()
    rows = _parties_of_actor(actor).select_related("case").order_by("-case__occurred_at", "-case_id", "label")
    for party in rows:
        if party.case_id in seen:
            continue
        seen.add(party.case_id)
        found.append(
            PartyCase(
                case=party.case,
                party=party,
                credential=party.credentials.filter(revoked_at__isnull=True).order_by("-id").first(),
                open_online=service_open(party.case.division, rules.ONLINE_QUERY),
            )
        )
    return found


def case_of_party(*, actor: Any, number: str) -> PartyCase:
    """One case of the citizen's own; anybody else's is "not found", the same as a missing one."""
    require(actor, PARTY_VIEW)
    for found in cases_of_party(actor=actor):
        if found.case.number == (number or "").strip().upper():
            return found
    raise NotFound("accidents.case_not_found", "没有这起事故案件。", "No such accident case.")


def party_progress(found: PartyCase) -> Progress:
    """The timeline and released documents, as a credential holder of the party would see them."""
    return Progress(
        number=found.case.number,
        occurred_on=timezone.localtime(found.case.occurred_at).date(),
        place=found.case.place,
        stages=_public_stages(found.case),
        documents=_released_documents(found.case),
        closed=found.case.closed_at is not None,
        credential_id=found.credential.pk if found.credential else 0,
        role="party",
    )


def party_document(*, actor: Any, number: str, document_id: int) -> tuple[ResultDocument, bytes]:
    """A released document of the citizen's own case, as delivered to the parties (in full)."""
    found = case_of_party(actor=actor, number=number)
    if not found.open_online:
        check_rollout(found.case.number, rules.ONLINE_QUERY)
    document = ResultDocument.objects.filter(pk=document_id, case=found.case, released=True).first()
    if document is None:
        raise NotFound("accidents.document_not_found", "没有这份文书。", "No such document.")
    return document, document_copy(document, role="party")


# ---------------------------------------------------------------- result documents (A3)

_CONTENT_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg"}


def _unit_name(division: str) -> str:
    from jiaoguan.core.divisions import division_name

    try:
        return (
            f"{division_name(division)}公安局交通警察支队"
            if division.endswith("00")
            else f"{division_name(division)}公安局交通警察大队"
        )
    except Exception:
        return "公安机关交通管理部门"


def _document_number(case: AccidentCase, kind: str) -> str:
    prefix = {"determination": "认字", "certificate": "证字", "review_conclusion": "复字"}[kind]
    count = case.documents.filter(kind=kind).count() + 1
    return f"{case.division}{prefix}〔{timezone.localdate():%Y}〕第{case.pk:05d}-{count}号"


def id_type_words(id_type: str) -> str:
    """The document type as printed (居民身份证), never its code (``resident_id``)."""
    from jiaoguan.registry.documents import IdDocumentType

    try:
        return str(IdDocumentType(id_type).label).split(" ")[0]
    except ValueError:
        return id_type if not id_type.isascii() else "其他身份证明"


# Who holds a party's copy of a result document (full names and ID numbers, as delivered to
# the parties themselves) and who a third party's (the structured fields masked): A3, A4.
PARTY_SIDE_ROLES = frozenset({"party", "relative", "agent"})
THIRD_PARTY_NOTE = (
    "本件为第三方（车辆所有人、保险公司）查询副本，当事人姓名和证件号码已作部分遮盖；"
    "当事人收到的文书载明全部信息。"
)


def _parties_of(case: AccidentCase, *, masked: bool) -> list[dict[str, Any]]:
    return [
        {
            "label": p.label,
            "name": mask_name(p.name) if masked else p.name,
            "id_type": id_type_words(p.id_type),
            "id_number": mask_id_number(p.id_number) if masked else p.id_number,
            "plate": p.plate,
            "insurer": p.insurer.name if p.insurer else "",
        }
        for p in case.parties.select_related("insurer").order_by("label")
    ]


def _responsibility_of(
    parties: list[dict[str, Any]], responsibility: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """("甲", "全部责任") as the document says it: "当事人甲 张三" with the level."""
    names = {p["label"]: p["name"] for p in parties}
    return [(f"当事人{label} {names.get(label, '')}".strip(), level) for label, level in responsibility]


def _document_kind(kind: str) -> rules.DocumentKind:
    try:
        return rules.DocumentKind(kind)
    except ValueError:
        raise ValidationFailed(
            "accidents.document_kind", "文书种类不正确。", "Unknown document kind.", field="kind"
        ) from None


def document_issue(
    *,
    actor: Any,
    case_id: int,
    kind: str,
    facts: str,
    evidence: str = "",
    responsibility: list[tuple[str, str]] | None = None,
    applicant: str = "",
    request_text: str = "",
    conclusion: str = "",
) -> ResultDocument:
    """Generate a result document from the case data as a Chinese PDF (A3)."""
    from . import documents

    doc_kind = _document_kind(kind)
    if not (facts or conclusion).strip():
        raise ValidationFailed(
            "accidents.facts_required",
            "请填写事故经过或结论。",
            "Enter the facts or the conclusion.",
            field="facts",
        )
    with transaction.atomic():
        case = case_for_officer(actor=actor, case_id=case_id, action="accidents.document.issue", lock=True)
        _open(case)
        recorded = set(case.stages.values_list("stage", flat=True))
        needed = rules.DOCUMENT_STAGE[doc_kind]
        if needed not in recorded:
            raise Conflict(
                "accidents.document_stage",
                f"须先登记“{rules.STAGES[needed].name_zh}”阶段。",
                f"Record the '{rules.STAGES[needed].name_en}' stage first.",
            )
        number = _document_number(case, doc_kind)
        issued_on = timezone.localdate()
        common = {
            "number": number,
            "accident_number": case.number,
            "unit": _unit_name(case.division),
            "issued_on": f"{issued_on:%Y年%m月%d日}",
        }
        occurred = f"{timezone.localtime(case.occurred_at):%Y年%m月%d日 %H时%M分}"
        copies: dict[bool, bytes] = {}
        for masked in (False, True):  # the parties' copy, then the third parties'
            parties = _parties_of(case, masked=masked)
            note = THIRD_PARTY_NOTE if masked else ""
            if doc_kind is rules.DocumentKind.DETERMINATION:
                copies[masked] = documents.determination_pdf(
                    **common, occurred_at=occurred, place=case.place, weather=case.weather or "-",
                    parties=parties, facts=facts, evidence=evidence or "-",
                    responsibility=_responsibility_of(parties, responsibility or []), copy_note=note,
                )  # fmt: skip
            elif doc_kind is rules.DocumentKind.CERTIFICATE:
                copies[masked] = documents.certificate_pdf(
                    **common, occurred_at=occurred, place=case.place, parties=parties, facts=facts,
                    copy_note=note,
                )  # fmt: skip
            else:
                copies[masked] = documents.review_conclusion_pdf(
                    **common,
                    applicant=(mask_name(applicant) if masked else applicant) or "-",
                    request=request_text or "-",
                    conclusion=conclusion or facts,
                    copy_note=note,
                )
        pdf, third_party_pdf = copies[False], copies[True]
        document = ResultDocument.objects.create(
            case=case, kind=doc_kind, number=number, content=pdf, third_party_content=third_party_pdf,
            content_type="application/pdf", issued_on=issued_on, created_by=actor,
        )  # fmt: skip
        audit_record(actor=actor, action="create", subject=document, summary=f"制作文书 {number}")
    return document


def document_upload(
    *, actor: Any, case_id: int, kind: str, number: str, data: bytes, name: str, issued_on: date
) -> ResultDocument:
    """Attach a scan of a document that comes from outside (A3)."""
    from jiaoguan.core.uploads import check_upload

    doc_kind = _document_kind(kind)
    detected = check_upload(data, name=name)
    number = (number or "").strip()[:40]
    if not number:
        raise ValidationFailed(
            "accidents.document_number", "请填写文书编号。", "Enter the document number.", field="number"
        )
    with transaction.atomic():
        case = case_for_officer(actor=actor, case_id=case_id, action="accidents.document.issue", lock=True)
        _open(case)
        document = ResultDocument.objects.create(
            case=case, kind=doc_kind, number=number, content=data, content_type=_CONTENT_TYPES[detected],
            issued_on=issued_on, uploaded=True, created_by=actor,
        )  # fmt: skip
        audit_record(actor=actor, action="create", subject=document, summary=f"上传文书 {number}")
    return document


RELEASE_REASON_MIN = 4


def document_release(*, actor: Any, document_id: int, reason: str, request: Any = None) -> ResultDocument:
    """Deliver a document (送达): from now on the parties and the approved applicants can download
    it, and the three days for a review application run. It cannot be undone, so the officer
    says how it was delivered (the reason), and the audit entry keeps it."""
    reason = (reason or "").strip()
    if len(reason) < RELEASE_REASON_MIN:
        raise ValidationFailed(
            "accidents.reason_required",
            f"请填写送达说明（至少{RELEASE_REASON_MIN}个字），例如送达方式和签收人。",
            f"Say how the document was delivered (at least {RELEASE_REASON_MIN} characters).",
            field="reason",
        )
    with transaction.atomic():
        document = ResultDocument.objects.select_for_update().filter(pk=document_id).first()
        if document is None:
            raise NotFound("accidents.document_not_found", "没有这份文书。", "No such document.")
        _open(case_for_officer(actor=actor, case_id=document.case_id, action="accidents.document.issue"))
        if not document.released:
            document.released = True
            document.save(update_fields=["released"])
            outbox_enqueue(
                topic=DOCUMENT_RELEASED,
                payload={"document_id": document.pk},
                dedup_key=f"accident-document-{document.pk}",
            )
            audit_record(
                actor=actor, action="change", subject=document, summary=f"送达文书 {document.number}",
                reason=reason[:500], request=request,
            )  # fmt: skip
    return document


# ---------------------------------------------------------------- evidence review (A6-A8)


def evidence_item_add(
    *, actor: Any, case_id: int, kind: str, title: str, data: bytes, name: str, confidentiality: str = "none"
) -> EvidenceItem:
    from jiaoguan.core.uploads import check_upload

    try:
        item_kind = rules.EvidenceKind(kind)
        secrecy = rules.Confidentiality(confidentiality)
    except ValueError:
        raise ValidationFailed(
            "accidents.evidence_kind",
            "材料种类或保密类别不正确。",
            "Unknown item kind or confidentiality.",
            field="kind",
        ) from None
    title = (title or "").strip()[:100]
    if not title:
        raise ValidationFailed(
            "accidents.evidence_title", "请填写材料名称。", "Enter the item's title.", field="title"
        )
    detected = check_upload(data, name=name)
    with transaction.atomic():
        case = case_for_officer(actor=actor, case_id=case_id, action="accidents.evidence.manage", lock=True)
        _open(case)
        item = EvidenceItem.objects.create(
            case=case, kind=item_kind, title=title, content=data, content_type=_CONTENT_TYPES[detected],
            confidentiality=secrecy, added_by=actor,
        )  # fmt: skip
        audit_record(actor=actor, action="create", subject=item, summary=f"证据材料 {title}")
    return item


def evidence_review_open(
    *, actor: Any, case_id: int, party_id: int, person_type: str, id_type: str, id_number: str, phone: str
) -> tuple[EvidenceReview, str]:
    """The officer records the applicant's identity after the determination or certificate was delivered (A6)."""
    number = normalise_document_number(id_type, id_number)
    phone = validate_mobile(phone)
    if person_type not in ("当事人", "近亲属", "代理人"):
        raise ValidationFailed(
            "accidents.person_type", "请选择人员类别。", "Choose the person type.", field="person_type"
        )
    with transaction.atomic():
        case = case_for_officer(actor=actor, case_id=case_id, action="accidents.evidence.manage", lock=True)
        _open(case)
        check_rollout(case.number, rules.EVIDENCE_REVIEW)
        if not case.documents.filter(kind__in=["determination", "certificate"], released=True).exists():
            raise Conflict(
                "accidents.not_delivered",
                "事故认定书或事故证明送达后，当事人方可申请查阅证据材料。",
                "Evidence can be reviewed only after the determination or certificate has been delivered.",
            )
        party = Party.objects.filter(pk=party_id, case=case).first()
        if party is None:
            raise NotFound("accidents.party_not_found", "没有这位当事人。", "No such party.")
        review = EvidenceReview.objects.create(
            case=case, party=party, person_type=person_type, id_type=id_type, id_number=number, phone=phone,
            code_hash="-", salt=secrets.token_hex(8), recorded_by=actor,
        )  # fmt: skip
        code = review_code_of(review)
        review.code_hash = _code_hash("review", case.pk, code)
        review.save(update_fields=["code_hash"])
        audit_record(
            actor=actor, action="create", subject=review, subject_person_id=party.person_id,
            summary=f"证据查阅登记 {person_type} {mask_id_number(number)}",
        )  # fmt: skip
    return review, code


def review_code_of(review: EvidenceReview) -> str:
    return _derive_code("review", review.pk, review.salt)


def evidence_items_select(*, actor: Any, review_id: int, item_ids: list[int]) -> EvidenceReview:
    """The officer ticks the items to share; confidential items cannot be ticked (A7, A8)."""
    with transaction.atomic():
        review = EvidenceReview.objects.select_for_update().filter(pk=review_id).first()
        if review is None:
            raise NotFound("accidents.review_not_found", "没有这份查阅申请。", "No such review.")
        _open(case_for_officer(actor=actor, case_id=review.case_id, action="accidents.evidence.manage"))
        if review.state not in (EvidenceReview.State.DRAFT, EvidenceReview.State.REJECTED):
            raise Conflict(
                "accidents.review_state",
                "该申请已提交审批。",
                "This review was already submitted for approval.",
            )
        items = list(EvidenceItem.objects.filter(case_id=review.case_id, pk__in=item_ids))
        if not items or len(items) != len(set(item_ids)):
            raise ValidationFailed(
                "accidents.items", "请选择本案的证据材料。", "Choose items of this case.", field="items"
            )
        for item in items:
            rules.check_shareable(item.confidentiality)
        review.items.set(items)
        review.state = EvidenceReview.State.PENDING
        review.save(update_fields=["state"])
        audit_record(actor=actor, action="change", subject=review, summary=f"选择证据材料 {len(items)} 项")
    return review


def evidence_review_decide(
    *, actor: Any, review_id: int, approve: bool, note: str = "", request: Any = None
) -> EvidenceReview:
    """The head of the accident unit approves, or rejects with the reason, what the officer selected (A8)."""
    require(actor, "accidents.evidence.approve")
    note = (note or "").strip()[:200]
    if not approve and not note:
        raise ValidationFailed(
            "accidents.reject_reason", "不批准须写明原因。", "Give the reason for rejecting.", field="note"
        )
    with transaction.atomic():
        review = EvidenceReview.objects.select_for_update().filter(pk=review_id).first()
        if review is None:
            raise NotFound("accidents.review_not_found", "没有这份查阅申请。", "No such review.")
        _open(case_for_officer(actor=actor, case_id=review.case_id, action="accidents.evidence.approve"))
        if review.state != EvidenceReview.State.PENDING:
            raise Conflict(
                "accidents.review_state", "该申请不在待审批状态。", "This review is not awaiting approval."
            )
        for item in review.items.all():  # re-check: an item may have been marked confidential since
            rules.check_shareable(item.confidentiality)
        review.state = EvidenceReview.State.APPROVED if approve else EvidenceReview.State.REJECTED
        review.decided_by = actor
        review.decided_at = timezone.now()
        review.decision_note = note
        review.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=actor, action="change", subject=review, summary=f"证据查阅{'批准' if approve else '不批准'}",
            reason=note, request=request,
        )  # fmt: skip
    return review


def evidence_access(
    *, accident_number: str, code: str, client: str, challenge: str = "", solution: str = ""
) -> EvidenceReview:
    """Accident number plus review code -> the approved review; the same guessing limits as queries,
    counted together with them (a number under attack is under attack for both)."""
    _case, found = _match_code(
        accident_number=accident_number, code=code, client=client, service=rules.EVIDENCE_REVIEW, kind="review",
        candidates=lambda case_id: EvidenceReview.objects.filter(case_id=case_id),
        challenge=challenge, solution=solution,
    )  # fmt: skip
    if found.state != EvidenceReview.State.APPROVED:
        raise Conflict(
            "accidents.review_not_approved",
            "证据材料尚未经事故处理部门负责人批准，请稍后再查。",
            "The items have not been approved by the head of the accident unit yet; try again later.",
        )
    return found


def evidence_download(*, review_id: int, item_id: int, ip: str | None = None) -> tuple[bytes, str, str]:
    """A shared item, stamped with who downloads it and when, and logged (A8)."""
    from . import documents

    review = (
        EvidenceReview.objects.select_related("party")
        .filter(pk=review_id, state=EvidenceReview.State.APPROVED)
        .first()
    )
    item = review.items.filter(pk=item_id).first() if review else None
    if review is None or item is None or item.confidentiality != rules.Confidentiality.NONE:
        raise NotFound("accidents.item_not_found", "没有这份材料。", "No such item.")
    stamp = f"下载人：{mask_name(review.party.name)}（{review.person_type}） {timezone.localtime():%Y-%m-%d %H:%M} 仅供本事故查阅"
    data = bytes(item.content)
    if item.content_type == "application/pdf":
        out, content_type = documents.stamp_pdf(data, text=stamp), "application/pdf"
    else:
        out, content_type = documents.stamp_image(data, text=stamp), "image/png"
    EvidenceDownload.objects.create(review=review, item=item, stamp=stamp[:200], ip_address=ip)
    return out, content_type, stamp


# ---------------------------------------------------------------- printable credentials (A5, A6)


def public_url(name: str) -> str:
    """The full web address of a public page, as printed on paper (``PUBLIC_BASE_URL``)."""
    from django.urls import reverse

    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse(name)}"


def query_channels() -> list[str]:
    return [
        f"交通安全综合服务管理平台网站“事故处理进度”栏目：{public_url('accidents:query')}",
        "“交管12123”类手机应用“事故快处”“事故处理进度”",
        "扫描本凭证二维码自动填写事故编号和查询码",
        "已注册的当事人登录后在“我的事故”中查看，无需输入查询码",
    ]


QUERY_RIGHTS = [
    "凭事故编号和查询码可查询本事故的处理进度和处理结果，并下载已送达的事故认定书、事故证明或复核结论。",
    "请妥善保管查询码，不得泄露给与本事故无关的人员；因泄露造成的后果由持有人承担。",
    "查询码连续输入错误将被暂停查询一段时间。",
    "对事故认定有异议的，可以自事故认定书送达之日起三日内，向上一级公安机关交通管理部门提出书面复核申请。",
]
REVIEW_RIGHTS = [
    "凭事故编号和查阅码可在网上查阅、下载经批准公开的证据材料，每次下载均记录下载人和时间。",
    "查阅所得材料仅限用于本事故的处理，不得传播或用于其他用途。",
    "涉及国家秘密、商业秘密、个人隐私以及证人要求保密的材料不予公开。",
]


def query_credential_pdf(*, actor: Any, credential_id: int) -> bytes:
    """The printable query credential with the code (A5): for the case officer or the credential's holder."""
    from . import documents
    from .tokens import query_credential_token

    credential = (
        QueryCredential.objects.select_related("case")
        .filter(pk=credential_id, revoked_at__isnull=True)
        .first()
    )
    if credential is None:
        raise NotFound("accidents.credential_not_found", "没有这份查询凭证。", "No such query credential.")
    own = credential.holder_id is not None and credential.holder_id == getattr(actor, "pk", None)
    if not own and credential.party_id is not None and allowed(actor, PARTY_VIEW):
        own = _parties_of_actor(actor).filter(pk=credential.party_id).exists()  # the party, logged in
    if not own:
        if not allowed(actor, CASE_VIEW):  # somebody else's credential: the same answer as none
            raise NotFound(
                "accidents.credential_not_found", "没有这份查询凭证。", "No such query credential."
            )
        case_for_officer(actor=actor, case_id=credential.case_id)
    code = query_code_of(credential)
    case = credential.case
    return documents.query_credential_pdf(
        accident_number=case.number,
        query_code=rules.code_display(code),
        holder=mask_name(credential.holder_name) if credential.role != "insurer" else credential.holder_name,
        holder_role=QueryCredential.Role(credential.role).label.split(" ")[0],
        channels=query_channels(),
        rights=QUERY_RIGHTS,
        qr_text=query_credential_token(
            number=case.number, code=code, role=credential.role, credential_id=credential.pk
        ),
        unit=_unit_name(case.division),
        issued_on=f"{timezone.localdate():%Y年%m月%d日}",
    )


def review_credential_pdf(*, actor: Any, review_id: int) -> bytes:
    """The printable evidence review credential with the review code (A6), for the case officer."""
    from jiaoguan.core.identifiers import mask_phone

    from . import documents

    review = EvidenceReview.objects.select_related("case", "party").filter(pk=review_id).first()
    if review is None:
        raise NotFound("accidents.review_not_found", "没有这份查阅申请。", "No such review.")
    case_for_officer(actor=actor, case_id=review.case_id)
    return documents.review_credential_pdf(
        accident_number=review.case.number,
        review_code=rules.code_display(review_code_of(review)),
        holder=mask_name(review.party.name),
        person_type=review.person_type,
        id_type=id_type_words(review.id_type),
        id_number_masked=mask_id_number(review.id_number),
        phone_masked=mask_phone(review.phone),
        channels=[f"交通安全综合服务管理平台网站“证据材料查阅”栏目：{public_url('accidents:evidence')}"],
        rights=REVIEW_RIGHTS,
        unit=_unit_name(review.case.division),
        issued_on=f"{timezone.localdate():%Y年%m月%d日}",
    )


# ---------------------------------------------------------------- staff reads of stored files


def cases_visible_to(*, actor: Any) -> Any:
    """Cases handled inside what the actor may see (``accidents.case.view``)."""
    require(actor, CASE_VIEW)
    prefix = division_prefix_for(actor, CASE_VIEW)
    if prefix is None:
        return AccidentCase.objects.none()
    return AccidentCase.objects.filter(division__startswith=prefix)


def reviews_for_approval(*, actor: Any) -> Any:
    """Evidence reviews of the cases the head may approve on (A8), with their cases."""
    require(actor, "accidents.evidence.approve")
    prefix = division_prefix_for(actor, "accidents.evidence.approve")
    if prefix is None:
        return EvidenceReview.objects.none()
    return EvidenceReview.objects.filter(case__division__startswith=prefix)


def application_document_for_officer(
    *, actor: Any, case_id: int, application_id: int, request: Any = None
) -> QueryApplication:
    """An applicant's supporting document, to the case's officers; every view is audited."""
    case = case_for_officer(actor=actor, case_id=case_id)
    application = QueryApplication.objects.filter(pk=application_id, case=case).first()
    if application is None:
        raise NotFound("accidents.application_not_found", "没有这份申请。", "No such application.")
    audit_record(
        actor=actor, action="view", subject=application, summary="查看事故查询申请材料", request=request
    )
    return application


def evidence_item_for_officer(*, actor: Any, case_id: int, item_id: int, request: Any = None) -> EvidenceItem:
    """An evidence item as stored, to the case's officers and the head; every view is audited."""
    case = case_for_officer(actor=actor, case_id=case_id)
    item = EvidenceItem.objects.filter(pk=item_id, case=case).first()
    if item is None:
        raise NotFound("accidents.item_not_found", "没有这份材料。", "No such item.")
    audit_record(actor=actor, action="view", subject=item, summary="查看证据材料", request=request)
    return item


def query_attempts_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Failed query tries older than ``PURGE_QUERY_ATTEMPT_DAYS`` (184 days, six months) (issue 12).

    Rule: the guessing limits look back ``QUERY_WINDOW`` (30 minutes); the rows are kept as a
    network log for the case officer's list of failed tries, and the Cybersecurity Law (art. 21)
    asks for at least six months of such logs: 184 days covers the longest six calendar months.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PURGE_QUERY_ATTEMPT_DAYS)
    return purge_in_batches(QueryAttempt.objects.filter(at__lt=cutoff), batch=batch, dry_run=dry_run)
