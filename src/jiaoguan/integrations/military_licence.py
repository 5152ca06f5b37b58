"""Military and armed-police driving licence check adapter (军队、武警部队驾驶证信息联网核查, O3).

From 2021-06-01 the platform checks a military licence online when it is exchanged for a civilian
one; a check that does not pass goes to the suspect-business review (seed 004 §七 一). Services
talk only to :class:`MilitaryLicenceService`; :func:`get_military_licence_service` builds it.

Wire protocol (see :mod:`.records_transport`), shared with :mod:`.fake_records_service`::

    GET /api/military-licences/{number}/check?id_number=&name=&request_id=R
      -> {"request_id", "number", "passed", "reason", "licence": {...} | null}
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from .records_transport import DECODE_ERRORS, RecordsRefused, RecordsTransport, RecordsUnavailable, text


class MilitaryLicenceUnavailable(RecordsUnavailable):
    """The registry could not answer: nothing is known, ask again later."""


class MilitaryLicenceRefused(RecordsRefused):
    """The registry refused the request itself."""


@dataclass(frozen=True)
class MilitaryLicence:
    """A military or armed-police licence as the registry keeps it."""

    number: str  # with its prefix, e.g. JW + digits
    id_number: str  # the holder's citizen ID number
    name: str
    classes: str  # 准驾车型, e.g. "B1"
    first_issued_on: date  # 初次领取军队（武警）驾驶证日期
    issued_on: date  # when this (new-style) licence was issued
    added: tuple[tuple[str, date], ...] = ()  # 增驾车型 and when
    status: str = "valid"  # valid, revoked, exchanged


@dataclass(frozen=True)
class MilitaryCheck:
    """The registry's answer: passed with the licence, or not passed with the reason."""

    passed: bool
    reason: str = ""  # not_found, holder_mismatch, revoked, already_exchanged
    licence: MilitaryLicence | None = None


class MilitaryLicenceService(Protocol):
    def check(
        self, *, number: str, id_number: str, name: str, request_id: str | None = None
    ) -> MilitaryCheck: ...


def normalise_number(number: str) -> str:
    return number.strip().upper()


def compare(found: MilitaryLicence | None, *, id_number: str, name: str) -> MilitaryCheck:
    """The comparison the registry makes (自动核查、自动比对), used by the fake service."""
    if found is None:
        return MilitaryCheck(False, "not_found")
    if found.id_number != id_number.strip().upper() or found.name != name.strip():
        return MilitaryCheck(False, "holder_mismatch")
    if found.status == "revoked":
        return MilitaryCheck(False, "revoked", found)
    if found.status == "exchanged":
        return MilitaryCheck(False, "already_exchanged", found)
    return MilitaryCheck(True, "", found)


def licence_to_json(licence: MilitaryLicence) -> dict[str, Any]:
    return {
        "number": licence.number, "id_number": licence.id_number, "name": licence.name,
        "classes": licence.classes, "first_issued_on": licence.first_issued_on.isoformat(),
        "issued_on": licence.issued_on.isoformat(),
        "added": [[classes, on.isoformat()] for classes, on in licence.added], "status": licence.status,
    }  # fmt: skip


def licence_from_json(data: Any) -> MilitaryLicence:
    added = tuple((text(c), date.fromisoformat(text(on))) for c, on in data.get("added") or [])
    status = text(data.get("status") or "valid")
    if status not in ("valid", "revoked", "exchanged"):
        raise ValueError(f"licence status {status!r}")
    return MilitaryLicence(
        number=normalise_number(text(data["number"])), id_number=text(data["id_number"]).upper(),
        name=text(data["name"]), classes=text(data["classes"]),
        first_issued_on=date.fromisoformat(text(data["first_issued_on"])),
        issued_on=date.fromisoformat(text(data["issued_on"])), added=added, status=status,
    )  # fmt: skip


class HttpMilitaryLicenceService(RecordsTransport):
    service_name = "military licence registry"
    unavailable_error = MilitaryLicenceUnavailable
    timeout_error = MilitaryLicenceUnavailable
    refused_error = MilitaryLicenceRefused

    def check(
        self, *, number: str, id_number: str, name: str, request_id: str | None = None
    ) -> MilitaryCheck:
        """Check a licence against its holder; ``request_id`` as for the other record systems."""
        number = normalise_number(number)
        query = urllib.parse.urlencode({"id_number": id_number, "name": name})
        path = f"/api/military-licences/{urllib.parse.quote(number, safe='')}/check?{query}"
        _, data = self.ask("GET", path, request_id=request_id)
        try:
            if text(data["number"]) != number:
                raise ValueError("answered for another licence")
            passed = data["passed"]
            if not isinstance(passed, bool):
                raise TypeError("passed is not a boolean")
            licence = licence_from_json(data["licence"]) if data.get("licence") is not None else None
            return MilitaryCheck(passed, text(data.get("reason") or ""), licence)
        except DECODE_ERRORS as exc:
            raise MilitaryLicenceUnavailable("bad_response", f"unexpected check answer: {exc}") from exc


def get_military_licence_service() -> MilitaryLicenceService:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.MILITARY_LICENCE_KEY:
        raise ImproperlyConfigured("JIAOGUAN_MILITARY_LICENCE_KEY is not set")
    return HttpMilitaryLicenceService(
        base_url=settings.MILITARY_LICENCE_URL, party_id=settings.MILITARY_LICENCE_CLIENT_ID,
        key=settings.MILITARY_LICENCE_KEY, timeout=float(settings.RECORDS_TIMEOUT_SECONDS),
        retries=int(settings.RECORDS_RETRIES),
    )  # fmt: skip
