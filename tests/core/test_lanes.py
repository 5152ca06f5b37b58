"""The stateless lane (core/lanes.py, issue 12): API calls without a cookie skip the browser's
middleware, answer exactly as through the full stack with the same headers, and nothing that
needs a session can be reached through it."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from jiaoguan.accounts.services import api_token_issue
from jiaoguan.core import lanes

# The application as jiaoguan/wsgi.py builds it (that module also makes the signing key).
application = lanes.LanedApplication(full=WSGIHandler(), stateless=lanes.StatelessApiHandler())

CITIZEN_PASSWORD = "Citizen#2026x"  # the citizen fixture's (tests/conftest.py)


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body

    def json(self) -> dict:
        return json.loads(self.body)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: a real handler closes the database connection when a request
    ends, which would end the test's transaction (on PostgreSQL, the connection itself)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def signing_keys(tmp_path, settings):
    """A key folder of the test's own; demo mode makes the first key when it is needed."""
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def call(
    path: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b""
) -> Answer:
    """One request straight into the WSGI application, as gunicorn or granian makes it."""
    environ: dict = {}
    setup_testing_defaults(environ)
    path_info, _, query = path.partition("?")
    environ.update(
        REQUEST_METHOD=method,
        PATH_INFO=path_info,
        QUERY_STRING=query,
        SERVER_NAME="127.0.0.1",
        HTTP_HOST="127.0.0.1",
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="application/json",
    )
    environ["wsgi.input"] = io.BytesIO(body)
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started: dict = {}

    def start_response(status, response_headers, exc_info=None):
        started.update(status=status, headers=response_headers)

    chunks = application(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return Answer(started["status"], started["headers"], content)


def test_the_lane_leaves_out_only_the_browser_middleware():
    lane = lanes.stateless_middleware(settings.MIDDLEWARE)
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in lane
    assert "django.middleware.csrf.CsrfViewMiddleware" not in lane
    assert "django.contrib.auth.middleware.AuthenticationMiddleware" not in lane
    assert lane.index("jiaoguan.core.lanes.StatelessApiMiddleware") > lane.index(
        "jiaoguan.core.middleware.PlatformLocaleMiddleware"
    )
    kept = [path for path in settings.MIDDLEWARE if path not in lanes.STATELESS_API_SKIPS]
    assert [path for path in lane if path != "jiaoguan.core.lanes.StatelessApiMiddleware"] == [
        path for path in kept if path != "django.contrib.auth.middleware.AuthenticationMiddleware"
    ]


@pytest.mark.parametrize(
    ("path", "cookie", "stateless"),
    [
        ("/api/v1/me/vehicles", "", True),
        ("/api/v1/me/vehicles", "sessionid=abc", False),
        ("/", "", False),
        ("/accidents/query", "", False),
        ("/static/app.css", "", False),
    ],
)
def test_which_lane_a_request_takes(path, cookie, stateless):
    environ = {"PATH_INFO": path, **({"HTTP_COOKIE": cookie} if cookie else {})}
    assert lanes.is_stateless_api_call(environ) is stateless


@pytest.mark.django_db
def test_a_bearer_read_answers_as_through_the_full_stack_with_the_same_headers(owner_driver):
    user, *_ = owner_driver()
    raw, _ = api_token_issue(username=user.username, password=CITIZEN_PASSWORD)
    bearer = {"Authorization": f"Bearer {raw}"}
    lean = call("/api/v1/me/vehicles", headers=bearer)
    full = Client().get("/api/v1/me/vehicles", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert lean.status == full.status_code == 200
    assert lean.json() == full.json() and lean.json()["items"]
    for header in ("Content-Security-Policy", "X-Frame-Options", "Cache-Control", "Content-Type"):
        assert lean.headers[header.lower()] == full[header], header
    assert lean.headers["x-request-id"]
    assert "set-cookie" not in lean.headers


@pytest.mark.django_db
def test_errors_keep_their_shape_and_language_in_the_lane():
    missing = call("/api/v1/no-such-endpoint")
    assert missing.status == 404 and missing.json()["code"] == "not_found"
    refused = call("/api/v1/me/vehicles", headers={"Accept-Language": "en"})
    assert refused.status == 401
    assert refused.json()["code"] and refused.json()["message"].isascii()
    forged = call("/api/v1/me/vehicles", headers={"Authorization": "Bearer forged-token"})
    assert forged.status == 401


@pytest.mark.django_db
def test_a_session_cookie_takes_the_full_stack_and_its_csrf_check(owner_driver, client):
    user, *_ = owner_driver()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    read = call("/api/v1/me/vehicles", headers={"Cookie": cookie})
    assert read.status == 200 and read.json()["items"]
    # A change on the strength of the cookie alone, as another site's page could send: refused.
    change = call(
        "/api/v1/me/violations/999999/handling", method="POST", body=b"{}", headers={"Cookie": cookie}
    )
    assert change.status == 403 and change.json()["code"] == "auth.csrf_failed"
    # The same read without the cookie has no session to use.
    assert call("/api/v1/me/vehicles").status == 401


@pytest.mark.django_db
def test_public_verification_works_in_the_lane(signing_keys, make_person, make_vehicle):
    from datetime import timedelta

    from django.utils import timezone

    from jiaoguan.credentials import services
    from jiaoguan.credentials import token as tok

    person = make_person(name="黄磊")
    vehicle = make_vehicle(owner=person, registered_on=timezone.localdate() - timedelta(days=300))
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    text = services.credential_token(credential=credential, mode=tok.DisplayMode.OFFLINE)[0]
    answer = call("/api/v1/credentials/verify", method="POST", body=json.dumps({"text": text}).encode())
    assert answer.status == 200 and answer.json()["valid"] is True


@pytest.mark.django_db
def test_the_wsgi_module_serves_both_lanes(signing_keys):
    from jiaoguan import wsgi

    assert isinstance(wsgi.application, lanes.LanedApplication)
    assert isinstance(wsgi.application.stateless, lanes.StatelessApiHandler)
