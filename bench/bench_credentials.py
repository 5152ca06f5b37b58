"""Benchmark: electronic credentials (verification, the verify endpoint, bulk issue, QR size).

    .venv/bin/python bench/bench_credentials.py                 # everything, full size
    .venv/bin/python bench/bench_credentials.py --quick         # small run, under a minute
    .venv/bin/python bench/bench_credentials.py --parts verify,qr
    .venv/bin/python bench/bench_credentials.py --pg postgresql://postgres@127.0.0.1:5432/

Four parts, each printed as a table:

verify  Verification in one process with no database, end to end from QR text to verdict:
        ``verify.verify_offline`` with a parsed trust list and a signed status list, and
        ``token.decode_and_verify`` alone, as operations per second and as a ratio to the raw
        signature check of the same library in the same run (``Algorithm.verify`` on the
        token's own Sig_structure bytes). Target: ratio >= 0.5. ES256, EdDSA and SM2 (when
        ``tongsuopy`` is installed). Each figure is the best of several interleaved rounds.
        A second table shows how long the signed status list gets as credentials stop being
        valid, against ``token.MAX_TOKEN_CHARS``.
http    ``POST /api/v1/credentials/verify`` under load on PostgreSQL. A fresh database is
        migrated and filled (``generate_demo``, ``inspection_marks_bulk_issue``, offline
        tokens), then gunicorn serves it with production settings (2 sync workers,
        JIAOGUAN_DEMO=0, no debug) and a separate load-generator process posts valid and
        invalid tokens over loopback from a fixed number of threads for a fixed time.
        Requests/s, latency p50/p99, errors, and where the CPU went during the window.
bulk    ``inspection_marks_bulk_issue`` for ``--vehicles`` vehicles on PostgreSQL and SQLite
        (demo persons = vehicles / 0.8), then one OFFLINE token per credential for
        ``--tokens`` of them, with the per-token cost of finding the key and of signing.
qr      Token length and QR version at error correction M of a driving licence (DL1: four-
        character name, classes A2D, remark M3) and an inspection mark (VI1) in every display
        mode. Target: version <= 10.

Database parts run in subprocesses with their own temporary ``JIAOGUAN_DATA_DIR`` (keys
included) and a fresh database that is dropped afterwards; whatever database a URL names
is left alone. Load goes to 127.0.0.1 only. Exits 0 when every requested part produced
figures, whether or not the targets are met.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

RESULT_PREFIX = "BENCH-RESULT "
HTTP_DATABASE = "jiaoguan_bench_cred"
BULK_DATABASE = "jiaoguan_bench_cred_bulk"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/"
VERIFY_PATH = "/api/v1/credentials/verify"
PARTS = ("verify", "qr", "http", "bulk")
VEHICLES_PER_PERSON = 0.8  # what generate_demo gives, roughly
RATIO_TARGET = 0.5
QR_VERSION_TARGET = 10


# --------------------------------------------------------------------------- helpers


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "pgsql", "postgis"}


def _pg_recreate(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return _with_database(server_url, name)


def _pg_drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _django_env(data_dir: str, database_url: str | None) -> dict[str, str]:
    """Environment of a Django subprocess: production switches, keys in the temporary folder."""
    env = dict(os.environ)
    for name in (
        "DATABASE_URL",
        "JIAOGUAN_DEBUG",
        "JIAOGUAN_CREDENTIAL_PRIVATE_KEY",
        "JIAOGUAN_CREDENTIAL_KID",
        "JIAOGUAN_CREDENTIAL_AUTO_KEY",
        "JIAOGUAN_CREDENTIAL_ALG",
    ):
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "jiaoguan.settings"
    env["JIAOGUAN_DATA_DIR"] = data_dir
    env["JIAOGUAN_CREDENTIAL_KEY_DIR"] = str(Path(data_dir) / "keys")
    env["JIAOGUAN_DEMO"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH", "")]))
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _run_worker(
    label: str, kind: str, spec: dict[str, Any], env: dict[str, str], timeout: float
) -> dict | None:
    """Run ``--worker kind`` in a subprocess; return the JSON it reports, or None (and say why)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--spec", json.dumps(spec)]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, cwd=ROOT, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        print(f"{label}: timed out after {timeout:.0f} s\n{stderr[-3000:]}", file=sys.stderr)
        return None
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    print(
        f"{label}: failed (exit {done.returncode})\n{done.stdout[-2000:]}{done.stderr[-4000:]}",
        file=sys.stderr,
    )
    return None


def _report(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _index_bytes(index: int) -> bytes:
    """As ``services._index_bytes``: the credential number as the CWT id (services needs Django)."""
    return index.to_bytes(max(1, (index.bit_length() + 7) // 8), "big")


def _algorithms() -> list[Any]:
    from jiaoguan.credentials.crypto import Ed25519, Es256

    found: list[Any] = [Es256(), Ed25519()]
    try:
        from jiaoguan.credentials.sm2 import Sm2Sm3
    except ImportError:
        pass
    else:
        found.append(Sm2Sm3())
    return found


# --------------------------------------------------------------------------- part 1: verify


def _rate(call: Any, seconds: float) -> float:
    """Calls per second of ``call`` over at least ``seconds`` (batches of growing size)."""
    call()
    done = 0
    batch = 16
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            call()
        done += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed
        batch = min(batch * 2, 4096)


def _status_list(*, signer: Any, private_pem: bytes, kid: bytes, size: int, share: float, now: int) -> str:
    """A signed SL1 token over ``size`` credentials of which ``share`` are not valid."""
    from jiaoguan.credentials import token as tok
    from jiaoguan.credentials.verify import pack_status_bits

    rng = random.Random(size * 1000 + int(share * 1e6))
    statuses = {i: rng.choice((1, 2, 3, 3, 3)) for i in range(1, size) if rng.random() < share}
    return tok.encode(
        schema=tok.STATUS_LIST,
        data={"bits": pack_status_bits(statuses, size), "size": size, "issuer": "CN-411700"},
        credential_id=os.urandom(16),
        issuer="CN-411700",
        issued_at=now - 600,
        expires_at=now + 24 * 3600,
        mode=tok.DisplayMode.OFFLINE,
        nonce=None,
        kid=kid,
        alg=signer.alg,
        sign=lambda data: signer.sign(private_pem, data),
    )


def _mark_token(*, signer: Any, private_pem: bytes, kid: bytes, index: int, now: int) -> str:
    from jiaoguan.credentials import token as tok

    return tok.encode(
        schema=tok.INSPECTION_MARK,
        data={
            "plate": "豫Q12345",
            "plate_type": "02",
            "vin_tail": "012345",
            "kind": "K33",
            "use": "A",
            "valid_until": tok.date_int(date.today() + timedelta(days=200)),
            "owner": "张*",
            "exempt": 0,
        },
        credential_id=_index_bytes(index),
        issuer="",
        issued_at=now - 600,
        expires_at=now + 7 * 24 * 3600,
        mode=tok.DisplayMode.OFFLINE,
        nonce=None,
        kid=kid,
        alg=signer.alg,
        sign=lambda data: signer.sign(private_pem, data),
    )


def _verify_one(signer: Any, args: argparse.Namespace, now: int, index: int) -> dict[str, Any]:
    """All figures of one algorithm; every closure below reads this call's own locals."""
    import base45
    import cbor2

    from jiaoguan.credentials import token as tok
    from jiaoguan.credentials.crypto import PublicKey
    from jiaoguan.credentials.verify import (
        parse_trust_list,
        status_from_bits,
        trust_list_json,
        verify_offline,
    )

    private_pem = signer.generate_private_pem()
    kid = os.urandom(4)
    # A trust list as verifiers download it: this key and a retired key of each other algorithm.
    published = [PublicKey(kid, signer.alg, signer.public_der(private_pem), now - 86_400, None)]
    for other in _algorithms():
        if other.alg != signer.alg:
            pem = other.generate_private_pem()
            published.append(
                PublicKey(os.urandom(4), other.alg, other.public_der(pem), now - 90 * 86_400, now + 86_400)
            )
    trust = parse_trust_list(trust_list_json(published))
    status_list = _status_list(
        signer=signer,
        private_pem=private_pem,
        kid=kid,
        size=args.status_size,
        share=args.status_share,
        now=now,
    )
    text = _mark_token(signer=signer, private_pem=private_pem, kid=kid, index=index, now=now)

    # The exact bytes decode_and_verify hands to the signature check.
    protected, _unprotected, payload, signature = cbor2.loads(base45.b45decode(text.split(":", 1)[1])).value
    sig_structure = tok._sig_structure(protected, payload)
    public_der = trust[kid].public_der

    verdict = verify_offline(text, trust=trust, status_list=status_list, now=now)
    if not verdict.valid or verdict.status != "valid":
        raise RuntimeError(
            f"{signer.name}: offline verdict {verdict.reason} (status list {len(status_list)} chars)"
        )
    assert signer.verify(public_der, sig_structure, signature)
    listed = tok.decode_and_verify(status_list, keys=trust.get, now=now)
    bits, size = bytes(listed.data["bits"]), int(listed.data["size"])
    mark_body, list_body = text.split(":", 1)[1], status_list.split(":", 1)[1]

    calls = {
        "raw": lambda: signer.verify(public_der, sig_structure, signature),
        "decode": lambda: tok.decode_and_verify(text, keys=trust.get, now=now),
        "offline": lambda: verify_offline(text, trust=trust, status_list=status_list, now=now),
        "offline_nosl": lambda: verify_offline(text, trust=trust, status_list=None, now=now),
        # Pieces of verify_offline, for the breakdown.
        "b45_mark": lambda: base45.b45decode(mark_body),
        "sl_decode": lambda: tok.decode_and_verify(status_list, keys=trust.get, now=now),
        "b45_sl": lambda: base45.b45decode(list_body),
        "bits": lambda: status_from_bits(bits, size, index),
    }
    best = dict.fromkeys(calls, 0.0)
    for _ in range(args.rounds):  # interleaved, so drift and other load hit every figure alike
        for name, call in calls.items():
            best[name] = max(best[name], _rate(call, args.verify_seconds))
    return {"alg": signer.name, "token_chars": len(text), "status_list_chars": len(status_list), **best}


def part_verify(args: argparse.Namespace) -> dict[str, Any]:
    from jiaoguan.credentials.crypto import PublicKey
    from jiaoguan.credentials.verify import verify_offline

    now = int(time.time())
    index = max(1, args.status_size - 25_000)  # a credential well inside the status list
    rows = [_verify_one(signer, args, now, index) for signer in _algorithms()]

    # How long the status list gets as more credentials are not valid, at the configured size.
    signer = _algorithms()[0]
    private_pem = signer.generate_private_pem()
    kid = os.urandom(4)
    trust = {kid: PublicKey(kid, signer.alg, signer.public_der(private_pem), now - 86_400, None)}
    text = _mark_token(signer=signer, private_pem=private_pem, kid=kid, index=index, now=now)
    sizes = []
    for share in (0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.2):
        listed = _status_list(
            signer=signer, private_pem=private_pem, kid=kid, size=args.status_size, share=share, now=now
        )
        verdict = verify_offline(text, trust=trust, status_list=listed, now=now)
        sizes.append({"share": share, "chars": len(listed), "reason": verdict.reason})
    return {"rows": rows, "status_sizes": sizes, "status_size": args.status_size, "index": index}


def print_verify(result: dict[str, Any], args: argparse.Namespace) -> None:
    from jiaoguan.credentials.token import MAX_TOKEN_CHARS

    print()
    print(
        f"1. Verification in one process, no database (best of {args.rounds} interleaved rounds of "
        f">= {args.verify_seconds:g} s; VI1 token, status list over {result['status_size']:,} credentials "
        f"with {args.status_share:.1%} not valid, credential #{result['index']:,})"
    )
    header = (
        f"{'alg':<9}{'token':>6}{'SL chars':>9}{'raw verify/s':>14}{'decode_and_verify/s':>21}{'ratio':>7}"
        f"{'verify_offline/s':>18}{'ratio':>7}{'  same, no status list/s':>25}{'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in result["rows"]:
        raw = r["raw"]
        print(
            f"{r['alg']:<9}{r['token_chars']:>6}{r['status_list_chars']:>9}{raw:>14,.0f}"
            f"{r['decode']:>21,.0f}{r['decode'] / raw:>7.2f}{r['offline']:>18,.0f}{r['offline'] / raw:>7.2f}"
            f"{r['offline_nosl']:>25,.0f}{r['offline_nosl'] / raw:>7.2f}"
        )
    print(
        f"target: ratio >= {RATIO_TARGET}; raw verify = Algorithm.verify on the token's own Sig_structure bytes"
    )
    print()
    print(
        "   Where the time goes, microseconds per call (verify_offline = status list check + mark check + lookup):"
    )
    header = (
        f"   {'alg':<9}{'verify_offline':>15}{'raw verify':>12}{'mark: decode_and_verify':>25}{'of it base45':>14}"
        f"{'status list: decode_and_verify':>32}{'of it base45':>14}{'status_from_bits':>18}"
    )
    print(header)
    for r in result["rows"]:
        us = {k: 1e6 / r[k] for k in ("offline", "raw", "decode", "b45_mark", "sl_decode", "b45_sl", "bits")}
        print(
            f"   {r['alg']:<9}{us['offline']:>15.0f}{us['raw']:>12.0f}{us['decode']:>25.0f}{us['b45_mark']:>14.0f}"
            f"{us['sl_decode']:>32.0f}{us['b45_sl']:>14.0f}{us['bits']:>18.0f}"
        )
    print()
    print(
        f"   Signed status list over {result['status_size']:,} credentials (ES256) against "
        f"MAX_TOKEN_CHARS = {MAX_TOKEN_CHARS:,}:"
    )
    print(f"   {'not valid':>10}{'SL1 chars':>11}  verify_offline of a valid mark")
    for s in result["status_sizes"]:
        print(f"   {s['share']:>10.1%}{s['chars']:>11,}  {s['reason']}")


# --------------------------------------------------------------------------- part 4: qr


def part_qr(args: argparse.Namespace) -> dict[str, Any]:
    from jiaoguan.credentials import token as tok
    from jiaoguan.credentials.render import qr_version

    now = int(time.time())
    today = date.today()
    # As services._licence_data builds it: masked ID number (first 6 + last 4), 12-digit archive
    # number, division code as the office; the longest common Chinese name length.
    licence = {
        "name": "欧阳振华",
        "number": "411702345X",
        "archive": 411700012345,
        "classes": "A2D",
        "valid_from": tok.date_int(date(2020, 3, 15)),
        "valid_until": tok.date_int(date(2030, 3, 15)),
        "first_issued": tok.date_int(date(2014, 3, 15)),
        "remarks": ["M3"],
        "office": 411702,
    }
    mark = {
        "plate": "豫Q12345D",  # new-energy plates have 8 characters
        "plate_type": "52",
        "vin_tail": "012345",
        "kind": "K33",
        "use": "A",
        "valid_until": tok.date_int(today + timedelta(days=700)),
        "owner": "欧**华",
        "exempt": 1,
    }
    lifetimes = {
        tok.DisplayMode.ONLINE: 180,
        tok.DisplayMode.OFFLINE: 7 * 86_400,
        tok.DisplayMode.PRINTED: 366 * 86_400,
    }
    rows = []
    for signer in _algorithms():
        private_pem = signer.generate_private_pem()
        kid = os.urandom(4)  # keys.key_create: 4 bytes
        for schema, data in ((tok.DRIVING_LICENCE, licence), (tok.INSPECTION_MARK, mark)):
            for mode, seconds in lifetimes.items():
                text = tok.encode(
                    schema=schema,
                    data=data,
                    credential_id=_index_bytes(args.qr_index),
                    issuer="",
                    issued_at=now,
                    expires_at=now + seconds,
                    mode=mode,
                    nonce=os.urandom(8) if mode == tok.DisplayMode.ONLINE else None,
                    kid=kid,
                    alg=signer.alg,
                    sign=lambda b, s=signer, k=private_pem: s.sign(k, b),
                )
                rows.append(
                    {
                        "kind": schema.prefix,
                        "alg": signer.name,
                        "mode": tok.DisplayMode.NAMES[mode],
                        "chars": len(text),
                        "version": qr_version(text),
                    }
                )
    return {"rows": rows, "index": args.qr_index}


def print_qr(result: dict[str, Any]) -> None:
    print()
    print(
        f"4. QR size at error correction M (credential #{result['index']:,}, 4-byte key id; "
        "DL1: name 欧阳振华, classes A2D, remarks [M3])"
    )
    header = f"{'kind':<6}{'alg':<9}{'mode':<9}{'chars':>7}{'QR version':>12}{'target <= 10':>14}"
    print(header)
    print("-" * len(header))
    for r in result["rows"]:
        ok = "ok" if r["version"] <= QR_VERSION_TARGET else "MISSED"
        print(f"{r['kind']:<6}{r['alg']:<9}{r['mode']:<9}{r['chars']:>7}{r['version']:>12}{ok:>14}")
    print("version 10-M holds 311 alphanumeric characters")


# --------------------------------------------------------------------------- part 2: http


def worker_http_setup(spec: dict[str, Any]) -> None:
    """Subprocess: migrate, demo data, marks, tokens; write the request bodies to a file."""
    import django

    django.setup()
    import base45
    import cbor2
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from jiaoguan.credentials import keys, services
    from jiaoguan.credentials import token as tok
    from jiaoguan.credentials.models import Credential
    from jiaoguan.demo.generate import generate_demo

    today = timezone.localdate()
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    counts = generate_demo(persons=spec["persons"], seed=spec["seed"], today=today)
    keys.key_create(alg=spec["alg"])
    marks = services.inspection_marks_bulk_issue(today=today)
    credentials = list(
        Credential.objects.filter(status="valid").order_by("pk")[: spec["tokens"] + spec["revoked"]]
    )
    now = timezone.now()
    tokens = [
        services.credential_token(credential=c, mode=tok.DisplayMode.OFFLINE, now=now)[0] for c in credentials
    ]
    valid, revoked = tokens[: spec["tokens"]], tokens[spec["tokens"] :]
    # Signed, but the credential has since been revoked: found out only by the database lookup.
    Credential.objects.filter(pk__in=[c.pk for c in credentials[spec["tokens"] :]]).update(status="revoked")

    def forged(text: str) -> str:
        prefix, body = text.split(":", 1)
        message = cbor2.loads(base45.b45decode(body))
        protected, unprotected, payload, signature = message.value
        signature = bytes([signature[0] ^ 1]) + signature[1:]
        raw = cbor2.dumps(cbor2.CBORTag(tok.COSE_SIGN1_TAG, [protected, unprotected, payload, signature]))
        return f"{prefix}:{base45.b45encode(raw).decode('ascii')}"

    rng = random.Random(spec["seed"])
    bad_signature = [forged(t) for t in valid[:50]]
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    garbage = ["VI1:" + "".join(rng.choice(alphabet) for _ in range(len(valid[0]) - 4)) for _ in range(20)]
    garbage += ["HC1:" + t.split(":", 1)[1] for t in valid[:10]]  # someone else's prefix
    bodies = {"valid": valid, "revoked": revoked, "bad_signature": bad_signature, "garbage": garbage}
    Path(spec["out"]).write_text(json.dumps(bodies), encoding="utf-8")

    # The same work in this process, to split the server's time: the service alone (signature,
    # trust-list cache, one status query) and the whole Django stack without gunicorn and TCP.
    from django.test import Client

    sample = valid[:50]
    cycle = iter(range(1 << 62))
    services.credential_verify(text=sample[0])
    service_rate = _rate(lambda: services.credential_verify(text=sample[next(cycle) % len(sample)]), 2.0)
    client = Client()
    payloads = [json.dumps({"text": t}) for t in sample]

    def post() -> None:
        response = client.post(
            VERIFY_PATH, payloads[next(cycle) % len(payloads)], content_type="application/json"
        )
        assert response.status_code == 200, response.content[:200]

    client_rate = _rate(post, 2.0)
    _report(
        {
            "server": f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}",
            "persons": counts["persons"],
            "vehicles": counts["vehicles"],
            "marks": marks,
            "tokens": len(valid),
            "token_chars": statistics.median(len(t) for t in valid),
            "seconds": time.perf_counter() - started,
            "service_ms": 1000 / service_rate,
            "client_ms": 1000 / client_rate,
        }
    )


def _cpu_snapshot(master_pid: int) -> dict[str, float]:
    """CPU seconds so far: whole machine busy/total, gunicorn workers, postgres processes."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    workers = postgres = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                raw = handle.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        ppid, cpu = int(rest[1]), (int(rest[11]) + int(rest[12])) / tick
        if ppid == master_pid or int(entry) == master_pid:
            workers += cpu
        elif name == "postgres" or name.startswith("postgres"):
            postgres += cpu
    return {
        "busy": (total - idle) / tick,
        "total": total / tick,
        "workers": workers,
        "postgres": postgres,
        "self": time.process_time(),
    }


def worker_loadgen(spec: dict[str, Any]) -> None:
    """Subprocess: N threads on keep-alive http.client connections for a fixed time."""
    import http.client

    bodies = json.loads(Path(spec["bodies"]).read_text(encoding="utf-8"))
    # Request mix: (body bytes, expected "valid", kind).
    rng = random.Random(spec["seed"])
    invalid_kinds = ["revoked", "bad_signature", "garbage"]
    pool: list[tuple[bytes, bool, str]] = []
    for _ in range(4000):
        if rng.random() < spec["invalid_share"]:
            kind = rng.choice(invalid_kinds)
            text, expect = rng.choice(bodies[kind]), False
        else:
            kind, text, expect = "valid", rng.choice(bodies["valid"]), True
        pool.append((json.dumps({"text": text}).encode(), expect, kind))

    host, port = "127.0.0.1", spec["port"]
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    warm_until = time.perf_counter() + spec["warmup"]
    end = warm_until + spec["duration"]
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0, "wrong_verdict": 0, "reconnects": 0}
    reasons: dict[str, int] = {}
    error_samples: list[str] = []

    def run(offset: int) -> None:
        local: list[float] = []
        local_counts = dict.fromkeys(counts, 0)
        local_reasons: dict[str, int] = {}
        conn = http.client.HTTPConnection(host, port, timeout=30)
        i = offset * 997
        while True:
            started = time.perf_counter()
            if started >= end:
                break
            body, expect, _kind = pool[i % len(pool)]
            i += 1
            try:
                conn.request("POST", VERIFY_PATH, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                will_close = response.will_close
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                if started >= warm_until:
                    local_counts["errors"] += 1
                    if len(error_samples) < 5:
                        error_samples.append(repr(exc))
                continue
            finished = time.perf_counter()
            if will_close:  # gunicorn's sync workers close after every response
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
            if started < warm_until or finished > end:
                continue
            local_counts["reconnects"] += will_close
            local.append(finished - started)
            if response.status != 200:
                local_counts["errors"] += 1
                if len(error_samples) < 5:
                    error_samples.append(f"HTTP {response.status}: {data[:200]!r}")
                continue
            verdict = json.loads(data)
            local_reasons[verdict["reason"]] = local_reasons.get(verdict["reason"], 0) + 1
            if verdict["valid"] is expect:
                local_counts["ok"] += 1
            else:
                local_counts["wrong_verdict"] += 1
        conn.close()
        with lock:
            latencies.extend(local)
            for k, v in local_counts.items():
                counts[k] += v
            for k, v in local_reasons.items():
                reasons[k] = reasons.get(k, 0) + v

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(spec["concurrency"])]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, warm_until - time.perf_counter()))
    before = _cpu_snapshot(spec["master_pid"])
    time.sleep(max(0.0, end - time.perf_counter()))
    after = _cpu_snapshot(spec["master_pid"])
    for thread in threads:
        thread.join(timeout=40)
    window = spec["duration"]
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")
        )

    cpu = {k: after[k] - before[k] for k in before}
    _report(
        {
            "requests": len(latencies),
            "rps": len(latencies) / window,
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
            **counts,
            "reasons": reasons,
            "error_samples": error_samples,
            "cpu": cpu,
            "window": window,
        }
    )


def part_http(args: argparse.Namespace, server_url: str) -> dict[str, Any] | None:
    data_dir = tempfile.mkdtemp(prefix="jiaoguan-bench-cred-")
    database_url = _pg_recreate(server_url, HTTP_DATABASE)
    server: subprocess.Popen | None = None
    log = None
    try:
        env = _django_env(data_dir, database_url)
        bodies = str(Path(data_dir) / "bodies.json")
        print(
            f"http: preparing {HTTP_DATABASE} ({args.http_persons:,} persons, {args.http_tokens} tokens) ...",
            flush=True,
        )
        setup = _run_worker(
            "http setup",
            "http-setup",
            {
                "persons": args.http_persons,
                "seed": args.seed,
                "tokens": args.http_tokens,
                "revoked": 20,
                "alg": args.alg,
                "out": bodies,
            },
            env,
            timeout=1800,
        )
        if setup is None:
            return None
        port = _free_port()
        log = open(Path(data_dir) / "gunicorn.log", "w+b")  # closed in the finally below
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "jiaoguan.wsgi:application",
                "--workers", str(args.workers),
                "--bind", f"127.0.0.1:{port}",
                "--timeout", "60",
            ],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        if not _wait_ready(port, server, timeout=60):
            log.seek(0)
            print(
                f"http: gunicorn did not come up\n{log.read().decode(errors='replace')[-3000:]}",
                file=sys.stderr,
            )
            return None
        print(
            f"http: {args.concurrency} connections for {args.duration:g} s (+{args.warmup:g} s warm-up) "
            f"against gunicorn on 127.0.0.1:{port} ...",
            flush=True,
        )
        load = _run_worker(
            "http load",
            "loadgen",
            {
                "port": port,
                "bodies": bodies,
                "concurrency": args.concurrency,
                "duration": args.duration,
                "warmup": args.warmup,
                "invalid_share": args.invalid_share,
                "seed": args.seed,
                "master_pid": server.pid,
            },
            dict(os.environ),
            timeout=args.duration + args.warmup + 120,
        )
        if load is None:
            return None
        return {"setup": setup, "load": load}
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)  # gunicorn master stops its workers
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)  # its own session: gunicorn master and workers only
                server.wait()
        if log is not None:
            log.close()
        try:
            _pg_drop(server_url, HTTP_DATABASE)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def _wait_ready(port: int, server: subprocess.Popen, timeout: float) -> bool:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                conn.close()
                return True
            conn.close()
        except OSError:
            pass
        time.sleep(0.3)
    return False


def print_http(result: dict[str, Any], args: argparse.Namespace) -> None:
    s, r = result["setup"], result["load"]
    print()
    print(
        f"2. POST {VERIFY_PATH} on {s['server']}: gunicorn {args.workers} sync workers, "
        f"{args.concurrency} client threads, {r['window']:g} s window after {args.warmup:g} s warm-up"
    )
    print(
        f"   data: {s['persons']:,} persons, {s['vehicles']:,} vehicles, {s['marks']:,} marks, "
        f"{s['tokens']} OFFLINE tokens (median {s['token_chars']:.0f} chars); "
        f"{args.invalid_share:.0%} of requests invalid (revoked / forged signature / garbage)"
    )
    header = f"{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}{'wrong verdict':>15}"
    print(header)
    print("-" * len(header))
    print(
        f"{r['requests']:>9,}{r['rps']:>9,.0f}{r['p50_ms']:>9.1f}{r['p90_ms']:>9.1f}{r['p99_ms']:>9.1f}"
        f"{r['max_ms']:>9.1f}{r['errors']:>8}{r['wrong_verdict']:>15}"
    )
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(r["reasons"].items(), key=lambda kv: -kv[1]))
    print(f"   verdicts: {reasons}")
    print(
        f"   connections closed by the server after a response: {r['reconnects']:,} (sync workers: no keep-alive)"
    )
    cpu, window = r["cpu"], r["window"]
    cores = cpu["total"] / window if window else 0
    other = cpu["busy"] - cpu["workers"] - cpu["postgres"] - cpu["self"]
    print(
        f"   CPU during the window (of {cores:.1f} cores): busy {cpu['busy'] / window:.2f}, "
        f"gunicorn workers {cpu['workers'] / window:.2f}, postgres {cpu['postgres'] / window:.2f}, "
        f"load generator {cpu['self'] / window:.2f}, rest (kernel, other processes) {other / window:.2f}"
    )
    if r["requests"]:
        print(
            f"   per request: gunicorn worker CPU {cpu['workers'] / r['requests'] * 1000:.2f} ms; in one process "
            f"without gunicorn: Django test client POST {s['client_ms']:.2f} ms, "
            f"services.credential_verify alone {s['service_ms']:.2f} ms"
        )
    for sample in r["error_samples"]:
        print(f"   error: {sample}")


# --------------------------------------------------------------------------- part 3: bulk


def worker_bulk(spec: dict[str, Any]) -> None:
    """Subprocess: migrate, demo persons, time bulk issue, then time minting OFFLINE tokens."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from jiaoguan.credentials import keys, services
    from jiaoguan.credentials.crypto import algorithm_for
    from jiaoguan.credentials.models import Credential
    from jiaoguan.credentials.token import DisplayMode
    from jiaoguan.registry.models import Vehicle

    today = timezone.localdate()
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = time.perf_counter() - started

    from jiaoguan.demo.generate import generate_demo

    started = time.perf_counter()
    counts = generate_demo(persons=spec["persons"], seed=spec["seed"], today=today)
    demo_seconds = time.perf_counter() - started
    vehicles = Vehicle.objects.count()
    keys.key_create(alg=spec["alg"])

    started = time.perf_counter()
    created = services.inspection_marks_bulk_issue(today=today)
    issue_seconds = time.perf_counter() - started
    # Run again: nothing left to issue, so this is the cost of scanning for vehicles without a mark.
    started = time.perf_counter()
    again = services.inspection_marks_bulk_issue(today=today)
    rescan_seconds = time.perf_counter() - started

    credentials = list(Credential.objects.filter(status="valid").order_by("pk")[: spec["tokens"]])
    now = timezone.now()
    started = time.perf_counter()
    chars = 0
    for credential in credentials:
        text, _expires = services.credential_token(credential=credential, mode=DisplayMode.OFFLINE, now=now)
        chars += len(text)
    token_seconds = time.perf_counter() - started

    # Where one token's time goes: finding the key (query + PEM file) and signing (PEM parse + sign).
    probe = 300
    started = time.perf_counter()
    for _ in range(probe):
        key, pem = keys.active_key()
    key_ms = (time.perf_counter() - started) / probe * 1000
    algorithm = algorithm_for(key.alg)
    assert algorithm is not None
    message = os.urandom(200)
    started = time.perf_counter()
    for _ in range(probe):
        algorithm.sign(pem, message)
    sign_ms = (time.perf_counter() - started) / probe * 1000

    vendor = connection.vendor
    _report(
        {
            "server": f"SQLite {connection.Database.sqlite_version}"
            if vendor == "sqlite"
            else f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}",
            "persons": counts["persons"],
            "vehicles": vehicles,
            "created": created,
            "again": again,
            "issue_seconds": issue_seconds,
            "rescan_seconds": rescan_seconds,
            "tokens": len(credentials),
            "token_seconds": token_seconds,
            "token_chars": chars / max(1, len(credentials)),
            "key_ms": key_ms,
            "sign_ms": sign_ms,
            "demo_seconds": demo_seconds,
            "migrate_seconds": migrate_seconds,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def part_bulk(args: argparse.Namespace, label: str, server_url: str | None) -> dict[str, Any] | None:
    data_dir = tempfile.mkdtemp(prefix="jiaoguan-bench-cred-")
    database_url = _pg_recreate(server_url, BULK_DATABASE) if server_url else None
    persons = math.ceil(args.vehicles / VEHICLES_PER_PERSON)
    print(
        f"bulk {label}: {persons:,} demo persons for ~{args.vehicles:,} vehicles, then bulk issue ...",
        flush=True,
    )
    try:
        return _run_worker(
            f"bulk {label}",
            "bulk",
            {"persons": persons, "seed": args.seed, "tokens": args.tokens, "alg": args.alg},
            _django_env(data_dir, database_url),
            timeout=4 * 3600,
        )
    finally:
        try:
            if server_url:
                _pg_drop(server_url, BULK_DATABASE)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def print_bulk(results: list[tuple[str, dict[str, Any]]]) -> None:
    print()
    print("3. Bulk issue of inspection marks, then one OFFLINE token per credential")
    header = (
        f"{'database':<22}{'vehicles':>10}{'marks':>9}{'issue s':>9}{'marks/s':>9}{'rescan s':>10}"
        f"{'tokens':>8}{'token s':>9}{'tokens/s':>10}{'key ms':>8}{'sign ms':>9}{'RSS MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    for _label, r in results:
        print(
            f"{r['server']:<22}{r['vehicles']:>10,}{r['created']:>9,}{r['issue_seconds']:>9.1f}"
            f"{r['created'] / r['issue_seconds']:>9,.0f}{r['rescan_seconds']:>10.1f}{r['tokens']:>8,}"
            f"{r['token_seconds']:>9.1f}{r['tokens'] / r['token_seconds']:>10,.0f}"
            f"{r['key_ms']:>8.2f}{r['sign_ms']:>9.2f}{r['peak_rss_mib']:>9.0f}"
        )
    print(
        "   marks = credentials created (vehicles out of inspection validity or blocked get none); rescan = "
        "second run, nothing to issue;\n   key ms = keys.active_key() per call, sign ms = Algorithm.sign "
        "per call (PEM parsed each time); both happen once per token"
    )
    for label, r in results:
        print(
            f"   {label}: demo data {r['persons']:,} persons in {r['demo_seconds']:.0f} s, migrations "
            f"{r['migrate_seconds']:.0f} s (neither counted); mean token {r['token_chars']:.0f} chars"
        )


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and short timings")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}"
    )
    parser.add_argument(
        "--pg",
        metavar="URL",
        help=f"PostgreSQL server URL (default: a PostgreSQL DATABASE_URL, else {DEFAULT_PG})",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="bulk part on PostgreSQL only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--alg",
        type=int,
        default=-7,
        help="COSE alg of the server's signing key (-7 ES256, -8 EdDSA, -65601 SM2)",
    )
    verify = parser.add_argument_group("verify")
    verify.add_argument("--rounds", type=int, help="interleaved rounds, best kept (default 5; quick 2)")
    verify.add_argument(
        "--verify-seconds", type=float, help="seconds per figure per round (default 1; quick 0.3)"
    )
    verify.add_argument("--status-size", type=int, default=125_000, help="credentials in the status list")
    verify.add_argument("--status-share", type=float, default=0.005, help="share of them not valid")
    http = parser.add_argument_group("http")
    http.add_argument("--http-persons", type=int, help="demo persons (default 2000; quick 500)")
    http.add_argument("--http-tokens", type=int, help="valid OFFLINE tokens (default 200; quick 50)")
    http.add_argument("--duration", type=float, help="measured seconds (default 15; quick 4)")
    http.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    http.add_argument("--concurrency", type=int, default=8, help="client threads")
    http.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    http.add_argument("--invalid-share", type=float, default=0.2, help="share of invalid tokens posted")
    bulk = parser.add_argument_group("bulk")
    bulk.add_argument("--vehicles", type=int, help="vehicles to issue marks for (default 100000; quick 5000)")
    bulk.add_argument("--tokens", type=int, help="OFFLINE tokens to mint (default 10000; quick 1000)")
    qr = parser.add_argument_group("qr")
    qr.add_argument(
        "--qr-index", type=int, default=50_000_000, help="credential number in the token (4 bytes)"
    )
    parser.add_argument("--worker", choices=("http-setup", "loadgen", "bulk"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        spec = json.loads(args.spec)
        {"http-setup": worker_http_setup, "loadgen": worker_loadgen, "bulk": worker_bulk}[args.worker](spec)
        return

    defaults = {
        "rounds": (5, 2),
        "verify_seconds": (1.0, 0.3),
        "http_persons": (2000, 500),
        "http_tokens": (200, 50),
        "duration": (15.0, 4.0),
        "vehicles": (100_000, 5000),
        "tokens": (10_000, 1000),
    }
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")

    pg_url = args.pg or os.environ.get("DATABASE_URL") or ""
    if not _is_postgres(pg_url):
        pg_url = DEFAULT_PG
    load1, load5, _ = os.getloadavg()
    print(
        f"bench_credentials: {'quick' if args.quick else 'full'} run, {os.cpu_count()} CPUs, "
        f"load average {load1:.2f}/{load5:.2f} at start, Python {sys.version.split()[0]}",
        flush=True,
    )

    failed = []
    if "verify" in parts:
        print("verify: measuring ...", flush=True)
        print_verify(part_verify(args), args)
    if "qr" in parts:
        print_qr(part_qr(args))
    if "http" in parts:
        result = part_http(args, pg_url)
        if result:
            print_http(result, args)
        else:
            failed.append("http")
    if "bulk" in parts:
        results = []
        targets = [("postgresql", pg_url)] + ([] if args.no_sqlite else [("sqlite", None)])
        for label, url in targets:
            result = part_bulk(args, label, url)
            if result:
                results.append((label, result))
            else:
                failed.append(f"bulk {label}")
        if results:
            print_bulk(results)
    load1, load5, _ = os.getloadavg()
    print(f"\nload average {load1:.2f}/{load5:.2f} at the end")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
