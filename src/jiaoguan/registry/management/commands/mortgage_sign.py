"""Sign a mortgage payload with a seal key, as a bank's system would (issue 14, O6).

Prints the JSON body for ``POST /api/v1/mortgages`` or ``POST /api/v1/mortgages/{id}/release``:
``{"payload", "signature", "key_fingerprint"}``. ``signed_at`` and ``nonce`` are filled in when
the payload lacks them. In the demo, ``--demo-file VIN`` and ``--demo-release ID`` build the
payload from the demo bank's contracts and key (``jiaoguan up`` prints them), and
``--demo-settle CONTRACT`` tells the fake bank the loan is paid off, so the release is confirmed::

    jiaoguan mortgage_sign PAYLOAD.json --key bank.pem --algorithm SM2-SM3 --fingerprint HEX
    jiaoguan mortgage_sign --demo-file LSVAB4BR0MN000001 > body.json
    curl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
         -d @body.json http://127.0.0.1:8000/api/v1/mortgages
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.seals import SEAL_ALGORITHMS, SealError, seal_sign

DEMO_INFO_FILE = "demo_bank.json"


class Command(BaseCommand):
    help = "Sign a mortgage filing or release payload with an organisation's seal key (prints the API body)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("payload", nargs="?", help="payload JSON file, or - for standard input")
        parser.add_argument("--key", help="private key PEM file of the seal")
        parser.add_argument("--algorithm", choices=sorted(SEAL_ALGORITHMS), help="seal algorithm")
        parser.add_argument("--fingerprint", help="fingerprint of the registered public key")
        parser.add_argument("--demo-file", metavar="VIN", help="demo: a filing for this VIN's demo contract")
        parser.add_argument(
            "--demo-release", metavar="MORTGAGE_ID", type=int, help="demo: release this mortgage"
        )
        parser.add_argument(
            "--demo-settle", metavar="CONTRACT", help="demo: the fake bank marks the loan settled"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        info = (
            self._demo_info() if any(options[k] for k in ("demo_file", "demo_release", "demo_settle")) else {}
        )
        if options["demo_settle"]:
            self._settle(info, options["demo_settle"])
            return
        if options["demo_file"]:
            payload = self._demo_filing(info, options["demo_file"])
        elif options["demo_release"]:
            payload = self._demo_release(info, options["demo_release"])
        elif options["payload"]:
            text = (
                sys.stdin.read() if options["payload"] == "-" else Path(options["payload"]).read_text("utf-8")
            )
            payload = json.loads(text)
            if not isinstance(payload, dict):
                raise CommandError("the payload must be a JSON object")
        else:
            raise CommandError("give a payload file, --demo-file VIN or --demo-release ID")
        payload.setdefault("signed_at", int(time.time()))
        payload.setdefault("nonce", secrets.token_hex(16))
        key_file = options["key"] or info.get("key_file")
        algorithm = options["algorithm"] or info.get("algorithm")
        fingerprint = options["fingerprint"] or info.get("fingerprint")
        if not (key_file and algorithm and fingerprint):
            raise CommandError("--key, --algorithm and --fingerprint are needed outside the demo")
        try:
            signature = seal_sign(
                algorithm=algorithm, private_pem=Path(key_file).read_bytes(), payload=payload
            )
        except (OSError, SealError, ValueError) as exc:
            raise CommandError(f"cannot sign: {exc}") from exc
        body = {"payload": payload, "signature": signature, "key_fingerprint": fingerprint}
        self.stdout.write(json.dumps(body, ensure_ascii=False, indent=1))

    def _demo_info(self) -> dict[str, Any]:
        path = settings.DATA_DIR / DEMO_INFO_FILE
        if not path.exists():
            raise CommandError(f"no demo bank in {settings.DATA_DIR}: run jiaoguan up first")
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return info

    def _contract(self, info: dict[str, Any], **match: Any) -> dict[str, Any]:
        for contract in info.get("contracts", []):
            if all(contract.get(k) == v for k, v in match.items()):
                return dict(contract)
        raise CommandError(f"no demo contract with {match}")

    def _demo_filing(self, info: dict[str, Any], vin: str) -> dict[str, Any]:
        from django.utils import timezone

        contract = self._contract(info, vin=vin.upper())
        today = timezone.localdate()
        return {
            "action": "mortgage.file", "mortgagee_uscc": info["bank_uscc"], "vin": contract["vin"],
            "borrower_id_number": contract["borrower_id_number"], "contract_number": contract["contract_number"],
            "principal_fen": contract["principal_fen"], "term_start": today.isoformat(),
            "term_end": today.replace(year=today.year + 3, day=min(today.day, 28)).isoformat(),
        }  # fmt: skip

    def _demo_release(self, info: dict[str, Any], mortgage_id: int) -> dict[str, Any]:
        from jiaoguan.registry.models import VehicleMortgage

        mortgage = VehicleMortgage.objects.select_related("vehicle").filter(pk=mortgage_id).first()
        if mortgage is None:
            raise CommandError(f"no mortgage {mortgage_id}")
        return {
            "action": "mortgage.release", "mortgage_id": mortgage.pk, "mortgagee_uscc": info["bank_uscc"],
            "vin": mortgage.vehicle.vin, "contract_number": mortgage.contract_number,
        }  # fmt: skip

    def _settle(self, info: dict[str, Any], number: str) -> None:
        from jiaoguan.integrations.bank import BankError
        from jiaoguan.integrations.fake_bank_service import BankControl

        contract = self._contract(info, contract_number=number)
        contract.pop("plate_number", None)
        control = BankControl(
            base_url=settings.BANK_URL, client_id=settings.BANK_CLIENT_ID, key=settings.BANK_KEY
        )
        try:
            control.put_contract(**(contract | {"state": "settled"}))
        except BankError as exc:
            raise CommandError(f"the fake bank at {settings.BANK_URL} did not take it: {exc}") from exc
        self.stdout.write(f"{number}: settled at the fake bank; the release can now be filed")
