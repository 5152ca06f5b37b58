"""Registry change events, published through the outbox for other apps to follow (E1, D2)."""

from __future__ import annotations

import secrets

from jiaoguan.core.outbox import outbox_enqueue

REGISTRY_CHANGED = "registry.changed"


def registry_changed(*, event: str, vehicle_id: int | None = None, licence_id: int | None = None) -> None:
    """Record, inside the changing transaction, that a vehicle or licence changed.

    Subscribers (credentials: reissue or re-rate electronic marks and licences) act after
    commit, at least once.
    """
    outbox_enqueue(
        topic=REGISTRY_CHANGED,
        payload={"event": event, "vehicle_id": vehicle_id, "licence_id": licence_id},
        dedup_key=f"registry-{event}-{vehicle_id}-{licence_id}-{secrets.token_hex(6)}",
    )
