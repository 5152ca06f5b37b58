"""Web hygiene (issue 10, item 12): a Content-Security-Policy without inline script, no-store on
answers with personal data, ``/favicon.ico``, and API docs that need no internet.

The browser side (pages keep working under the policy, the docs render offline) is in
tests/e2e/test_web_hygiene.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

import jiaoguan

SRC = Path(jiaoguan.__file__).resolve().parent

# ---------------------------------------------------------------- Content-Security-Policy


def policy_of(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/login/", "/register/", "/api/v1/docs", "/admin/login/"])
def test_pages_carry_a_policy_that_allows_no_inline_script(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = policy_of(response)
    script = policy.get("script-src") or policy.get("default-src")
    assert script, f"no script policy on {path}: {response.get('Content-Security-Policy')!r}"
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert not [s for s in script if s.startswith(("http:", "https:", "*"))], script
    assert policy.get("object-src") == ["'none'"]
    assert policy.get("frame-ancestors") == ["'none'"]
    assert "'unsafe-inline'" not in policy.get("style-src", policy["default-src"])


class _Scripts(HTMLParser):
    """Inline scripts and event-handler attributes of a page, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.handlers += [f"<{tag} {k}=...>" for k, _v in attrs if k.startswith("on")]
        self.handlers += [f"<{tag} {k}={v}>" for k, v in attrs if (v or "").strip().startswith("javascript:")]
        kind = (named.get("type") or "text/javascript").lower()
        self._in_script = tag == "script" and "src" not in named and "json" not in kind

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data.strip()[:80])


def test_no_template_has_inline_script_or_event_handler_attributes():
    """Checked on the source, so a template no test renders cannot bring one back."""
    found = []
    for template in sorted(SRC.rglob("templates/**/*.html")):
        text = template.read_text(encoding="utf-8")
        # Blank out template tags so attributes inside {% if %} branches are still seen.
        parser = _Scripts()
        parser.feed(re.sub(r"{%.*?%}|{{.*?}}", "x", text, flags=re.S))
        found += [f"{template.relative_to(SRC)}: {item}" for item in parser.inline + parser.handlers]
    assert found == []


@pytest.mark.django_db
def test_rendered_pages_have_no_inline_script(client, owner_driver):
    user, _person, vehicle, _licence = owner_driver()
    pages = ["/", "/login/", "/register/", "/services/", "/api/v1/docs", "/credentials/verify/"]
    for path in pages:
        parser = _Scripts()
        parser.feed(client.get(path).content.decode())
        assert parser.inline == [] and parser.handlers == [], path
    client.force_login(user)
    for path in ["/", "/me/", "/vehicles/", f"/vehicles/{vehicle.pk}/", "/violations/", "/credentials/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        parser = _Scripts()
        parser.feed(response.content.decode())
        assert parser.inline == [] and parser.handlers == [], path


# ---------------------------------------------------------------- Cache-Control


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_logged_in_pages_are_not_stored(client, owner_driver):
    user, _person, vehicle, _licence = owner_driver()
    client.force_login(user)
    for path in ["/", "/me/", "/vehicles/", f"/vehicles/{vehicle.pk}/", "/violations/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert no_store(response), (path, response.get("Cache-Control"))


@pytest.mark.django_db
def test_every_authenticated_api_answer_is_not_stored(owner_driver):
    from jiaoguan.accounts.models import ApiToken
    from jiaoguan.accounts.services import _token_hash

    user, _person, _vehicle, _licence = owner_driver()
    ApiToken.objects.create(
        user=user, token_hash=_token_hash("hygiene-token"), expires_at=timezone.now() + timedelta(hours=1)
    )
    bearer = Client(HTTP_AUTHORIZATION="Bearer hygiene-token")
    session = Client()
    session.force_login(user)
    for api in (bearer, session):
        for path in ["/api/v1/me", "/api/v1/me/vehicles", "/api/v1/me/licences", "/api/v1/me/violations"]:
            response = api.get(path)
            assert response.status_code == 200, (path, response.content)
            assert no_store(response), (path, response.get("Cache-Control"))
        # Refusals of an authenticated caller carry personal context too, the framework's own included.
        assert no_store(api.get("/api/v1/me/violations/999999"))
        assert no_store(api.get("/api/v1/no-such-endpoint"))


@pytest.mark.django_db
def test_anonymous_answers_with_personal_data_are_not_stored(client):
    # The accident query answers without a login (number and code); its answers are never kept.
    response = client.post(
        "/api/v1/accidents/progress",
        {"accident_number": "411702202612050001", "code": "ABCD-EFGH-JKLM"},
        content_type="application/json",
    )
    assert response.status_code in (404, 422, 429)
    assert no_store(response)
    assert no_store(client.get("/login/"))


@pytest.mark.django_db
def test_a_public_answer_may_be_cached_by_anonymous_callers_only(client, owner_driver):
    # The trust list declares itself cacheable; the same answer to a logged-in caller is not stored.
    anonymous = client.get("/api/v1/credentials/keys")
    assert anonymous.status_code == 200 and anonymous["Cache-Control"].startswith("public")
    user, _person, _vehicle, _licence = owner_driver()
    client.force_login(user)
    assert no_store(client.get("/api/v1/credentials/keys"))


@pytest.mark.django_db
def test_static_files_stay_cacheable(client):
    response = client.get("/static/jiaoguan/site.css")
    assert response.status_code == 200
    assert not no_store(response)


# ---------------------------------------------------------------- favicon


@pytest.mark.django_db
def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert "no-store" not in response.get("Cache-Control", "")


# ---------------------------------------------------------------- API docs without internet


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and named.get("src"):
            self.urls.append(named["src"] or "")
        if tag == "link" and named.get("href"):
            self.urls.append(named["href"] or "")


@pytest.mark.django_db
def test_api_docs_load_every_file_from_this_server(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assets = _Assets()
    assets.feed(response.content.decode())
    assert any("swagger-ui-bundle" in url for url in assets.urls), assets.urls
    for url in assets.urls:
        assert url.startswith("/"), f"{url} is fetched from another site"
        asset = client.get(url)
        assert asset.status_code == 200, url


def test_the_policy_built_once_is_django_csps_and_a_view_may_still_change_it(rf):
    """The platform's middleware writes the configured policy, built at start (issue 12); an answer
    that changes the policy or a page that asks for a nonce still goes through django-csp."""
    from csp.decorators import csp_update
    from csp.utils import build_policy
    from django.http import HttpResponse

    from jiaoguan.core.middleware import PlatformCSPMiddleware

    plain = PlatformCSPMiddleware(lambda request: HttpResponse("x"))
    assert plain(rf.get("/"))["Content-Security-Policy"] == build_policy()

    changed = PlatformCSPMiddleware(
        csp_update({"img-src": ["https://tiles.example"]})(lambda request: HttpResponse("x"))
    )
    assert "https://tiles.example" in changed(rf.get("/"))["Content-Security-Policy"]

    def with_nonce(request):
        return HttpResponse(str(request.csp_nonce))

    from csp.middleware import CSPMiddleware

    ours, theirs = PlatformCSPMiddleware(with_nonce)(rf.get("/")), CSPMiddleware(with_nonce)(rf.get("/"))
    assert ours["Content-Security-Policy"] == theirs["Content-Security-Policy"]
