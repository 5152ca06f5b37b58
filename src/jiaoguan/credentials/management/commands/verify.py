"""``jiaoguan verify FILE_OR_TEXT --keys K --status S``: offline check, no database (E4, D2)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.credentials.verify import parse_trust_list, photo_matches, verify_offline


def _photo_digest(value: str | None, credential: str) -> bytes | None:
    """The photo digest of ``--photo``, or of the credential file itself when it is an offline card."""
    from jiaoguan.credentials.photos import digest_in_image

    source = value or credential
    path = Path(source)
    if len(source) >= 4096 or not path.is_file():
        if value:
            raise CommandError(f"no such photo file: {value}")
        return None
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        if value:
            raise CommandError("the photo must be the PNG from the offline credential (a lossless copy)")
        return None
    return digest_in_image(data)


def _read(value: str) -> str:
    path = Path(value)
    if len(value) < 4096 and path.exists():
        data = path.read_bytes()
        if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
            from jiaoguan.credentials.render import decode_qr_image

            found = decode_qr_image(data)
            if not found:
                raise CommandError("no QR code found in the image")
            return found[0]
        return data.decode("utf-8").strip()
    return value.strip()


class Command(BaseCommand):
    help = "Verify a credential offline with a downloaded trust list and status list."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("credential", help="the QR text, a .txt file with it, or a PNG/JPEG of the QR")
        parser.add_argument("--keys", required=True, help="trust list from GET /api/v1/credentials/keys")
        parser.add_argument("--status", help="status list from GET /api/v1/credentials/status-list")
        parser.add_argument(
            "--photo",
            help="the holder's photo as shown (the offline card PNG, or the photo cut from it) to compare "
            "with the photo digest signed in an e-licence; an offline card given as the credential is "
            "compared without it",
        )
        parser.add_argument("--json", action="store_true", help="print the verdict as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        trust = parse_trust_list(Path(options["keys"]).read_text(encoding="utf-8"))
        status_list = None
        if options.get("status"):
            raw = Path(options["status"]).read_text(encoding="utf-8").strip()
            status_list = json.loads(raw)["status_list"] if raw.startswith("{") else raw
        verdict = verify_offline(
            _read(options["credential"]), trust=trust, status_list=status_list, now=int(time.time())
        )
        photo = photo_matches(verdict, _photo_digest(options.get("photo"), options["credential"]))
        if photo is False:
            # The signature and status hold, but the picture shown is not the one signed: refuse.
            verdict.valid = False
            verdict.reason = "photo_mismatch"
            verdict.message_zh = "出示的照片与凭证签名中的照片不一致，不能作为有效凭证使用。"
            verdict.message_en = "The photo shown is not the one signed in the credential; do not accept it."
        if photo is not None:
            verdict.checks.append(("photo", photo))
        if options["json"]:
            self.stdout.write(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=1))
        else:
            self.stdout.write(
                ("VALID  " if verdict.valid else "INVALID  ") + f"{verdict.message_zh} / {verdict.message_en}"
            )
            for name, ok in verdict.checks:
                self.stdout.write(f"  {'ok ' if ok else 'NO '} {name}")
            for name, value in verdict.subject.items():
                self.stdout.write(f"  {name}: {value}")
        if not verdict.valid:
            raise SystemExit(1)
