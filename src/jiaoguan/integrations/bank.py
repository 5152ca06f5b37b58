"""Bank (银行、汽车金融公司) adapter: online confirmation of mortgage contracts (O6).

Issue 14 / REQUIREMENTS O6: mortgage information is checked online with banks and finance
companies; no paper contract. Before a mortgage is filed or released, the platform asks the
mortgagee's core system whether the contract exists, names this VIN, this borrower (the vehicle
owner's ID number or USCC) and this principal, and is still active (filing) or settled
(release). The registry talks to banks only through :class:`BankService`;
:class:`HttpBankService` speaks signed JSON over HTTP and is built from the current settings by
:func:`get_bank_service`.

Wire protocol, shared with :mod:`jiaoguan.integrations.fake_bank_service`:

* Requests and answers are signed exactly as the payment gateway's are
  (:mod:`jiaoguan.integrations.payment_gateway`: ``X-Merchant-Id`` carries our client id at the
  bank interconnection, ``X-Timestamp``, ``X-Nonce``, ``X-Signature``), with the bank key.
* ``POST /api/contract-checks`` asks one question; it is idempotent on ``check_id``, so a retry
  after a timeout gets the first answer, and the same id with other details is refused
  (``idempotency_mismatch``). The answer is ``{"check_id", "confirmed", "state", "mismatches"}``:
  ``state`` is ``active``, ``settled`` or ``unknown`` (no such contract at this bank) and
  ``mismatches`` names what does not match (``vin``, ``borrower``, ``principal``, ``state``,
  ``not_found``).
* Errors are ``{"code", "message"}`` with a 4xx status; a 5xx means nothing was decided, and is
  retried. A timeout is never read as a yes or a no: the caller files nothing and says "try again".

Django is imported only inside :func:`get_bank_service`, so the fake service reuses this module
without settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from .payment_gateway import SignedJsonTransport

logger = logging.getLogger(__name__)

PURPOSES = frozenset({"file", "release"})
CONTRACT_STATES = frozenset({"active", "settled", "unknown"})
MISMATCHES = frozenset({"vin", "borrower", "principal", "state", "not_found"})

_MESSAGES = {
    "invalid_request": "the bank refused the request as malformed",
    "idempotency_mismatch": "this check id was already used for another question",
    "bad_signature": "the signature is missing or wrong",
    "unreachable": "the bank could not be reached",
    "server_error": "the bank failed to process the request",
    "timeout": "the bank did not answer in time; the answer is unknown",
    "bad_response_signature": "the bank's answer is not properly signed",
    "bad_response": "the bank's answer could not be understood",
}


class BankError(Exception):
    """A bank interconnection failure; ``code`` is machine-readable, ``str(e)`` is for people."""

    default_code = "bank_error"
    code: str

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        self.code = code or self.default_code
        super().__init__(message or _MESSAGES.get(self.code, self.code.replace("_", " ")))


class BankUnavailable(BankError):
    """The bank could not be asked or its answer not read: nothing is known. Try later."""

    default_code = "unreachable"


class BankTimeout(BankUnavailable):
    """A question went out and no answer came; asking again with the same check id is safe."""

    default_code = "timeout"


class BankRefused(BankError):
    """The bank answered with a signed refusal of the request itself (not a "no" to the contract)."""

    default_code = "invalid_request"


@dataclass(frozen=True)
class ContractQuestion:
    """What the platform asks a bank about one contract."""

    bank_uscc: str
    contract_number: str
    vin: str
    borrower_id_number: str
    principal_fen: int
    purpose: str  # "file": must be active; "release": must be settled

    def check_id(self) -> str:
        """The same question always has the same id, so a retry is answered, never asked anew."""
        text = json.dumps(
            [
                self.purpose,
                self.bank_uscc,
                self.contract_number,
                self.vin,
                self.borrower_id_number,
                self.principal_fen,
            ],
            ensure_ascii=False,
        )
        return "chk-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class ContractCheck:
    check_id: str
    confirmed: bool
    state: str  # active / settled / unknown
    mismatches: tuple[str, ...]


class BankService(Protocol):
    def contract_check(self, question: ContractQuestion) -> ContractCheck: ...


def check_from_json(data: Any) -> ContractCheck:
    if not isinstance(data, dict):
        raise TypeError("answer is not an object")
    check_id, confirmed, state, mismatches = (
        data["check_id"],
        data["confirmed"],
        data["state"],
        data["mismatches"],
    )
    if not isinstance(check_id, str) or not isinstance(confirmed, bool) or state not in CONTRACT_STATES:
        raise ValueError(f"unexpected check answer {data!r}")
    if not isinstance(mismatches, list) or any(m not in MISMATCHES for m in mismatches):
        raise ValueError(f"unexpected mismatches {mismatches!r}")
    if confirmed == bool(mismatches):
        raise ValueError("an answer is confirmed exactly when nothing mismatches")
    return ContractCheck(check_id=check_id, confirmed=confirmed, state=state, mismatches=tuple(mismatches))


_DECODE_ERRORS = (ValueError, KeyError, TypeError, UnicodeDecodeError)


class HttpBankService(SignedJsonTransport):
    """The bank interconnection over signed JSON (the payment gateway's transport and signing)."""

    service_name = "bank"
    unavailable_error = BankUnavailable
    timeout_error = BankTimeout

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        key: str | bytes,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: tuple[float, ...] = (0.05, 0.2),
    ) -> None:
        super().__init__(
            base_url=base_url, party_id=client_id, key=key, timeout=timeout, retries=retries, backoff=backoff
        )
        self.client_id = client_id

    def refused(self, status: int, content: bytes) -> Exception:
        try:
            data = json.loads(content)
            code, message = data["code"], data.get("message")
            if not isinstance(code, str):
                raise TypeError("code")
        except _DECODE_ERRORS:
            return BankRefused("invalid_request", f"the bank refused with HTTP {status}")
        return BankRefused(code, message if isinstance(message, str) and message else None)

    def contract_check(self, question: ContractQuestion) -> ContractCheck:
        """Ask the bank about one contract; raises :class:`BankUnavailable` when no answer is known."""
        if question.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {question.purpose!r}")
        check_id = question.check_id()
        payload = {
            "check_id": check_id,
            "bank_uscc": question.bank_uscc,
            "contract_number": question.contract_number,
            "vin": question.vin,
            "borrower_id_number": question.borrower_id_number,
            "principal_fen": question.principal_fen,
            "purpose": question.purpose,
        }
        started = time.monotonic()
        try:
            data = self.request_json("POST", "/api/contract-checks", payload, mutating=True)
            try:
                check = check_from_json(data)
            except _DECODE_ERRORS as exc:
                raise BankUnavailable("bad_response", f"unexpected contract-check answer: {exc}") from exc
            # A validly signed answer to another question (a duplicated or misrouted answer) says
            # nothing about this one.
            if check.check_id != check_id:
                raise BankUnavailable(
                    "bad_response", f"the answer is for check {check.check_id}, not {check_id}"
                )
        except BankError as exc:
            logger.warning(
                "bank contract check %s for %s failed after %.0f ms: %s",
                check_id, question.bank_uscc, (time.monotonic() - started) * 1000, exc.code,
            )  # fmt: skip
            raise
        logger.info(
            "bank contract check %s for %s: confirmed=%s state=%s in %.0f ms",
            check_id, question.bank_uscc, check.confirmed, check.state, (time.monotonic() - started) * 1000,
        )  # fmt: skip
        return check


def get_bank_service() -> BankService:
    """The bank interconnection as configured now (tests change settings between calls)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    key = settings.BANK_KEY
    if not key:
        raise ImproperlyConfigured("JIAOGUAN_BANK_KEY is not set")
    return HttpBankService(
        base_url=settings.BANK_URL,
        client_id=settings.BANK_CLIENT_ID,
        key=key,
        timeout=float(settings.BANK_TIMEOUT_SECONDS),
        retries=int(settings.BANK_RETRIES),
    )
