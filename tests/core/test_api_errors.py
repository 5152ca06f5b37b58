"""The API answers JSON for every error, including unexpected ones and oversized bodies (issue: item 5)."""

from __future__ import annotations

import json
import logging

import pytest
from django.http import HttpResponse, HttpResponseServerError
from django.test import RequestFactory

from jiaoguan.core.middleware import ApiErrorShapeMiddleware, RequestIdMiddleware


def _json(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return json.loads(response.content)


@pytest.mark.django_db
def test_an_unexpected_failure_is_json_with_the_request_id_that_is_in_the_log(
    client, make_person, citizen, monkeypatch, caplog
):
    user = citizen(make_person())
    client.force_login(user)

    def broken(**_kw):
        raise RuntimeError("disk on fire")

    # Given a read that fails in a way no code path expects
    monkeypatch.setattr("jiaoguan.accounts.api.selectors.access_log_for", broken)
    with caplog.at_level(logging.ERROR, logger="jiaoguan.api"):
        response = client.get("/api/v1/me/access-log", HTTP_X_REQUEST_ID="support-ticket-0042")
    # Then the app gets the error shape, not an HTML page, and nothing of the failure leaks
    assert response.status_code == 500
    body = _json(response)
    assert body["code"] == "internal"
    assert body["detail"] == {"request_id": "support-ticket-0042"}
    assert "disk on fire" not in response.content.decode()
    assert response["X-Request-ID"] == "support-ticket-0042"
    # And the log holds the traceback under the same id
    logged = [r for r in caplog.records if "support-ticket-0042" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


@pytest.mark.django_db
def test_a_request_without_an_id_gets_one(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert len(response["X-Request-ID"]) == 16
    odd = client.get("/api/v1/health", HTTP_X_REQUEST_ID="<script>")
    assert odd["X-Request-ID"] != "<script>"


@pytest.mark.django_db
def test_an_oversized_body_is_413_json(client, settings):
    body = json.dumps({"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10), "password": "p"})
    response = client.post("/api/v1/auth/tokens", data=body, content_type="application/json")
    assert response.status_code == 413
    answer = _json(response)
    assert answer["code"] == "request.too_large"
    assert answer["detail"]["max_bytes"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_a_failure_below_the_api_views_is_shaped_too():
    """A 500 page made by Django for a failure in another middleware still reaches the app as JSON."""
    factory = RequestFactory()
    shape = RequestIdMiddleware(
        ApiErrorShapeMiddleware(lambda request: HttpResponseServerError("<h1>500</h1>"))
    )
    response = shape(factory.get("/api/v1/me"))
    assert response.status_code == 500
    body = _json(response)
    assert body["code"] == "internal" and body["detail"]["request_id"] == response["X-Request-ID"]
    page = RequestIdMiddleware(
        ApiErrorShapeMiddleware(lambda request: HttpResponseServerError("<h1>500</h1>"))
    )
    assert page(factory.get("/violations/")).content == b"<h1>500</h1>"  # pages keep their error page
    ok = ApiErrorShapeMiddleware(lambda request: HttpResponse("{}", content_type="application/json"))
    assert ok(factory.get("/api/v1/health")).status_code == 200


@pytest.mark.django_db
def test_unknown_endpoints_and_methods_answer_json(client):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and _json(missing)["code"] == "not_found"
    wrong = client.delete("/api/v1/health")
    assert wrong.status_code == 405 and _json(wrong)["code"] == "method_not_allowed"
