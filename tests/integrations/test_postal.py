"""The postal adapter against the fake postal service, over HTTP (issue 13, REQUIREMENTS S2)."""

from __future__ import annotations

import json
import random
import secrets
import time

import pytest

from jiaoguan.integrations.payment_gateway import HEADER_SIGNATURE, HEADER_TIMESTAMP, sign
from jiaoguan.integrations.postal import (
    HttpPostalService,
    PostalRefused,
    PostalTimeout,
    PostalUnavailable,
    TrackingCallbackInvalid,
    division_valid,
    s10_check_digit,
    waybill_number_valid,
)


def parcel(key: str | None = None, **changes):
    details = {
        "reference": "APP-2026-000123",
        "idempotency_key": key or secrets.token_hex(8),
        "sender": "驻马店市公安局交通管理支队车辆管理所",
        "recipient_name": "张三",
        "recipient_phone": "13800138000",
        "address_division": "411702",
        "address_line": "驿城区解放路 1 号",
        "weight_g": 80,
    }
    details.update(changes)
    return details


def client(postal_service, **overrides) -> HttpPostalService:
    options = {"timeout": 1.0, "retries": 2, "backoff": (0.05,)} | overrides
    return HttpPostalService(
        base_url=postal_service.url, customer_id=postal_service.customer_id, key=postal_service.key, **options
    )


def wait_for(receiver, predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [item for item in receiver.received if predicate(item)]
        if found:
            return found
        time.sleep(0.02)
    return []


def received_events(postal, receiver):
    adapter = postal.client()
    return [
        event
        for headers, body in receiver.received
        for event in adapter.tracking_callback_verify(body, headers)
    ]


# --- rules ---------------------------------------------------------------------------------------


def test_s10_check_digit_and_number_format():
    assert s10_check_digit("47312482") == 9  # the UPU S10 worked example
    assert waybill_number_valid("EA473124829CN")
    assert not waybill_number_valid("EA473124828CN")
    assert not waybill_number_valid("EA47312482CN")


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("411702", True),
        ("110101", True),
        ("410000", False),
        ("991702", False),
        ("41170", False),
        ("４１１７０２", False),
    ],
)
def test_division_codes(code, valid):
    assert division_valid(code) is valid


# --- creating waybills ------------------------------------------------------------------------------


def test_waybill_created_then_tracked(postal_service):
    adapter = postal_service.client()
    waybill = adapter.waybill_create(**parcel())
    assert waybill_number_valid(waybill.number) and waybill.number.startswith("E")
    assert waybill.created_at.utcoffset() is not None
    events = adapter.waybill_track(waybill.number)
    assert [e.kind for e in events] == ["accepted"]


def test_retry_after_timeout_returns_the_same_waybill(postal_service, callback_receiver):
    postal_service.configure(timeout_rate=1.0, timeout_sleep_ms=1500)
    details = parcel(callback_url=callback_receiver.url)
    with pytest.raises(PostalTimeout):
        client(postal_service, retries=1).waybill_create(**details)
    # The service made the waybill although no answer came: the same key finds it.
    postal_service.configure(timeout_rate=0.0)
    first = postal_service.client().waybill_create(**details)
    again = postal_service.client().waybill_create(**details)
    assert again == first
    # Only one parcel exists: every accepted event is for that one number.
    postal_service.advance(first.number, "in_transit")
    assert wait_for(callback_receiver, lambda item: b"in_transit" in item[1])
    numbers = {event.waybill_number for event in received_events(postal_service, callback_receiver)}
    assert numbers == {first.number}
    assert [e.kind for e in postal_service.client().waybill_track(first.number)] == ["accepted", "in_transit"]


def test_same_key_for_another_parcel_is_refused(postal_service):
    adapter = postal_service.client()
    details = parcel()
    adapter.waybill_create(**details)
    with pytest.raises(PostalRefused) as refused:
        adapter.waybill_create(**(details | {"address_line": "另一个地址"}))
    assert refused.value.code == "idempotency_mismatch"


def test_a_503_is_retried(postal_service):
    # The fake draws one number per call for its faults: find a seed that fails the first call only.
    seed = next(s for s in range(1000) if (r := random.Random(s)).random() < 0.5 <= r.random())
    postal_service.configure(error_rate=0.5, seed=seed)
    with pytest.raises(PostalUnavailable) as failed:
        client(postal_service, retries=0).waybill_create(**parcel())
    assert failed.value.code == "server_error"
    postal_service.configure(seed=seed)
    waybill = client(postal_service, retries=1).waybill_create(**parcel())
    assert waybill_number_valid(waybill.number)


def test_always_failing_service_is_unavailable_not_timeout(postal_service):
    postal_service.configure(error_rate=1.0)
    with pytest.raises(PostalUnavailable) as failed:
        postal_service.client().waybill_create(**parcel())
    assert failed.value.code == "server_error" and not isinstance(failed.value, PostalTimeout)


def test_address_outside_gbt_2260_is_refused(postal_service):
    with pytest.raises(PostalRefused) as refused:
        postal_service.client().waybill_create(**parcel(address_division="410000"))
    assert refused.value.code == "invalid_address"


def test_unknown_waybill(postal_service):
    with pytest.raises(PostalRefused) as refused:
        postal_service.client().waybill_track("EA473124829CN")
    assert refused.value.code == "not_found"


def test_answer_signed_with_another_key_is_refused(postal_service):
    stranger = HttpPostalService(
        base_url=postal_service.url, customer_id=postal_service.customer_id, key="x" * 64
    )
    with pytest.raises(PostalUnavailable):
        stranger.waybill_track("EA473124829CN")


# --- tracking callbacks -----------------------------------------------------------------------------


def test_delivered_arrives_by_callback_and_by_track(postal_service, callback_receiver):
    # 3840 simulated minutes (delivery in the same city) pass in about a quarter of a second.
    postal_service.configure(speed=1_000_000)
    adapter = postal_service.client()
    waybill = adapter.waybill_create(**parcel(callback_url=callback_receiver.url))
    assert wait_for(callback_receiver, lambda item: b'"delivered"' in item[1])
    callback_receiver.wait(4)
    # Each event has its own callback, so they may arrive in any order; tracking keeps the order.
    by_callback = received_events(postal_service, callback_receiver)
    tracked = adapter.waybill_track(waybill.number)
    assert [e.kind for e in tracked] == ["accepted", "in_transit", "out_for_delivery", "delivered"]
    assert sorted(by_callback, key=lambda e: e.event_id) == sorted(tracked, key=lambda e: e.event_id)
    assert "签收" in tracked[-1].place


def test_duplicate_callbacks_keep_the_event_id(postal_service, callback_receiver):
    postal_service.configure(callback_duplicates=2)
    waybill = postal_service.client().waybill_create(**parcel(callback_url=callback_receiver.url))
    postal_service.advance(waybill.number, "delivered")
    callback_receiver.wait(3 * 4)
    delivered = [e for e in received_events(postal_service, callback_receiver) if e.kind == "delivered"]
    assert len(delivered) == 3
    assert len({e.event_id for e in delivered}) == 1  # the platform de-duplicates on it


def test_lost_callbacks_are_still_tracked(postal_service, callback_receiver):
    postal_service.configure(callback_drop_rate=1.0)
    adapter = postal_service.client()
    waybill = adapter.waybill_create(**parcel(callback_url=callback_receiver.url))
    postal_service.advance(waybill.number, "delivered")
    assert [e.kind for e in adapter.waybill_track(waybill.number)][-1] == "delivered"
    time.sleep(0.2)
    assert callback_receiver.received == []
    assert {c["error"] for c in postal_service.callbacks()} == {"dropped"}


def test_late_callbacks_come_after_track_shows_the_event(postal_service, callback_receiver):
    postal_service.configure(callback_delay_ms=500)
    adapter = postal_service.client()
    waybill = adapter.waybill_create(**parcel(callback_url=callback_receiver.url))
    assert [e.kind for e in adapter.waybill_track(waybill.number)] == ["accepted"]
    assert callback_receiver.received == []
    assert callback_receiver.wait(1, timeout=3)


def test_a_lost_parcel(postal_service, callback_receiver):
    postal_service.configure(loss_rate=1.0, speed=1_000_000)
    adapter = postal_service.client()
    waybill = adapter.waybill_create(**parcel(callback_url=callback_receiver.url))
    assert wait_for(callback_receiver, lambda item: b'"lost"' in item[1])
    kinds = [e.kind for e in adapter.waybill_track(waybill.number)]
    assert kinds == ["accepted", "in_transit", "lost"]


def test_parcel_lost_by_control_then_final(postal_service):
    waybill = postal_service.client().waybill_create(**parcel())
    events = postal_service.advance(waybill.number, "lost")
    assert [e.kind for e in events] == ["accepted", "lost"]
    with pytest.raises(PostalRefused) as refused:
        postal_service.advance(waybill.number, "delivered")
    assert refused.value.code == "final"


def test_forged_callback_is_refused(postal_service, callback_receiver):
    adapter = postal_service.client()
    waybill = adapter.waybill_create(**parcel(callback_url=callback_receiver.url))
    (headers, body), *_ = callback_receiver.wait(1)
    assert adapter.tracking_callback_verify(body, headers)[0].waybill_number == waybill.number
    forged = json.loads(body)
    forged["events"][0]["kind"] = "delivered"
    with pytest.raises(TrackingCallbackInvalid) as refused:
        adapter.tracking_callback_verify(json.dumps(forged).encode(), headers)
    assert refused.value.code == "bad_signature"
    resigned = dict(headers, **{HEADER_SIGNATURE: sign(b"not the key", headers[HEADER_TIMESTAMP], "n", body)})
    with pytest.raises(TrackingCallbackInvalid):
        adapter.tracking_callback_verify(body, resigned)
    with pytest.raises(TrackingCallbackInvalid) as unsigned:
        adapter.tracking_callback_verify(body, {})
    assert unsigned.value.code == "missing_signature"


def test_old_timestamp_is_refused(postal_service, callback_receiver):
    adapter = postal_service.client()
    adapter.waybill_create(**parcel(callback_url=callback_receiver.url))
    (headers, body), *_ = callback_receiver.wait(1)
    old = str(int(time.time()) - 3600)
    nonce = secrets.token_hex(16)
    replayed = dict(headers)
    for name in list(replayed):
        if name.lower() in {"x-timestamp", "x-nonce", "x-signature"}:
            del replayed[name]
    key = postal_service.key.encode()
    replayed |= {"X-Timestamp": old, "X-Nonce": nonce, "X-Signature": sign(key, old, nonce, body)}
    with pytest.raises(TrackingCallbackInvalid) as refused:
        adapter.tracking_callback_verify(body, replayed)
    assert refused.value.code == "stale_timestamp"


def test_signed_callback_with_a_bad_body_is_refused(postal_service):
    adapter = postal_service.client()
    body = b'{"events": [{"kind": "teleported"}]}'
    nonce, now = "n1", str(int(time.time()))
    headers = {
        "X-Merchant-Id": postal_service.customer_id,
        "X-Timestamp": now,
        "X-Nonce": nonce,
        "X-Signature": sign(postal_service.key.encode(), now, nonce, body),
    }
    with pytest.raises(TrackingCallbackInvalid) as refused:
        adapter.tracking_callback_verify(body, headers)
    assert refused.value.code == "bad_body"
