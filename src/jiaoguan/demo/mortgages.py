"""Demo bank for mortgages with e-seals (issue 14, O6).

``jiaoguan up`` makes (once) a bank organisation user registered at the counter, its seal key
registered by the demo clerk, and two loan contracts the fake bank confirms, for vehicles of the
demo citizens. The private key stays in the data folder (``demo_bank_seal_key.pem``, a demo has
no secrets worth keeping), with ``demo_bank.json`` naming its algorithm, fingerprint and the
contracts, so ``jiaoguan mortgage_sign`` can sign a filing for a person trying the API.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

DEMO_BANK_USCC_BODY = "91411702MA4YH8Q0K"
DEMO_BANK_NAME = "中原示范银行股份有限公司驻马店分行"
KEY_FILE = "demo_bank_seal_key.pem"
INFO_FILE = "demo_bank.json"
CONTRACTS_FILE = "demo_bank_contracts.json"  # read by the fake bank at start (fake_bank_service command)


def _algorithm() -> str:
    from jiaoguan.core.crypto import SM2_SM3, algorithm_for

    # SM2 with SM3 is the e-seal standard; without Tongsuo the demo signs with ES256.
    return "SM2-SM3" if algorithm_for(SM2_SM3) is not None else "ES256"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _contract(uscc: str, n: int, vehicle: Any) -> dict[str, Any]:
    return {
        "bank_uscc": uscc, "contract_number": f"ZYDEMO-2026-{n:04d}", "vin": vehicle.vin,
        "borrower_id_number": vehicle.owner_person.id_number, "principal_fen": 12_000_000 * n,
        "state": "active", "plate_number": vehicle.plate_number,
    }  # fmt: skip


def ensure_demo_bank(*, data_dir: Path, password: str) -> list[str]:
    """Create what is missing and return lines for ``jiaoguan up`` to print."""
    from jiaoguan.accounts.models import OrganisationMember, User
    from jiaoguan.accounts.services import organisation_register
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.core.seals import fingerprint, public_der_from_pem, seal_key_generate
    from jiaoguan.registry.models import Organisation, OrganisationSealKey, Person, Vehicle
    from jiaoguan.registry.mortgages import seal_key_register

    clerk = User.objects.filter(username="clerk", kind="staff").first()
    if clerk is None:
        return []
    uscc = make_uscc(DEMO_BANK_USCC_BODY)
    organisation = Organisation.objects.filter(uscc=uscc).first()
    user = User.objects.filter(organisation=organisation).first() if organisation else None
    if user is None:
        representative = (
            Person.objects.filter(
                id_type="resident_id", account__isnull=True, residence_division__startswith="4117"
            )
            .exclude(mobile="")
            .order_by("-pk")
            .first()
        )
        if representative is None:
            return []
        user = organisation_register(
            actor=clerk, uscc=uscc, name=DEMO_BANK_NAME, kind=Organisation.Kind.BANK, division="411702",
            representative_id_type=representative.id_type, representative_id_number=representative.id_number,
            representative_name=representative.name, representative_role=OrganisationMember.Role.LEGAL_REPRESENTATIVE,
            mobile=representative.mobile, password=password, address="驻马店市驿城区乐山大道88号",
        )  # fmt: skip
        organisation = user.organisation
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    assert organisation is not None

    key_path = data_dir / KEY_FILE
    info_path = data_dir / INFO_FILE
    info: dict[str, Any] = json.loads(info_path.read_text(encoding="utf-8")) if info_path.exists() else {}
    key = OrganisationSealKey.objects.filter(fingerprint=info.get("fingerprint", ""), active=True).first()
    if key is None or not key_path.exists():
        algorithm = _algorithm()
        private_pem, public_pem = seal_key_generate(algorithm)
        _write_private(key_path, private_pem)
        key = seal_key_register(
            actor=clerk, organisation_id=organisation.pk, algorithm=algorithm, public_key_pem=public_pem
        )
        assert key.fingerprint == fingerprint(public_der_from_pem(public_pem))

    if not info.get("contracts"):
        # Vehicles of demo citizens who can log in, so the owner sees the mortgage on their page.
        vehicles = list(
            Vehicle.objects.filter(owner_person__account__isnull=False, mortgages__isnull=True)
            .select_related("owner_person")
            .order_by("pk")[:2]
        )
        info["contracts"] = [_contract(uscc, n, v) for n, v in enumerate(vehicles, start=1)]
    info.update(
        {"bank_uscc": uscc, "bank_name": organisation.name, "username": user.username,
         "algorithm": key.algorithm, "fingerprint": key.fingerprint, "key_file": str(key_path)}
    )  # fmt: skip
    info_path.write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    contracts = [{k: v for k, v in c.items() if k != "plate_number"} for c in info["contracts"]]
    (data_dir / CONTRACTS_FILE).write_text(
        json.dumps(contracts, ensure_ascii=False, indent=1), encoding="utf-8"
    )

    lines = [
        f"bank (mortgages, O6): {organisation.name}, login {user.username}; seal key {key.algorithm} "
        f"{key.fingerprint[:16]}… private key {key_path}",
    ]
    for contract in info["contracts"]:
        lines.append(
            f"  contract {contract['contract_number']} for {contract['plate_number']}: "
            f"jiaoguan mortgage_sign --demo-file {contract['vin']}  (prints the signed body to POST)"
        )
    return lines
