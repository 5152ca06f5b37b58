"""Mortgage and pledge filed online by banks with an electronic seal (抵押登记, issue 14, O6).

A bank or auto-finance company (an organisation of kind ``bank``) files and releases the
mortgage of a vehicle with a request signed by its own key (its e-seal, 电子印章) instead of a
paper contract. Each request is checked in this order, and nothing inside the payload is
believed before the signature is:

1. the actor is an organisation user of a bank (the access table, then the kind);
2. the key named by its fingerprint is one of this organisation's registered keys, still
   active, and the signature verifies over the payload's canonical form (``core.seals``);
3. the payload holds exactly the fields of ``mortgage_rules``, signed within the allowed skew,
   for this bank, with a nonce not used before by the key (replays are refused);
4. the vehicle and its owner (the borrower) match the registry;
5. the bank's core system confirms the contract online (``integrations.bank``): it exists,
   names this VIN, borrower and principal, and is active (filing) or settled (release). When
   the bank cannot be asked, nothing is filed on a guess: 503, try again.

Then, in one transaction, the vehicle row (filing) or the mortgage row (release) is locked, the
state re-checked, the nonce spent, the row written with the signed evidence, an audit row added
and the owner texted through the outbox. At most one mortgage per vehicle is in force: the lock
serialises competing filings and a partial unique constraint guarantees it on any database.

Lock order: vehicle, then mortgage (a release locks only its mortgage).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.core.purges import BATCH, purge_in_batches
from jiaoguan.core.seals import (
    SealError,
    canonical_json,
    fingerprint,
    fingerprint_valid,
    pem_from_der,
    public_der_from_pem,
    public_key_usable,
    seal_verify,
)
from jiaoguan.integrations.bank import BankError, ContractCheck, ContractQuestion, get_bank_service

from . import mortgage_rules, personal
from .models import Organisation, OrganisationSealKey, SealNonce, Vehicle, VehicleMortgage
from .selectors import organisations_visible_to

# Vehicle status codes (S7) under which a vehicle cannot be mortgaged: cancelled (E), compulsorily
# cancelled (M), past scrapping with its plates void (P), stolen (C), seized (K).
UNMORTGAGEABLE_STATUS = frozenset("ECMPK")

MISMATCH_WORDS = {
    "not_found": ("银行没有这份合同", "the bank has no such contract"),
    "vin": ("合同中的车辆识别代号不是该车", "the contract names another VIN"),
    "borrower": ("合同中的借款人不是该车所有人", "the contract names another borrower"),
    "principal": ("合同金额不一致", "the contract's principal differs"),
    "state": ("合同状态不符（抵押须为履行中，解除须已结清）", "the contract is not active (filing) or not settled (release)"),
}  # fmt: skip


def bank_of(*, actor: Any) -> Organisation:
    """The actor's organisation, which must be a bank or auto-finance company (O6)."""
    organisation_id = getattr(actor, "organisation_id", None)
    organisation = Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
    if organisation is None or organisation.kind != Organisation.Kind.BANK:
        raise NotAllowed(
            "accounts.bank_only",
            "机动车抵押登记仅限在窗口注册的银行、汽车金融公司单位用户网上办理。",
            "Online mortgage filing is only for bank and auto-finance organisation users registered at the counter.",
        )
    return organisation


# ---------------------------------------------------------------- seal keys (at the counter)


def seal_key_register(
    *, actor: Any, organisation_id: int, algorithm: str, public_key_pem: str, request: Any = None
) -> OrganisationSealKey:
    """Register a bank's public seal key, brought to the counter (O6). The private key stays
    with the bank. Only banks; one registration per key (by fingerprint)."""
    require(actor, "registry.seal_key.register")
    organisation = (
        organisations_visible_to(actor=actor, action="registry.seal_key.register")
        .filter(pk=organisation_id)
        .first()
    )
    if organisation is None:
        raise NotFound("registry.organisation_not_found", "没有这个单位。", "No such organisation.")
    require(actor, "registry.seal_key.register", division=organisation.division)
    if organisation.kind != Organisation.Kind.BANK:
        raise ValidationFailed(
            "registry.seal_key.not_bank",
            "只能为银行、汽车金融公司登记电子印章密钥。",
            "Seal keys are registered for banks and auto-finance companies only.",
            field="organisation",
        )
    if algorithm not in OrganisationSealKey.Algorithm.values:
        raise ValidationFailed(
            "registry.seal_key.algorithm", "不支持该签名算法。", "This signature algorithm is not supported.",
            field="algorithm",
        )  # fmt: skip
    try:
        der = public_der_from_pem(public_key_pem)
    except SealError:
        der = b""
    if not der or not public_key_usable(algorithm, der):
        raise ValidationFailed(
            "registry.seal_key.invalid",
            f"公钥不是有效的 {algorithm} 公钥（PEM 格式的 PUBLIC KEY）。",
            f"The public key is not a valid {algorithm} key (a PEM PUBLIC KEY block).",
            field="public_key_pem",
        )
    key_fingerprint = fingerprint(der)
    duplicate = Conflict(
        "registry.seal_key.duplicate", "该公钥已经登记过。", "This public key is already registered.",
        field="public_key_pem",
    )  # fmt: skip
    if OrganisationSealKey.objects.filter(fingerprint=key_fingerprint).exists():
        raise duplicate
    try:
        with transaction.atomic():
            key = OrganisationSealKey.objects.create(
                organisation=organisation, algorithm=algorithm, public_key_pem=pem_from_der(der),
                fingerprint=key_fingerprint, registered_by=actor,
            )  # fmt: skip
            audit_record(
                actor=actor, action="create", subject=key,
                summary=f"登记电子印章密钥 seal key registered for {organisation.name} ({algorithm} {key_fingerprint[:16]})",
                request=request,
            )  # fmt: skip
    except IntegrityError:
        raise duplicate from None
    return key


def seal_key_revoke(*, actor: Any, key_id: int, reason: str, request: Any = None) -> OrganisationSealKey:
    """Revoke a seal key (lost, replaced): from now on nothing it signs is accepted. Filings it
    signed before keep their evidence. Revoking twice leaves the first revocation."""
    require(actor, "registry.seal_key.register")
    if len((reason or "").strip()) < 4:
        raise ValidationFailed(
            "core.reason_required", "请填写原因（至少4个字）。", "Give a reason (at least 4 characters).",
            field="reason",
        )  # fmt: skip
    visible = organisations_visible_to(actor=actor, action="registry.seal_key.register")
    with transaction.atomic():
        key = (
            OrganisationSealKey.objects.select_for_update()
            .filter(pk=key_id, organisation__in=visible)
            .select_related("organisation")
            .first()
        )
        if key is None:
            raise NotFound("registry.seal_key.not_found", "没有这个电子印章密钥。", "No such seal key.")
        require(actor, "registry.seal_key.register", division=key.organisation.division)
        if not key.active:
            return key
        key.active = False
        key.revoked_at = timezone.now()
        key.revoked_reason = reason.strip()[:200]
        key.save(update_fields=["active", "revoked_at", "revoked_reason"])
        audit_record(
            actor=actor, action="change", subject=key,
            summary=f"注销电子印章密钥 seal key revoked ({key.fingerprint[:16]})", reason=reason, request=request,
        )  # fmt: skip
    return key


# ---------------------------------------------------------------- checks shared by filing and release


def _verified_key(
    *, organisation: Organisation, payload: Mapping[str, Any], signature: str, key_fingerprint: str
) -> tuple[OrganisationSealKey, bytes]:
    """The organisation's active key that signed the payload, and the canonical bytes signed."""
    try:
        message = canonical_json(payload)
    except SealError as exc:
        raise ValidationFailed(
            "registry.mortgage.payload_invalid", f"签名内容不是规范的 JSON 对象：{exc}",
            f"The signed payload is not a canonical JSON object: {exc}", field="payload",
        ) from None  # fmt: skip
    key = None
    if fingerprint_valid(key_fingerprint):
        key = OrganisationSealKey.objects.filter(fingerprint=key_fingerprint).first()
    if key is None or key.organisation_id != organisation.pk:
        # Another organisation's key answers like an unknown one: keys cannot be probed.
        raise NotAllowed(
            "registry.mortgage.key_unknown",
            "签名密钥不是本单位在车管所登记的电子印章密钥。",
            "The signing key is not a seal key registered for your organisation.",
            field="key_fingerprint",
        )
    if not key.active:
        raise NotAllowed(
            "registry.mortgage.key_revoked",
            "该电子印章密钥已注销，请使用有效密钥签名，或到车管所登记新密钥。",
            "This seal key has been revoked; sign with a valid key or register a new one at the counter.",
            field="key_fingerprint",
        )
    try:
        der = public_der_from_pem(key.public_key_pem)
    except SealError:  # a stored key is checked at registration; never trust one that is not
        der = b""
    if not der or not seal_verify(
        algorithm=key.algorithm, public_der=der, message=message, signature=signature
    ):
        raise ValidationFailed(
            "registry.mortgage.signature_invalid",
            "电子印章签名验证失败：签名与内容或密钥不符，已拒绝。",
            "The e-seal signature does not verify for this payload and key; refused.",
            field="signature",
        )
    return key, message


def _nonce_unused(key: OrganisationSealKey, nonce: str) -> None:
    if SealNonce.objects.filter(key=key, nonce=nonce).exists():
        raise _replayed()


def _replayed() -> Conflict:
    return Conflict(
        "registry.mortgage.replayed",
        "该签名请求已经提交过（nonce 已使用），请重新签名后再提交。",
        "This signed request was already used (its nonce is spent); sign a new one.",
        field="nonce",
    )


def _spend_nonce(key: OrganisationSealKey, nonce: str) -> None:
    try:
        with transaction.atomic():
            SealNonce.objects.create(key=key, nonce=nonce)
    except IntegrityError:
        raise _replayed() from None


def _borrower_of(vehicle: Vehicle) -> str:
    if vehicle.owner_person_id:
        return vehicle.owner_person.id_number  # type: ignore[union-attr]
    return vehicle.owner_organisation.uscc  # type: ignore[union-attr]


def _ask_bank(question: ContractQuestion) -> ContractCheck:
    try:
        check = get_bank_service().contract_check(question)
    except BankError as exc:
        raise Unavailable(
            "registry.mortgage.bank_unavailable",
            "暂时无法向银行核验抵押合同，本次未办理，请稍后重试。",
            "The bank could not confirm the contract just now; nothing was filed. Try again later.",
            detail={"bank_error": exc.code},
        ) from exc
    if not check.confirmed:
        zh = "；".join(MISMATCH_WORDS[m][0] for m in check.mismatches if m in MISMATCH_WORDS)
        en = "; ".join(MISMATCH_WORDS[m][1] for m in check.mismatches if m in MISMATCH_WORDS)
        raise ValidationFailed(
            "registry.mortgage.contract_not_confirmed",
            f"银行未确认该抵押合同：{zh}。",
            f"The bank did not confirm the contract: {en}.",
            detail={"mismatches": list(check.mismatches), "contract_state": check.state},
        )
    return check


def _mask_plate(vehicle: Vehicle) -> str:
    return vehicle.plate_number or f"VIN尾号{vehicle.vin[-6:]}"


def _notify_owner(*, vehicle: Vehicle, mortgage: VehicleMortgage, released: bool) -> None:
    """Text the owner (SMS through the outbox, once per mortgage and event)."""
    mobile = vehicle.owner_mobile or (vehicle.owner_person.mobile if vehicle.owner_person_id else "")  # type: ignore[union-attr]
    if not mobile:
        return
    day = timezone.localdate().isoformat()
    if released:
        text = (f"【交管12123】您的机动车{_mask_plate(vehicle)}已于{day}解除抵押登记"
                f"（抵押权人：{mortgage.mortgagee.name}）。")  # fmt: skip
    else:
        text = (f"【交管12123】您的机动车{_mask_plate(vehicle)}已于{day}办理抵押登记，"
                f"抵押权人：{mortgage.mortgagee.name}。如有疑问请联系车管所。")  # fmt: skip
    outbox_enqueue(
        topic="sms.send",
        payload={"mobile": mobile, "text": text},
        dedup_key=f"sms-mortgage-{mortgage.pk}-{'released' if released else 'filed'}",
    )


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


# ---------------------------------------------------------------- filing and release


def mortgage_file(
    *,
    actor: Any,
    payload: Mapping[str, Any],
    signature: str,
    key_fingerprint: str,
    request: Any = None,
    now: datetime | None = None,
) -> VehicleMortgage:
    """File a mortgage signed with the bank's e-seal (O6); see the module docstring for the checks."""
    require(actor, "registry.mortgage.file")
    bank = bank_of(actor=actor)
    now = _now(now)
    key, message = _verified_key(
        organisation=bank, payload=payload, signature=signature, key_fingerprint=key_fingerprint
    )
    filing = mortgage_rules.check_filing(
        payload, now=int(now.timestamp()), max_skew=settings.MORTGAGE_SIGNATURE_MAX_SKEW_SECONDS
    )
    if filing.mortgagee_uscc != bank.uscc:
        raise NotAllowed(
            "registry.mortgage.not_own_filing",
            "签名内容中的抵押权人不是本单位。",
            "The mortgagee in the signed payload is not your organisation.",
            field="mortgagee_uscc",
        )
    vehicle = (
        Vehicle.objects.select_related("owner_person", "owner_organisation").filter(vin=filing.vin).first()
    )
    if vehicle is None:
        raise ValidationFailed(
            "registry.mortgage.vehicle_unknown", "没有该车辆识别代号的登记机动车。",
            "No registered vehicle has this VIN.", field="vin",
        )  # fmt: skip
    if _borrower_of(vehicle) != filing.borrower_id_number:
        raise ValidationFailed(
            "registry.mortgage.borrower_not_owner",
            "抵押人（借款人）不是该车的登记所有人，不能办理抵押登记。",
            "The borrower is not the vehicle's registered owner; the mortgage cannot be filed.",
            field="borrower_id_number",
        )
    blocked = sorted(set(vehicle.status or "") & UNMORTGAGEABLE_STATUS)
    if blocked:
        raise Conflict(
            "registry.mortgage.vehicle_status",
            f"该车状态为 {''.join(blocked)}（注销、被盗抢、查封或报废），不能办理抵押登记。",
            f"The vehicle's status {''.join(blocked)} (cancelled, stolen, seized or scrapped) does not allow a mortgage.",
        )
    already = Conflict(
        "registry.mortgage.already_mortgaged",
        "该车已有未解除的抵押登记，须先解除原抵押。",
        "The vehicle is already mortgaged; the mortgage in force must be released first.",
        field="vin",
    )
    # Cheap refusals before the bank is asked; re-checked under the lock below.
    if VehicleMortgage.objects.filter(vehicle=vehicle, state=VehicleMortgage.State.FILED).exists():
        raise already
    _nonce_unused(key, filing.nonce)
    check = _ask_bank(
        ContractQuestion(
            bank_uscc=bank.uscc, contract_number=filing.contract_number, vin=filing.vin,
            borrower_id_number=filing.borrower_id_number, principal_fen=filing.principal_fen, purpose="file",
        )
    )  # fmt: skip
    try:
        with transaction.atomic():
            Vehicle.objects.select_for_update().filter(pk=vehicle.pk).values_list("pk", flat=True).first()
            if VehicleMortgage.objects.filter(vehicle=vehicle, state=VehicleMortgage.State.FILED).exists():
                raise already
            _spend_nonce(key, filing.nonce)
            mortgage = VehicleMortgage.objects.create(
                vehicle=vehicle, mortgagee=bank, division=vehicle.division,
                contract_number=filing.contract_number, principal_fen=filing.principal_fen,
                term_start=filing.term_start, term_end=filing.term_end, filed_at=now, filed_by=actor,
                filing_payload=message.decode("utf-8"), filing_signature=signature.strip(), filing_key=key,
                bank_check_reference=check.check_id,
            )  # fmt: skip
            audit_record(
                actor=actor, action="create", subject=mortgage, subject_person_id=vehicle.owner_person_id,
                summary=f"网上抵押登记 mortgage filed ({vehicle.plate_number or vehicle.vin[-6:]}, "
                f"contract {filing.contract_number}, key {key.fingerprint[:16]})",
                request=request,
            )  # fmt: skip
            _notify_owner(vehicle=vehicle, mortgage=mortgage, released=False)
            personal.vehicles_and_licences_changed(vehicle_ids=[vehicle.pk])
    except IntegrityError:
        # The partial unique index: a competing filing committed first (SQLite has no row locks).
        raise already from None
    return mortgage


def mortgage_release(
    *,
    actor: Any,
    mortgage_id: int,
    payload: Mapping[str, Any],
    signature: str,
    key_fingerprint: str,
    request: Any = None,
    now: datetime | None = None,
) -> VehicleMortgage:
    """Release a mortgage, signed by the mortgagee bank, once its bank confirms the loan is settled.

    Only the mortgagee may release (another bank's mortgage is not found). The same signed
    release sent again answers the released mortgage.
    """
    require(actor, "registry.mortgage.release")
    bank = bank_of(actor=actor)
    now = _now(now)
    mortgage = (
        VehicleMortgage.objects.select_related("vehicle", "mortgagee", "vehicle__owner_person")
        .filter(pk=mortgage_id, mortgagee_id=bank.pk)
        .first()
    )
    if mortgage is None:
        raise NotFound("registry.mortgage.not_found", "没有这条抵押登记。", "No such mortgage.")
    require(actor, "registry.mortgage.release", owner_organisation_id=mortgage.mortgagee_id)
    key, message = _verified_key(
        organisation=bank, payload=payload, signature=signature, key_fingerprint=key_fingerprint
    )
    release = mortgage_rules.check_release(
        payload, mortgage_id=mortgage.pk, now=int(now.timestamp()),
        max_skew=settings.MORTGAGE_SIGNATURE_MAX_SKEW_SECONDS,
    )  # fmt: skip
    if (release.mortgagee_uscc, release.vin, release.contract_number) != (
        bank.uscc, mortgage.vehicle.vin, mortgage.contract_number,
    ):  # fmt: skip
        raise ValidationFailed(
            "registry.mortgage.release_mismatch",
            "签名内容中的抵押权人、车辆识别代号或合同编号与该抵押登记不符。",
            "The mortgagee, VIN or contract number in the signed payload differ from this mortgage.",
        )
    if mortgage.state == VehicleMortgage.State.RELEASED:
        if mortgage.release_payload == message.decode("utf-8"):
            return mortgage
        raise Conflict(
            "registry.mortgage.already_released", "该抵押登记已经解除。", "This mortgage is already released."
        )
    _nonce_unused(key, release.nonce)
    filed = json.loads(mortgage.filing_payload)
    _ask_bank(
        ContractQuestion(
            bank_uscc=bank.uscc, contract_number=mortgage.contract_number, vin=mortgage.vehicle.vin,
            borrower_id_number=str(filed.get("borrower_id_number", "")), principal_fen=mortgage.principal_fen,
            purpose="release",
        )
    )  # fmt: skip
    with transaction.atomic():
        locked = VehicleMortgage.objects.select_for_update().get(pk=mortgage.pk)
        if locked.state != VehicleMortgage.State.FILED:
            raise Conflict(
                "registry.mortgage.already_released",
                "该抵押登记已经解除。",
                "This mortgage is already released.",
            )
        _spend_nonce(key, release.nonce)
        locked.state = VehicleMortgage.State.RELEASED
        locked.released_at = now
        locked.released_by = actor
        locked.release_payload = message.decode("utf-8")
        locked.release_signature = signature.strip()
        locked.release_key = key
        locked.save(update_fields=[
            "state", "released_at", "released_by", "release_payload", "release_signature", "release_key",
        ])  # fmt: skip
        audit_record(
            actor=actor, action="change", subject=locked, subject_person_id=mortgage.vehicle.owner_person_id,
            summary=f"网上解除抵押 mortgage released (contract {mortgage.contract_number}, key {key.fingerprint[:16]})",
            request=request,
        )  # fmt: skip
        locked.vehicle = mortgage.vehicle
        locked.mortgagee = mortgage.mortgagee
        _notify_owner(vehicle=mortgage.vehicle, mortgage=locked, released=True)
        personal.vehicles_and_licences_changed(vehicle_ids=[mortgage.vehicle_id])
    return locked


def mortgage_read(*, actor: Any, mortgage_id: int, request: Any = None) -> VehicleMortgage:
    """One mortgage for its bank, or for staff of the vehicle's jurisdiction (the read is audited)."""
    from .selectors import mortgages_visible_to

    require(actor, "registry.mortgage.view")
    mortgage = mortgages_visible_to(actor=actor).filter(pk=mortgage_id).first()
    if mortgage is None:
        raise NotFound("registry.mortgage.not_found", "没有这条抵押登记。", "No such mortgage.")
    audit_record(
        actor=actor, action="view", subject=mortgage, subject_person_id=mortgage.vehicle.owner_person_id,
        summary="查看抵押登记 mortgage viewed", request=request,
    )  # fmt: skip
    return mortgage


def seal_nonces_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Nonces spent more than a day ago (the daily purge, as for other short-lived rows).

    Rule: a signed request is refused anyway once its ``signed_at`` lies further from now than
    the allowed skew (ten minutes by default), so after a day its nonce guards nothing.
    """
    cutoff = (now or timezone.now()) - timedelta(
        seconds=max(86_400, 2 * settings.MORTGAGE_SIGNATURE_MAX_SKEW_SECONDS)
    )
    return purge_in_batches(SealNonce.objects.filter(used_at__lt=cutoff), batch=batch, dry_run=dry_run)
