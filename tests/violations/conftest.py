"""Constants shared by the violation and payment tests (fixtures live in tests/conftest.py), and the
platform run as real processes (the ``jiaoguan`` command, gunicorn) on a database they share."""

from __future__ import annotations

import base64
import http.client
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "Citizen#2026x"  # the citizen fixture's password
ADMIN_PASSWORD = "Counter#2026x"
JIAOGUAN = str(Path(sys.executable).with_name("jiaoguan"))


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated SQLite file, made once: the test database lives in memory, out of other processes' reach."""
    folder = tmp_path_factory.mktemp("platform-sqlite")
    path = folder / "jiaoguan.sqlite3"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{path}", JIAOGUAN_DATA_DIR=str(folder / "data"))
    done = subprocess.run(
        [JIAOGUAN, "migrate", "-v", "0"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return path


class Platform:
    """The platform as processes see it: the ``jiaoguan`` command and a gunicorn server on one database.

    On PostgreSQL that is the test database itself (the test must commit: ``transaction=True``);
    on SQLite a fresh copy of a migrated file. Data is made and read through the command and
    HTTP only, so both databases run the same test.
    """

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.server: subprocess.Popen | None = None
        self.url = ""

    def command(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [JIAOGUAN, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check:
            assert done.returncode == 0, (
                f"jiaoguan {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
            )
        return done

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [JIAOGUAN, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def api_client(self, division: str = "411700") -> tuple[str, str]:
        out = self.command(
            "api_client", "create", "--name", "驻马店电子警察平台", "--scopes", "violations:import",
            "--division", division,
        ).stdout  # fmt: skip
        return out.split("client_id:")[1].split()[0], out.split("secret:")[1].split()[0]

    def administrator(self, username: str = "admin-411700") -> tuple[str, str]:
        self.command(
            "staff", "add", username, "--role", "administrator", "--jurisdiction", "411700", "--password-stdin",
            stdin=ADMIN_PASSWORD + "\n",
        )  # fmt: skip
        return username, ADMIN_PASSWORD

    def serve(self) -> str:
        """Start gunicorn (one sync worker, as ``jiaoguan serve`` runs it) and wait until it answers."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        log = open(self.workdir / "gunicorn.log", "wb")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "jiaoguan.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--timeout", "60"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                pytest.fail(f"gunicorn exited: {(self.workdir / 'gunicorn.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/openapi.json", timeout=2) as answer:
                    if answer.status == 200:
                        return self.url
            except OSError:
                time.sleep(0.1)
        pytest.fail("gunicorn did not answer within 30 s")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    # ------------------------------------------------------------------ HTTP

    def post(
        self, path: str, body: bytes | Iterable[bytes], *, headers: dict[str, str]
    ) -> tuple[int, dict, dict[str, str]]:
        """POST with http.client: a bytes body goes with a Content-Length, an iterable of bytes chunked."""
        parts = urllib.parse.urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            try:
                connection.request("POST", path, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before the whole body was sent: the answer is still there to read
            answer = connection.getresponse()
            data = answer.read()
            return answer.status, json.loads(data or b"{}"), dict(answer.getheaders())
        finally:
            connection.close()

    def get_json(self, path: str, *, headers: dict[str, str]) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def browser(self, username: str, password: str) -> urllib.request.OpenerDirector:
        """A logged-in session (cookies and the CSRF token as a browser would send them)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{self.url}/login/", timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "account": username, "password": password}
        ).encode()
        request = urllib.request.Request(
            f"{self.url}/login/", data=form, headers={"Referer": f"{self.url}/login/"}
        )
        opener.open(request, timeout=30).read()
        return opener


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def platform(request, tmp_path):
    from django.db import connection

    settings_dict = connection.settings_dict
    env = dict(
        os.environ, JIAOGUAN_DATA_DIR=str(tmp_path / "data"), JIAOGUAN_SECRET_KEY="platform-test-" + "x" * 40
    )
    if connection.vendor == "postgresql":
        if "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
            marker = request.node.get_closest_marker("django_db")
            assert marker is not None and marker.kwargs.get("transaction"), (
                "needs django_db(transaction=True)"
            )
        user = settings_dict.get("USER") or ""
        password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
        host = f"{settings_dict.get('HOST') or '127.0.0.1'}:{settings_dict.get('PORT') or 5432}"
        env["DATABASE_URL"] = f"postgresql://{user}{password}@{host}/{settings_dict['NAME']}"
    else:
        copy = tmp_path / "jiaoguan.sqlite3"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite"), copy)
        env["DATABASE_URL"] = f"sqlite:///{copy}"
    running = Platform(env, tmp_path)
    yield running
    running.stop()
