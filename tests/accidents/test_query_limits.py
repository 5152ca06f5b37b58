"""Guessing limits of the accident query and the evidence review (A5, A6): they slow a guesser and
never shut out the party with the right code. Per client first; a number many wrong codes were
tried on asks every try for a proof of work, which the right code always passes; the limits are
checked and the try recorded in one step, so parallel tries cannot overrun them (PostgreSQL); an
unknown number and a wrong code do the same work."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jiaoguan.accidents import rules, services
from jiaoguan.accidents.models import QueryAttempt
from jiaoguan.core.errors import NotFound, Throttled

PROGRESS = "/api/v1/accidents/progress"
WRONG = "ABCDEFGHJKMN"
TODAY = timezone.localdate()


@pytest.fixture
def officer(make_staff):
    return make_staff(role="accident_officer", jurisdiction="411702", username="officer-411702")


@pytest.fixture
def case(officer):
    return services.case_open(
        actor=officer, occurred_at=timezone.now() - timedelta(days=3), place="驿城区解放大道与交通路交叉口"
    )


@pytest.fixture
def code(case, officer, make_person):
    person = make_person(name="马超")
    _party, _credential, code = services.party_add(
        actor=officer, case_id=case.pk, label="甲", name="马超", id_type="resident_id",
        id_number=person.id_number, phone="13800001111",
    )  # fmt: skip
    return code


def ask(number: str, code: str, address: str, **proof):
    return Client(REMOTE_ADDR=address).post(
        PROGRESS,
        json.dumps({"accident_number": number, "code": code, **proof}),
        content_type="application/json",
    )


def wrong_codes(number: str, count: int, *, first_address: int = 1) -> list[int]:
    """Wrong codes on the number, each from another address (as a guesser with many would)."""
    return [
        ask(number, WRONG, f"10.0.{n // 250}.{n % 250 + 1}").status_code
        for n in range(first_address, first_address + count)
    ]


def solved(challenge: dict, code: str) -> dict[str, str]:
    solution = rules.challenge_solve(
        challenge=challenge["challenge"], code=rules.code_normalise(code), bits=challenge["bits"]
    )
    return {"challenge": challenge["challenge"], "solution": solution}


# ---------------------------------------------------------------- nobody is locked out


@pytest.mark.django_db
def test_wrong_codes_from_many_addresses_never_lock_out_the_right_code(case, code):
    limit = rules.QUERY_CHALLENGE_AFTER
    assert wrong_codes(case.number, limit) == [404] * limit
    # From now on a try on this number carries a proof of work; tries without one are not compared.
    refused = ask(case.number, WRONG, "10.9.0.1")
    assert refused.status_code == 429 and refused.json()["code"] == "accidents.challenge_required"
    assert "Retry-After" not in refused
    assert QueryAttempt.objects.filter(number=case.number).count() == limit

    # The party, from anywhere, with the right code: asked for the proof, then answered.
    first = ask(case.number, code, "192.0.2.7")
    assert first.status_code == 429 and first.json()["code"] == "accidents.challenge_required"
    challenge = first.json()["detail"]
    assert challenge["bits"] == rules.CHALLENGE_BITS_MIN
    answered = ask(case.number, code, "192.0.2.7", **solved(challenge, code))
    assert answered.status_code == 200, answered.content
    assert answered.json()["number"] == case.number
    # A right code is no failure.
    assert QueryAttempt.objects.filter(number=case.number).count() == limit

    # A wrong code with its proof is compared (and counted); the proof is good for that code only.
    guess = solved(ask(case.number, WRONG, "10.9.0.2").json()["detail"], WRONG)
    assert ask(case.number, WRONG, "10.9.0.2", **guess).status_code == 404
    assert (
        ask(case.number, "BCDEFGHJKMNP", "10.9.0.3", **guess).json()["code"] == "accidents.challenge_required"
    )
    assert QueryAttempt.objects.filter(number=case.number).count() == limit + 1


@pytest.mark.django_db
def test_the_proof_grows_with_the_wrong_codes_and_is_always_solvable(case, code):
    for failures, bits in [
        (0, None),
        (19, None),
        (20, 16),
        (39, 16),
        (40, 17),
        (80, 18),
        (160, 19),
        (10**6, 20),
    ]:
        assert rules.challenge_bits(failures) == bits
    now = timezone.now()
    QueryAttempt.objects.bulk_create(
        [QueryAttempt(number=case.number, client=f"ip:10.1.{n // 250}.{n % 250}", at=now) for n in range(80)]
    )
    challenge = ask(case.number, code, "192.0.2.8").json()["detail"]
    assert challenge["bits"] == 18
    assert ask(case.number, code, "192.0.2.8", **solved(challenge, code)).status_code == 200


@pytest.mark.django_db
def test_a_forged_stale_or_borrowed_challenge_is_not_accepted(case, code, officer):
    wrong_codes(case.number, rules.QUERY_CHALLENGE_AFTER)
    challenge = ask(case.number, code, "192.0.2.9").json()["detail"]
    good = solved(challenge, code)
    number, issued, _bits, nonce, mac = challenge["challenge"].split(".")

    def refused(**proof) -> bool:
        return (
            ask(case.number, code, "192.0.2.9", **proof).json().get("code") == "accidents.challenge_required"
        )

    easier = f"{number}.{issued}.1.{nonce}.{mac}"  # a client picks its own difficulty
    assert refused(challenge=easier, solution=rules.challenge_solve(challenge=easier, code=code, bits=1))
    assert refused(challenge=good["challenge"], solution=str(int(good["solution"]) + 1))  # not a solution
    assert refused(challenge=good["challenge"], solution="")
    assert refused(challenge="x.y", solution="1")
    other = services.case_open(
        actor=officer, occurred_at=timezone.now() - timedelta(days=1), place="驿城区雪松大道"
    )
    assert (
        ask(other.number, code, "192.0.2.9", **good).status_code == 404
    )  # no proof needed there: plain wrong
    stale = timezone.now() + rules.CHALLENGE_TTL + timedelta(seconds=5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("jiaoguan.accidents.services.timezone.now", lambda: stale)
        assert refused(**good)
    assert ask(case.number, code, "192.0.2.9", **good).status_code == 200


@pytest.mark.django_db
def test_a_client_over_its_limit_waits_and_nobody_else_does(case, code):
    for _ in range(rules.QUERY_MAX_FAILURES_PER_CLIENT):
        assert ask(case.number, WRONG, "198.51.100.1").status_code == 404
    waiting = ask(case.number, code, "198.51.100.1")
    assert waiting.status_code == 429 and waiting.json()["code"] == "accidents.too_many_attempts"
    assert int(waiting["Retry-After"]) > 0
    assert ask(case.number, code, "198.51.100.2").status_code == 200


@pytest.mark.django_db
def test_an_ipv6_client_is_counted_by_its_network(case, code):
    for n in range(rules.QUERY_MAX_FAILURES_PER_CLIENT):
        assert ask(case.number, WRONG, f"2001:db8:0:1::{n + 1:x}").status_code == 404
    assert ask(case.number, code, "2001:db8:0:1::ffff").status_code == 429
    assert ask(case.number, code, "2001:db8:0:2::1").status_code == 200


@pytest.mark.django_db
def test_the_evidence_review_shares_the_guard_and_never_locks_out_the_right_code(case, officer, make_staff):
    from reportlab.pdfgen import canvas

    from jiaoguan.core.identifiers import make_citizen_id

    head = make_staff(role="accident_head", jurisdiction="411700", username="head-411700")
    for stage in ["acceptance", "investigation", "determination"]:
        services.stage_record(actor=officer, case_id=case.pk, stage=stage, happened_on=TODAY)
    document = services.document_issue(
        actor=officer, case_id=case.pk, kind="determination", facts="甲车与乙车相撞。",
        responsibility=[("甲", "全部责任")],
    )  # fmt: skip
    services.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人")
    pdf = io.BytesIO()
    drawing = canvas.Canvas(pdf)
    drawing.drawString(72, 720, "scene")
    drawing.showPage()
    drawing.save()
    party, _credential, _code = services.party_add(
        actor=officer, case_id=case.pk, label="乙", name="赵敏", id_type="resident_id",
        id_number=make_citizen_id("411702", TODAY.replace(year=1990), 124), phone="13800002222",
    )  # fmt: skip
    item = services.evidence_item_add(
        actor=officer,
        case_id=case.pk,
        kind="scene_diagram",
        title="现场图",
        data=pdf.getvalue(),
        name="scene.pdf",
    )
    review, review_code = services.evidence_review_open(
        actor=officer, case_id=case.pk, party_id=party.pk, person_type="当事人", id_type="resident_id",
        id_number=party.id_number, phone="13800002222",
    )  # fmt: skip
    services.evidence_items_select(actor=officer, review_id=review.pk, item_ids=[item.pk])
    services.evidence_review_decide(actor=head, review_id=review.pk, approve=True)
    for n in range(rules.QUERY_CHALLENGE_AFTER):
        with pytest.raises(NotFound):
            services.evidence_access(accident_number=case.number, code=WRONG, client=f"ip:10.2.0.{n}")
    with pytest.raises(rules.ChallengeRequired) as asked:
        services.evidence_access(accident_number=case.number, code=review_code, client="ip:192.0.2.10")
    proof = solved(asked.value.detail, review_code)
    found = services.evidence_access(
        accident_number=case.number, code=review_code, client="ip:192.0.2.10", **proof
    )
    assert found.pk == review.pk


# ---------------------------------------------------------------- the same work either way


def _shape(sql: str) -> str:
    """The statement without its values: quoted strings, numbers and savepoint names become ?."""
    sql = re.sub(r'"s\d+_x\d+"', "?", sql)
    return re.sub(r"\b\d+(\.\d+)?\b", "?", re.sub(r"'(?:[^']|'')*'", "?", sql))


@pytest.mark.django_db
def test_an_unknown_number_and_a_wrong_code_do_the_same_work(case, code, monkeypatch):
    unknown = rules.accident_number_make(division="411702", opened_on=TODAY, serial=99999)
    hashed = []
    real_hash = services._code_hash
    monkeypatch.setattr(services, "_code_hash", lambda *args: hashed.append(args[0]) or real_hash(*args))
    shapes, answers = [], []
    for number, client in [(unknown, "ip:1"), (case.number, "ip:2")]:
        with pytest.raises(NotFound):  # first use of the lock rows this client and number map to
            services.progress_query(accident_number=number, code=WRONG, client=client)
        hashed.clear()
        with CaptureQueriesContext(connection) as queries, pytest.raises(NotFound) as failed:
            services.progress_query(accident_number=number, code=WRONG, client=client)
        shapes.append([_shape(q["sql"]) for q in queries.captured_queries])
        answers.append((failed.value.code, failed.value.message_zh, failed.value.detail))
        assert hashed == ["query"]  # one code hash
    assert shapes[0] == shapes[1]
    assert answers[0] == answers[1]
    assert QueryAttempt.objects.filter(number__in=[unknown, case.number]).count() == 4


# ---------------------------------------------------------------- parallel tries (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_codes_from_one_client_never_pass_its_limit(case, code, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("parallel tries are exercised on PostgreSQL")
    limit = rules.QUERY_MAX_FAILURES_PER_CLIENT

    def guess():
        return services.progress_query(accident_number=case.number, code=WRONG, client="ip:203.0.113.5")

    results = run_together(*[guess] * (limit + 8))
    assert all(isinstance(r, NotFound | Throttled) for r in results), results
    assert sum(isinstance(r, NotFound) for r in results) == limit
    assert QueryAttempt.objects.filter(client="ip:203.0.113.5").count() == limit


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_codes_from_many_clients_never_pass_the_numbers_threshold(case, code, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("parallel tries are exercised on PostgreSQL")
    limit = rules.QUERY_CHALLENGE_AFTER

    def guess(n: int):
        return lambda: services.progress_query(
            accident_number=case.number, code=WRONG, client=f"ip:10.3.0.{n}"
        )

    results = run_together(*[guess(n) for n in range(limit + 8)])
    assert all(isinstance(r, NotFound | rules.ChallengeRequired) for r in results), results
    assert sum(isinstance(r, NotFound) for r in results) == limit
    assert QueryAttempt.objects.filter(number=case.number).count() == limit
    # and the party still gets in
    with pytest.raises(rules.ChallengeRequired) as asked:
        services.progress_query(accident_number=case.number, code=code, client="ip:192.0.2.11")
    proof = solved(asked.value.detail, code)
    assert services.progress_query(
        accident_number=case.number, code=code, client="ip:192.0.2.11", **proof
    ).number


# ---------------------------------------------------------------- the pages


@pytest.fixture
def signing_keys(tmp_path, settings):
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True  # the first signature makes a key
    trust_cache_clear()
    yield
    trust_cache_clear()


@pytest.mark.django_db
def test_the_query_page_asks_for_the_proof_and_its_script_sends_it(case, code):
    wrong_codes(case.number, rules.QUERY_CHALLENGE_AFTER)
    browser = Client(REMOTE_ADDR="192.0.2.20")
    asked = browser.post("/accidents/query/", {"accident_number": case.number, "code": code})
    assert asked.status_code == 429
    page = asked.content.decode()
    challenge = re.search(r'name="challenge" value="([^"]+)"', page).group(1)
    assert f'data-bits="{rules.CHALLENGE_BITS_MIN}"' in page and 'name="solution" value=""' in page
    assert re.search(r'<script src="[^"]*accidents/challenge\.js" defer>', page)
    assert "<script>" not in page  # no inline script: the page works under a strict Content-Security-Policy
    assert "为保护当事人" in page and "扫码查询不需要此项验证" in page
    solution = rules.challenge_solve(challenge=challenge, code=code, bits=rules.CHALLENGE_BITS_MIN)
    answered = browser.post(
        "/accidents/query/",
        {"accident_number": case.number, "code": code, "challenge": challenge, "solution": solution},
    )
    assert answered.status_code == 302 and answered["Location"] == "/accidents/query/progress/"
    assert case.number in browser.get(answered["Location"]).content.decode()


@pytest.mark.django_db
def test_the_credentials_signed_qr_needs_no_proof(case, code, signing_keys):
    from jiaoguan.accidents.models import QueryCredential
    from jiaoguan.accidents.tokens import query_credential_token

    wrong_codes(case.number, rules.QUERY_CHALLENGE_AFTER)
    credential = QueryCredential.objects.get(case=case)
    token = query_credential_token(number=case.number, code=code, role="party", credential_id=credential.pk)
    answered = Client(REMOTE_ADDR="192.0.2.21").post("/accidents/query/", {"qr_text": token})
    assert answered.status_code == 302 and answered["Location"] == "/accidents/query/progress/"
