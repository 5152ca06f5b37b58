"""Kinds of payable (款项类别) and what their owners want to know about them.

An app whose records are paid for (violations: fines; later the businesses' fees) calls
:func:`register_payable_kind` from its ``AppConfig.ready``. Payments then asks the kind,
never the app itself: whether a payer may pay a payable (it is theirs), the late fee due
on a day, and where the payer's page of it is; and it calls ``on_paid`` inside the
transaction that records the payment, so the owner's records change with it or not at all.
Payments thereby stays below the apps it serves and imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Payable


@dataclass(frozen=True)
class PayableKind:
    """What payments needs to know about one kind of payable."""

    kind: str
    label_zh: str
    label_en: str
    # Whether an own-scope actor (citizen, organisation) may see and pay this payable.
    visible_to: Callable[[Any, Payable], bool]
    # The late fee in fen for paying on a day (0 where the kind has none).
    late_fee: Callable[[Payable, date], int]
    # Called with the payable locked and already marked paid, inside the same transaction;
    # an exception rolls the whole payment back.
    on_paid: Callable[[Payable], None]
    # The payer's page of the payable and the list it belongs to, for the payment result page.
    payer_url: Callable[[Payable], str]
    payer_list_url: Callable[[], str]


_KINDS: dict[str, PayableKind] = {}


def register_payable_kind(
    kind: str,
    *,
    label_zh: str,
    label_en: str,
    visible_to: Callable[[Any, Payable], bool],
    late_fee: Callable[[Payable, date], int],
    on_paid: Callable[[Payable], None],
    payer_url: Callable[[Payable], str],
    payer_list_url: Callable[[], str],
) -> PayableKind:
    """Register (or, on a reload of the app registry, replace) a kind of payable."""
    if not kind or len(kind) > 16 or not kind.replace("_", "").isalnum():
        raise ValueError(f"bad payable kind {kind!r}")
    registered = PayableKind(
        kind, label_zh, label_en, visible_to, late_fee, on_paid, payer_url, payer_list_url
    )
    _KINDS[kind] = registered
    return registered


def payable_kind(kind: str) -> PayableKind:
    try:
        return _KINDS[kind]
    except KeyError:
        raise LookupError(f"payable kind {kind!r} is not registered") from None


def kind_words(kind: str) -> str:
    """The kind in words for the back office ("交通违法罚款 traffic fine"); the code if unknown."""
    registered = _KINDS.get(kind)
    return f"{registered.label_zh} {registered.label_en}" if registered else kind
