"""``jiaoguan up`` refuses to start on a port another program holds, naming the option to change."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _listening() -> socket.socket:
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    held.listen()
    return held


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _up(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    skip = (
        "DATABASE_URL",
        "JIAOGUAN_PAYMENT_GATEWAY_URL",
        "JIAOGUAN_POSTAL_URL",
        "JIAOGUAN_INSURER_URL",
        "JIAOGUAN_BANK_URL",
    )
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env["PYTHONPATH"] = str(ROOT / "src")
    return subprocess.run(
        [sys.executable, "-m", "jiaoguan.cli", "up", "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "taken", ["--gateway-port", "--postal-port", "--insurer-port", "--bank-port", "--records-port", "--port"]
)
def test_a_taken_port_stops_the_start_with_the_option_to_change(tmp_path, taken):
    held = _listening()
    try:
        port = held.getsockname()[1]
        ports = {
            "--port": _free_port(),
            "--gateway-port": _free_port(),
            "--postal-port": _free_port(),
            "--insurer-port": _free_port(),
            "--bank-port": _free_port(),
            "--records-port": _free_port(),
            taken: port,
        }
        done = _up(tmp_path, *(text for option, value in ports.items() for text in (option, str(value))))
    finally:
        held.close()
    assert done.returncode == 2
    assert taken in done.stderr and str(port) in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "jiaoguan.sqlite3").exists()  # nothing was prepared
