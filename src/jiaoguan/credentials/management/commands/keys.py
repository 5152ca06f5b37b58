"""``jiaoguan keys list|rotate``: manage credential signing keys."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.credentials.crypto import EDDSA, ES256, SM2_SM3, algorithm_for
from jiaoguan.credentials.keys import key_rotate
from jiaoguan.credentials.models import SigningKey

ALGS = {"ES256": ES256, "EdDSA": EDDSA, "SM2": SM2_SM3}


class Command(BaseCommand):
    help = (
        "List or rotate the credential signing keys (old keys keep verifying until their credentials expire)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["list", "rotate"])
        parser.add_argument("--alg", choices=sorted(ALGS), default="ES256")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rotate":
            alg = ALGS[options["alg"]]
            if algorithm_for(alg) is None:
                raise CommandError(f"{options['alg']} is not available on this installation")
            key = key_rotate(alg=alg)
            self.stdout.write(
                f"new signing key {key.kid} ({options['alg']}); earlier keys retired, still verifying"
            )
        names = {v: k for k, v in ALGS.items()}
        for key in SigningKey.objects.all():
            state = (
                "active" if key.retired_at is None else f"retired, verifies until {key.not_after:%Y-%m-%d}"
            )
            self.stdout.write(
                f"{key.kid}  {names.get(key.alg, key.alg)}  from {key.not_before:%Y-%m-%d %H:%M}  {state}"
            )
