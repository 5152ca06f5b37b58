"""Payment gateway (支付平台) adapter against the fake gateway running as a real subprocess."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from jiaoguan.integrations.payment_gateway import (
    CallbackSignatureInvalid,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    HttpPaymentGateway,
    PaymentGateway,
    get_payment_gateway,
    request_message,
    sign,
    signed_headers,
    verify,
)

RETURN_URL = "http://127.0.0.1:8000/payments/return?fine=1"


def _order_no() -> str:
    return "T" + secrets.token_hex(8)


def _create(client: PaymentGateway, *, amount_fen: int = 20000, notify_url: str = "http://127.0.0.1:9/n"):
    out_trade_no = _order_no()
    order = client.create_order(
        out_trade_no=out_trade_no,
        amount_fen=amount_fen,
        subject="交通违法罚款 Traffic fine",
        notify_url=notify_url,
        return_url=RETURN_URL,
    )
    return order


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _fetch(url: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """A browser's request without following redirects."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=5) as response:
            return response.status, dict(response.headers.items()), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read().decode()


# --- signing --------------------------------------------------------------------------------------


def test_sign_verify_round_trip_and_tampering():
    key, ts, nonce, body = b"k" * 32, "1767225600", "abc123", b'{"amount_fen": 20000}'
    signature = sign(key, ts, nonce, body)
    assert len(signature) == 64 and int(signature, 16) >= 0
    assert verify(key, ts, nonce, body, signature)
    assert verify(key, ts, nonce, body, signature.upper())
    assert not verify(key, ts, nonce, b'{"amount_fen": 20001}', signature)
    assert not verify(key, "1767225601", nonce, body, signature)
    assert not verify(key, ts, "abc124", body, signature)
    assert not verify(b"x" * 32, ts, nonce, body, signature)
    assert not verify(key, ts, nonce, body, signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    assert not verify(key, ts, nonce, body, "")
    assert not verify(key, ts, nonce, body, "签名")


# --- orders ---------------------------------------------------------------------------------------


def test_settings_are_read_when_the_client_is_built(payment_gateway, settings):
    assert isinstance(payment_gateway.client(), HttpPaymentGateway)
    assert payment_gateway.client().base_url == payment_gateway.url
    settings.PAYMENT_GATEWAY_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        get_payment_gateway()


def test_create_is_idempotent_and_refuses_another_amount(payment_gateway):
    client = payment_gateway.client()
    order = _create(client)
    assert order.trade_state == "NOTPAY"
    assert order.pay_url.startswith(f"{payment_gateway.url}/pay/test-merchant/{order.out_trade_no}?t=")
    again = client.create_order(
        out_trade_no=order.out_trade_no,
        amount_fen=20000,
        subject="交通违法罚款 Traffic fine",
        notify_url="http://127.0.0.1:9/n",
        return_url=RETURN_URL,
    )
    assert again == order
    with pytest.raises(GatewayRejected) as refused:
        client.create_order(
            out_trade_no=order.out_trade_no,
            amount_fen=20001,
            subject="x",
            notify_url="http://127.0.0.1:9/n",
            return_url=RETURN_URL,
        )
    assert refused.value.code == "amount_mismatch"
    with pytest.raises(GatewayRejected) as unknown:
        client.query_order(out_trade_no="never-created")
    assert unknown.value.code == "not_found"


def test_query_shows_the_charge_after_payment(payment_gateway):
    client = payment_gateway.client()
    order = _create(client)
    before = client.query_order(out_trade_no=order.out_trade_no)
    assert (before.trade_state, before.amount_fen, before.charges, before.refunded_fen) == (
        "NOTPAY",
        20000,
        (),
        0,
    )
    paid = payment_gateway.pay(order.out_trade_no)
    after = client.query_order(out_trade_no=order.out_trade_no)
    assert after == paid
    assert after.trade_state == "SUCCESS"
    [charge] = after.charges
    assert charge.amount_fen == 20000 and charge.trade_no
    assert charge.paid_at.utcoffset() is not None
    with pytest.raises(GatewayRejected) as again:
        payment_gateway.pay(order.out_trade_no)
    assert again.value.code == "already_paid"


def test_close_before_and_after_payment(payment_gateway):
    client = payment_gateway.client()
    unpaid = _create(client)
    assert client.close_order(out_trade_no=unpaid.out_trade_no).trade_state == "CLOSED"
    assert client.close_order(out_trade_no=unpaid.out_trade_no).trade_state == "CLOSED"
    with pytest.raises(GatewayRejected) as closed:
        payment_gateway.pay(unpaid.out_trade_no)
    assert closed.value.code == "closed"

    paid = _create(client)
    payment_gateway.pay(paid.out_trade_no)
    with pytest.raises(GatewayRejected) as refused:
        client.close_order(out_trade_no=paid.out_trade_no)
    assert refused.value.code == "already_paid"
    assert client.query_order(out_trade_no=paid.out_trade_no).trade_state == "SUCCESS"


def test_refunds_partial_full_exceeding_and_repeated(payment_gateway):
    client = payment_gateway.client()
    order = _create(client)
    trade_no = payment_gateway.pay(order.out_trade_no).charges[0].trade_no

    def refund(out_refund_no: str, amount_fen: int):
        return client.refund(
            out_trade_no=order.out_trade_no,
            trade_no=trade_no,
            out_refund_no=out_refund_no,
            amount_fen=amount_fen,
            reason="撤销处罚 decision revoked",
        )

    first = refund("R1", 5000)
    assert (first.out_refund_no, first.amount_fen, first.state) == ("R1", 5000, "SUCCESS")
    assert refund("R1", 5000) == first  # repeated: same refund, no second payout
    trade = client.query_order(out_trade_no=order.out_trade_no)
    assert (trade.trade_state, trade.refunded_fen) == ("SUCCESS", 5000)

    with pytest.raises(GatewayRejected) as exceeds:
        refund("R2", 15001)
    assert exceeds.value.code == "refund_exceeds"
    with pytest.raises(GatewayRejected) as mismatch:
        refund("R1", 6000)
    assert mismatch.value.code == "refund_mismatch"

    rest = refund("R3", 15000)
    assert rest.refund_no != first.refund_no
    trade = client.query_order(out_trade_no=order.out_trade_no)
    assert (trade.trade_state, trade.refunded_fen) == ("REFUND", 20000)
    with pytest.raises(GatewayRejected) as nothing_left:
        refund("R4", 1)
    assert nothing_left.value.code == "refund_exceeds"


def test_statement_lists_charges_and_refunds_of_the_day(payment_gateway):
    client = payment_gateway.client()
    order = _create(client, amount_fen=15050)
    other = _create(client, amount_fen=20000)
    [charge] = payment_gateway.pay(order.out_trade_no).charges
    payment_gateway.pay(other.out_trade_no)
    client.refund(
        out_trade_no=order.out_trade_no,
        trade_no=charge.trade_no,
        out_refund_no="RS1",
        amount_fen=50,
        reason="x",
    )
    day = client.query_order(out_trade_no=other.out_trade_no).charges[0].paid_at.date()
    lines = client.statement(day=charge.paid_at.date())
    mine = [line for line in lines if line.out_trade_no == order.out_trade_no]
    assert [(m.kind, m.trade_no, m.amount_fen, m.out_refund_no) for m in mine] == [
        ("charge", charge.trade_no, 15050, ""),
        ("refund", charge.trade_no, 50, "RS1"),
    ]
    assert mine[0].occurred_at == charge.paid_at
    assert {line.out_trade_no for line in client.statement(day=day)} >= {other.out_trade_no}
    assert client.statement(day=date(2001, 1, 1)) == []


def test_tampered_answers_are_refused(payment_gateway, tampering_proxy, settings):
    client = payment_gateway.client()
    order = _create(client, amount_fen=20000)
    [charge] = payment_gateway.pay(order.out_trade_no).charges
    settings.PAYMENT_GATEWAY_URL = tampering_proxy.url
    through_proxy = get_payment_gateway()
    assert through_proxy.query_order(out_trade_no=order.out_trade_no).trade_state == "SUCCESS"

    tampering_proxy.tamper = lambda body: body.replace(b",20000,", b",2000,")
    with pytest.raises(GatewayUnavailable) as statement:
        through_proxy.statement(day=charge.paid_at.date())
    assert statement.value.code == "bad_response_signature"

    tampering_proxy.tamper = lambda body: body.replace(b'"SUCCESS"', b'"NOTPAY"')
    with pytest.raises(GatewayUnavailable) as query:
        through_proxy.query_order(out_trade_no=order.out_trade_no)
    assert query.value.code == "bad_response_signature"


def test_duplicate_charge_charges_twice_with_two_callbacks(payment_gateway, callback_receiver):
    client = payment_gateway.client()
    order = _create(client, notify_url=callback_receiver.url)
    assert payment_gateway.configure(duplicate_charge=True)["duplicate_charge"] is True
    trade = payment_gateway.pay(order.out_trade_no)
    assert len(trade.charges) == 2 and trade.charges[0].trade_no != trade.charges[1].trade_no
    assert trade.trade_state == "SUCCESS"
    received = callback_receiver.wait(2)
    notices = [client.parse_callback(body=body, headers=headers) for headers, body in received]
    assert {n.trade_no for n in notices} == {c.trade_no for c in trade.charges}
    assert len({n.notify_id for n in notices}) == 2
    # One-shot: the next press is refused as usual.
    assert payment_gateway.control.behaviour()["duplicate_charge"] is False
    with pytest.raises(GatewayRejected):
        payment_gateway.pay(order.out_trade_no)

    # Armed after a normal payment, the next press charges the paid order again.
    second = _create(client)
    payment_gateway.pay(second.out_trade_no)
    payment_gateway.configure(duplicate_charge=True)
    assert len(payment_gateway.pay(second.out_trade_no).charges) == 2


# --- callbacks ------------------------------------------------------------------------------------


def test_callback_arrives_signed_and_parses(payment_gateway, callback_receiver):
    client = payment_gateway.client()
    order = _create(client, amount_fen=20000, notify_url=callback_receiver.url)
    [charge] = payment_gateway.pay(order.out_trade_no).charges
    [(headers, body)] = callback_receiver.wait(1)
    notice = client.parse_callback(body=body, headers=headers)
    assert (notice.out_trade_no, notice.trade_no, notice.trade_state, notice.amount_fen, notice.paid_at) == (
        order.out_trade_no,
        charge.trade_no,
        "SUCCESS",
        20000,
        charge.paid_at,
    )
    [logged] = payment_gateway.wait_for_callbacks(1, out_trade_no=order.out_trade_no)
    assert (logged["notify_id"], logged["attempt"], logged["status"], logged["error"]) == (
        notice.notify_id,
        1,
        200,
        "",
    )


def test_duplicate_callbacks_share_the_notify_id(payment_gateway, callback_receiver):
    client = payment_gateway.client()
    payment_gateway.configure(callback_duplicates=2)
    order = _create(client, notify_url=callback_receiver.url)
    payment_gateway.pay(order.out_trade_no)
    received = callback_receiver.wait(3)
    time.sleep(0.1)  # nothing beyond the three copies may follow
    assert len(callback_receiver.received) == 3
    notices = [client.parse_callback(body=body, headers=headers) for headers, body in received]
    assert len({n.notify_id for n in notices}) == 1
    assert len({headers["X-Nonce"] for headers, _ in received}) == 3  # each copy signed afresh


def test_dropped_callbacks_are_never_sent(payment_gateway, callback_receiver):
    client = payment_gateway.client()
    payment_gateway.configure(callback_drop_rate=1.0)
    order = _create(client, notify_url=callback_receiver.url)
    payment_gateway.pay(order.out_trade_no)
    [logged] = payment_gateway.wait_for_callbacks(1, out_trade_no=order.out_trade_no)
    assert logged["error"] == "dropped"
    time.sleep(0.3)
    assert callback_receiver.received == []


def test_callback_is_retried_until_the_receiver_says_success(payment_gateway, callback_receiver):
    client = payment_gateway.client()
    callback_receiver.answers = [(500, b"oops"), (200, b'{"code": "FAIL"}')]
    order = _create(client, notify_url=callback_receiver.url)
    payment_gateway.pay(order.out_trade_no)
    received = callback_receiver.wait(3)
    assert len({client.parse_callback(body=b, headers=h).notify_id for h, b in received}) == 1
    log = payment_gateway.wait_for_callbacks(3, out_trade_no=order.out_trade_no)
    assert [(c["attempt"], c["status"]) for c in log] == [(1, 500), (2, 200), (3, 200)]
    assert log[-1]["error"] == ""


def test_parse_callback_refuses_what_is_not_properly_signed():
    key, merchant = b"callback-key", "m1"
    client = HttpPaymentGateway(base_url="http://127.0.0.1:9", merchant_id=merchant, key=key)
    body = json.dumps(
        {
            "notify_id": "n1",
            "out_trade_no": "F1",
            "trade_no": "42001",
            "trade_state": "SUCCESS",
            "amount_fen": 20000,
            "paid_at": "2026-01-15T10:00:00+08:00",
        }
    ).encode()
    headers = signed_headers(merchant, key, body)
    assert client.parse_callback(body=body, headers=headers).amount_fen == 20000
    # Django's request.META spelling is understood too.
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    assert client.parse_callback(body=body, headers=meta).notify_id == "n1"

    def refused(body: bytes, headers: dict[str, str]) -> str:
        with pytest.raises(CallbackSignatureInvalid) as caught:
            client.parse_callback(body=body, headers=headers)
        return caught.value.code

    assert refused(body, {}) == "missing_signature"
    assert refused(body, signed_headers(merchant, b"another-key", body)) == "bad_signature"
    assert refused(body, signed_headers("m2", key, body)) == "wrong_merchant"
    assert refused(body.replace(b"20000", b"2"), headers) == "bad_signature"
    stale = str(int(time.time()) - 700)
    old = {**headers, "X-Timestamp": stale, "X-Signature": sign(key, stale, headers["X-Nonce"], body)}
    assert refused(body, old) == "stale_timestamp"
    float_amount = body.replace(b"20000", b"200.0")
    assert refused(float_amount, signed_headers(merchant, key, float_amount)) == "bad_body"


# --- failures -------------------------------------------------------------------------------------


def test_lost_answer_raises_timeout_yet_the_order_exists(payment_gateway, settings):
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 0.3
    payment_gateway.configure(timeout_rate=1.0, timeout_sleep_ms=700)
    out_trade_no = _order_no()
    started = time.monotonic()
    with pytest.raises(GatewayTimeout):
        payment_gateway.client().create_order(
            out_trade_no=out_trade_no,
            amount_fen=20000,
            subject="罚款",
            notify_url="http://127.0.0.1:9/n",
            return_url=RETURN_URL,
        )
    assert time.monotonic() - started < 3
    payment_gateway.configure(timeout_rate=0.0)
    trade = payment_gateway.client().query_order(out_trade_no=out_trade_no)
    assert (trade.trade_state, trade.amount_fen) == ("NOTPAY", 20000)


def test_gateway_errors_raise_unavailable_and_change_nothing(payment_gateway):
    payment_gateway.configure(error_rate=1.0)
    out_trade_no = _order_no()
    with pytest.raises(GatewayUnavailable) as caught:
        payment_gateway.client().create_order(
            out_trade_no=out_trade_no,
            amount_fen=20000,
            subject="罚款",
            notify_url="http://127.0.0.1:9/n",
            return_url=RETURN_URL,
        )
    assert not isinstance(caught.value, GatewayTimeout)
    assert caught.value.code == "server_error"
    payment_gateway.configure(error_rate=0.0)
    with pytest.raises(GatewayRejected) as missing:
        payment_gateway.client().query_order(out_trade_no=out_trade_no)
    assert missing.value.code == "not_found"


def test_unreachable_gateway_is_unavailable_not_timeout():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HttpPaymentGateway(base_url=f"http://127.0.0.1:{port}", merchant_id="m", key="k", retries=1)
    with pytest.raises(GatewayUnavailable) as caught:
        client.query_order(out_trade_no="F1")
    assert type(caught.value) is GatewayUnavailable and caught.value.code == "unreachable"


def test_gateway_refuses_unsigned_replayed_and_wrongly_keyed_requests(payment_gateway):
    url = f"{payment_gateway.url}/api/orders/F1"
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(url, timeout=5)
    assert unsigned.value.code == 401
    assert json.loads(unsigned.value.read())["code"] == "bad_signature"

    headers = signed_headers(
        payment_gateway.merchant_id,
        payment_gateway.key.encode(),
        request_message("GET", "/api/orders/F1", b""),
    )
    with pytest.raises(urllib.error.HTTPError) as first:
        urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5)
    assert first.value.code == 404  # accepted, and there is no such order
    with pytest.raises(urllib.error.HTTPError) as replayed:
        urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5)
    assert replayed.value.code == 401

    wrong_key = HttpPaymentGateway(
        base_url=payment_gateway.url, merchant_id=payment_gateway.merchant_id, key="wrong"
    )
    with pytest.raises(GatewayUnavailable) as caught:
        wrong_key.query_order(out_trade_no="F1")
    # The gateway's refusal is signed with the real key, which this client cannot check.
    assert caught.value.code == "bad_response_signature"


# --- the payer's page -----------------------------------------------------------------------------


def test_pay_page_needs_its_token_and_pays_or_cancels(payment_gateway):
    client = payment_gateway.client()
    order = client.create_order(
        out_trade_no=_order_no(),
        amount_fen=20000,
        subject="罚款 <b>Fine</b>",
        notify_url="http://127.0.0.1:9/n",
        return_url=RETURN_URL,
    )
    bare = order.pay_url.split("?")[0]
    assert _fetch(bare)[0] == 403
    assert _fetch(bare + "?t=" + "0" * 32)[0] == 403
    assert _fetch(bare + "?t=" + "0" * 32, {"action": "pay"})[0] == 403

    status, headers, page = _fetch(order.pay_url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "¥200.00" in page and "test-merchant" in page
    assert "罚款 &lt;b&gt;Fine&lt;/b&gt;" in page
    assert 'id="pay-confirm"' in page and 'id="pay-cancel"' in page and "确认支付 Pay" in page

    status, headers, _ = _fetch(order.pay_url, {"action": "cancel"})
    assert status == 303
    back = urllib.parse.urlsplit(headers["Location"])
    assert urllib.parse.parse_qs(back.query) == {
        "fine": ["1"],
        "out_trade_no": [order.out_trade_no],
        "result": ["cancel"],
    }
    assert client.query_order(out_trade_no=order.out_trade_no).trade_state == "NOTPAY"

    status, headers, _ = _fetch(order.pay_url, {"action": "pay"})
    assert status == 303
    assert headers["Location"] == f"{RETURN_URL}&out_trade_no={order.out_trade_no}"
    assert client.query_order(out_trade_no=order.out_trade_no).trade_state == "SUCCESS"

    status, _, page = _fetch(order.pay_url, {"action": "pay"})
    assert status == 409 and "already paid" in page
    assert len(client.query_order(out_trade_no=order.out_trade_no).charges) == 1
    assert 'id="pay-confirm"' not in _fetch(order.pay_url)[2]


def test_pay_page_refuses_a_closed_order(payment_gateway):
    client = payment_gateway.client()
    order = _create(client)
    client.close_order(out_trade_no=order.out_trade_no)
    status, _, page = _fetch(order.pay_url)
    assert status == 200 and "closed" in page and 'id="pay-confirm"' not in page
    assert _fetch(order.pay_url, {"action": "pay"})[0] == 409
    assert client.query_order(out_trade_no=order.out_trade_no).charges == ()


# --- processes ------------------------------------------------------------------------------------


def test_state_file_survives_a_restart(start_fake_payment_gateway, tmp_path):
    state = tmp_path / "gateway.json"
    key = secrets.token_hex(32)
    first = start_fake_payment_gateway("--state", str(state), key=key)
    client = HttpPaymentGateway(base_url=first.url, merchant_id=first.merchant_id, key=key)
    order = _create(client)
    [charge] = first.control.pay(order.out_trade_no).charges
    client.refund(
        out_trade_no=order.out_trade_no,
        trade_no=charge.trade_no,
        out_refund_no="RR1",
        amount_fen=100,
        reason="x",
    )
    first.stop()

    second = start_fake_payment_gateway("--state", str(state), key=key)
    client = HttpPaymentGateway(base_url=second.url, merchant_id=second.merchant_id, key=key)
    trade = client.query_order(out_trade_no=order.out_trade_no)
    assert (trade.trade_state, trade.charges, trade.refunded_fen) == ("SUCCESS", (charge,), 100)


def test_server_module_runs_without_django():
    code = (
        "import sys, jiaoguan.integrations.fake_payment_gateway; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = src
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=30).returncode == 0


def test_management_command_uses_the_installation_key(tmp_path):
    data_dir = tmp_path / "data"
    port_file = tmp_path / "port"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAOGUAN_PAYMENT")}
    env.update(
        JIAOGUAN_DATA_DIR=str(data_dir),
        JIAOGUAN_DEMO="1",
        PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"),
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jiaoguan.cli",
            "fake_payment_gateway",
            "--port",
            "0",
            "--port-file",
            str(port_file),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "the command did not start"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{int(port_file.read_text())}"
        key = (data_dir / "payment_gateway_key").read_text().strip()
        assert len(key) == 64
        assert (data_dir / "payment_gateway_key").stat().st_mode & 0o077 == 0
        client = HttpPaymentGateway(base_url=url, merchant_id="jiaoguan-demo", key=key)
        order = _create(client)
        assert order.pay_url.startswith(url + "/pay/jiaoguan-demo/")
        assert (data_dir / "fake_payment_gateway.json").exists()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
