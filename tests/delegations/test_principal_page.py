"""The principal's page (issue 18): every entrustment, proxy and filing that concerns me with what
was done under each, "who acted for me", and revocation that stops what was not yet accepted."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.delegations import selectors, services
from jiaoguan.delegations.models import DelegatedAction, Entrustment, ProxyAuthorisation, VehicleFiling

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def principal(make_person, citizen):
    return citizen(make_person(name="王芳", mobile="13800138001"))


@pytest.fixture
def agent(make_person):
    return make_person(name="李强", mobile="13800138003")


def _act(grant, kind, principal_person_id, outcome="pending"):
    return services.delegated_action_record(
        principal_person_id=principal_person_id, grant=kind, grant_id=grant.pk, business_code="B8",
        channel="counter", outcome=outcome, agent_name="李强", reference="411700-20261206-0001",
    )  # fmt: skip


def test_the_page_lists_grants_and_who_acted_for_me(principal, agent, entrustment_row):
    entrustment = entrustment_row(principal=principal, agent=agent)
    _act(entrustment, "entrustment", principal.person_id, outcome="done")
    page = _client(principal).get("/me/delegations/")
    assert page.status_code == 200
    text = _text(page)
    assert "谁替我办理了业务" in text and "李*" in text and "411700-20261206-0001" in text
    assert "补换领驾驶证" in text and "李强" not in text  # the agent's name is masked
    assert f'data-id="{entrustment.pk}"' in page.content.decode()
    api = _client(principal).get("/api/v1/me/acted-for-me")
    assert api.status_code == 200
    assert [(r["grant"], r["outcome"], r["agent"]) for r in api.json()] == [("entrustment", "done", "李*")]


def test_the_me_page_leads_to_it(principal):
    assert 'href="/me/delegations/"' in _client(principal).get("/me/").content.decode()


def test_anonymous_is_sent_to_log_in_and_the_api_answers_401():
    page = Client().get("/me/delegations/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert Client().get("/api/v1/me/acted-for-me").status_code == 401


def test_revoking_an_entrustment_stops_what_was_in_progress(principal, agent, entrustment_row):
    entrustment = entrustment_row(principal=principal, agent=agent)
    pending = _act(entrustment, "entrustment", principal.person_id)
    done = _act(entrustment, "entrustment", principal.person_id, outcome="done")
    response = _client(principal).post(
        "/me/delegations/revocation", {"kind": "entrustment", "id": entrustment.pk}
    )
    assert response.status_code == 302
    entrustment.refresh_from_db()
    assert entrustment.revoked_at is not None
    assert DelegatedAction.objects.get(pk=pending.pk).outcome == "stopped"
    assert DelegatedAction.objects.get(pk=done.pk).outcome == "done"
    again = _client(principal).post(
        "/me/delegations/revocation", {"kind": "entrustment", "id": entrustment.pk}
    )
    assert again.status_code == 302  # shown as a message: already revoked
    assert Entrustment.objects.get(pk=entrustment.pk).revoked_at == entrustment.revoked_at


def test_someone_elses_grant_is_not_found_and_unchanged(
    principal, agent, citizen, make_person, entrustment_row
):
    other = citizen(make_person(name="赵敏", mobile="13800138002"))
    entrustment = entrustment_row(principal=other, agent=agent)
    response = _client(principal).post(
        "/me/delegations/revocation", {"kind": "entrustment", "id": entrustment.pk}
    )
    assert response.status_code == 404
    assert Entrustment.objects.get(pk=entrustment.pk).revoked_at is None
    for bad in ("", "²", "x", "9" * 30):
        assert (
            _client(principal)
            .post("/me/delegations/revocation", {"kind": "entrustment", "id": bad})
            .status_code
            == 404
        )
    assert (
        _client(principal).post("/me/delegations/revocation", {"kind": "nothing", "id": 1}).status_code == 404
    )


def test_the_elder_and_the_relative_both_see_and_may_end_a_proxy(principal, elder_person, citizen, proxy_row):
    elder = citizen(elder_person)
    proxy = proxy_row(relative=principal, elder=elder_person)
    assert [v.grant.pk for v in selectors.principal_overview(actor=elder)["proxies"]] == [proxy.pk]
    assert [v.grant.pk for v in selectors.principal_overview(actor=principal)["proxies"]] == [proxy.pk]
    assert "张*" in _text(_client(principal).get("/me/delegations/"))
    services.proxy_revoke(actor=elder, proxy_id=proxy.pk, reason="不再需要")
    assert ProxyAuthorisation.objects.get(pk=proxy.pk).state == "revoked"


def test_the_owner_withdraws_a_filing(principal, make_person, make_vehicle, citizen, filing_row):
    owner_person = make_person(name="赵敏", mobile="13800138002")
    owner = citizen(owner_person)
    filing = filing_row(driver=principal, vehicle=make_vehicle(owner=owner_person))
    page = _text(_client(owner).get("/me/delegations/"))
    assert "他人备案了您的这辆车" in page
    _client(owner).post("/me/delegations/revocation", {"kind": "filing", "id": filing.pk})
    filing.refresh_from_db()
    assert filing.state == VehicleFiling.State.WITHDRAWN and filing.ended_at <= timezone.now()
