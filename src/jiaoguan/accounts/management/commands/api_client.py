"""``jiaoguan api-client create|revoke``: client credentials for systems calling the API (接入系统)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.accounts.clients import api_client_create, api_client_revoke
from jiaoguan.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an API client (prints its id and secret once) or revoke one."

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="register a system and print its credentials once")
        create.add_argument("--name", required=True, help="e.g. 驻马店市电子警察平台")
        create.add_argument("--scopes", required=True, help='space-separated, e.g. "violations:import"')
        create.add_argument("--division", required=True, help="GB/T 2260 code it may act for, e.g. 411700")
        create.add_argument(
            "--organisation-uscc", default="", help="the operating organisation, if registered"
        )
        revoke = actions.add_parser("revoke", help="stop a client's credentials at once")
        revoke.add_argument("client_id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "create":
                client, secret = api_client_create(
                    name=options["name"],
                    scopes=options["scopes"],
                    division=options["division"],
                    organisation_uscc=options["organisation_uscc"],
                )
                self.stdout.write(f"client_id: {client.client_id}")
                self.stdout.write(f"secret:    {secret}")
                self.stdout.write(
                    f"scopes: {client.scopes}; division: {client.division}. "
                    "The secret is shown only now; store it in the calling system."
                )
            else:
                client = api_client_revoke(client_id=options["client_id"])
                self.stdout.write(
                    f"revoked {client.client_id} ({client.name}) at {client.revoked_at:%Y-%m-%d %H:%M}"
                )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message_en}") from exc
