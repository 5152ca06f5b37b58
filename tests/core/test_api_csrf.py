"""Unsafe API methods authenticated by the browser session need the CSRF token (issue 10, item 9).

The review's finding: a page on another site posted to ``/fines/{id}/payments`` with only the
visitor's session cookie and opened a payment order, which then blocked paying at the counter.
Bearer tokens (the app) and client credentials (systems) are not cookies and need no token.
"""

from __future__ import annotations

import pytest
from django.test import Client

from jiaoguan.payments.models import PaymentOrder
from jiaoguan.violations.services import violation_handle_online

from ..violations.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

EVIL_ORIGIN = "https://evil.example"


@pytest.fixture
def unpaid_fine(owner_driver, record):
    """A citizen's handled violation with its fine unpaid: (user, fine)."""
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    fine = violation_handle_online(actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True)
    return user, fine


def browser(user) -> Client:
    """A logged-in browser whose requests Django checks for CSRF as a real one's are."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_cross_site_post_with_only_the_session_cookie_is_refused_and_opens_no_order(
    unpaid_fine, payment_gateway
):
    user, fine = unpaid_fine
    client = browser(user)
    response = client.post(f"/api/v1/fines/{fine.pk}/payments", HTTP_ORIGIN=EVIL_ORIGIN)
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "auth.csrf_failed" and body["message"]
    assert not PaymentOrder.objects.exists()
    # The same without any Origin header (an old browser, a form post) is refused too.
    assert client.post(f"/api/v1/fines/{fine.pk}/payments").status_code == 403
    assert not PaymentOrder.objects.exists()


def test_the_session_with_the_pages_csrf_token_may_post(unpaid_fine, payment_gateway):
    user, fine = unpaid_fine
    client = browser(user)
    client.get("/me/")  # any page sets the CSRF cookie, as the pages' forms carry the token
    token = client.cookies["csrftoken"].value
    response = client.post(f"/api/v1/fines/{fine.pk}/payments", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    assert PaymentOrder.objects.count() == 1


def test_a_bearer_token_needs_no_csrf_token(unpaid_fine, payment_gateway):
    user, fine = unpaid_fine
    client = Client(enforce_csrf_checks=True)
    login = client.post(
        "/api/v1/auth/tokens",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert login.status_code == 201, login.content
    response = client.post(
        f"/api/v1/fines/{fine.pk}/payments",
        HTTP_AUTHORIZATION=f"Bearer {login.json()['token']}",
        HTTP_ORIGIN=EVIL_ORIGIN,
    )
    assert response.status_code == 201, response.content
    assert PaymentOrder.objects.count() == 1


def test_reads_with_the_session_need_no_csrf_token(unpaid_fine):
    user, fine = unpaid_fine
    response = browser(user).get(f"/api/v1/fines/{fine.pk}", HTTP_ORIGIN=EVIL_ORIGIN)
    assert response.status_code == 200, response.content
