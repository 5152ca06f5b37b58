"""Elderly proxy (老年人代办, O2) with real-person authentication (U6): a relative's account asks to
act for a person aged 60 or over, the elderly person passes the fake provider's authentication,
and the relative applies for the one business on their behalf through the applications engine."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.utils import timezone
from PIL import Image

from jiaoguan.applications import services as application_services
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import DeliveryInput, MaterialInput
from jiaoguan.core.errors import Conflict, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.delegations import selectors, services
from jiaoguan.delegations.models import DelegatedAction, ProxyAuthorisation
from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.integrations.real_person import MAX_CAPTURE_BYTES
from jiaoguan.registry.portraits import placeholder_portrait

pytestmark = pytest.mark.django_db

PICKUP = DeliveryInput(method="pickup")


def image(colour=(180, 160, 140), size=(260, 320), fmt="JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


ID_CARD = image((230, 230, 250), (428, 270))
CAPTURE = image()


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def father(elder_due_for_renewal):
    return elder_due_for_renewal


@pytest.fixture
def daughter(relative_of_elder):
    return relative_of_elder


def texts(mobile: str) -> list[str]:
    # Nothing commits inside a test: deliver the engine's step, then the text its subscriber queued.
    outbox_dispatch()
    outbox_dispatch()
    return list(FakeSmsMessage.objects.filter(mobile=mobile).order_by("id").values_list("text", flat=True))


def create(actor, elder, **kw):
    args = {
        "actor": actor, "elder_id_number": elder.id_number, "elder_name": elder.name, "relationship": "child",
        "business_code": "B8", "id_card": ID_CARD, "id_card_content_type": "image/jpeg",
    }  # fmt: skip
    args.update(kw)
    return services.proxy_create(**args)


def active(daughter, father, real_person_service):
    proxy = create(daughter, father)
    return services.proxy_authenticate(actor=daughter, proxy_id=proxy.pk, capture=CAPTURE)


def submit(daughter, proxy, **kw):
    from jiaoguan.registry.models import DrivingLicence

    licence = DrivingLicence.objects.get(holder=proxy.elder)
    return services.proxy_application_submit(
        actor=daughter, proxy_id=proxy.pk, licence_id=licence.pk, delivery=PICKUP,
        materials=(MaterialInput(kind="photo", content=image(fmt="PNG"), filename="father.png"),), **kw,
    )  # fmt: skip


def test_create_waits_for_authentication_and_texts_the_elder(daughter, father):
    proxy = create(daughter, father)
    assert proxy.state == "awaiting_auth" and proxy.business_code == "B8"
    assert proxy.id_card_content_type == "image/jpeg"
    [sms] = texts(father.mobile)
    assert "张*" in sms and "机动车驾驶证期满换证" in sms and "12123" in sms


def test_under_sixty_is_refused_and_nothing_is_stored(daughter, make_person):
    younger = make_person(name="张建军", birth_date=date(1970, 1, 1), mobile="13903960070")
    with pytest.raises(ValidationFailed) as refused:
        create(daughter, younger)
    assert refused.value.code == "delegations.proxy.under_age"
    assert not ProxyAuthorisation.objects.exists() and not texts(younger.mobile)


def test_a_business_outside_the_list_is_refused(daughter, father):
    with pytest.raises(ValidationFailed) as refused:
        create(daughter, father, business_code="B12")
    assert refused.value.code == "delegations.proxy.business_not_allowed"
    assert not ProxyAuthorisation.objects.exists()


@pytest.mark.parametrize("field,value", [("elder_name", "张建"), ("elder_id_number", "411702195403021239")])
def test_an_unknown_or_mismatched_person_gets_one_neutral_refusal(daughter, father, field, value):
    with pytest.raises(ValidationFailed) as refused:
        create(daughter, father, **{field: value})
    assert refused.value.code == "delegations.proxy.elder_unverified"


def test_acting_for_oneself_and_bad_uploads_are_refused(father, citizen):
    own = citizen(father)
    with pytest.raises(ValidationFailed) as refused:
        create(own, father)
    assert refused.value.code == "delegations.proxy.self"


@pytest.mark.parametrize("upload", [b"", b"MZ\x90\x00 not an image", b"%PDF-1.4 broken"])
def test_a_bad_id_card_upload_is_refused(daughter, father, upload):
    with pytest.raises(ValidationFailed) as refused:
        create(daughter, father, id_card=upload)
    assert refused.value.code.startswith("upload.")
    assert not ProxyAuthorisation.objects.exists()


def test_authentication_passes_against_the_registry_photo(daughter, father, real_person_service):
    proxy = active(daughter, father, real_person_service)
    assert proxy.state == "active" and proxy.authentication_outcome == "pass"
    assert proxy.authentication_reference.startswith("RP") and proxy.authentication_attempts == 1
    assert proxy.valid_until == timezone.localdate() + timedelta(days=7)
    assert [r["key"] for r in real_person_service.requests()] == [father.id_number]
    assert "已通过实人认证" in texts(father.mobile)[-1]


def test_a_replayed_registry_photo_fails_liveness(daughter, father, real_person_service):
    proxy = create(daughter, father)
    proxy = services.proxy_authenticate(
        actor=daughter, proxy_id=proxy.pk, capture=placeholder_portrait(father.id_number)
    )
    assert proxy.state == "awaiting_auth" and proxy.authentication_outcome == "fail"
    assert proxy.authentication_reason == "liveness"
    assert "未通过" in texts(father.mobile)[-1]


def test_the_provider_told_to_fail_leaves_it_waiting_and_attempts_are_limited(
    daughter, father, real_person_service
):
    real_person_service.person(father.id_number, "fail")
    proxy = create(daughter, father)
    for _ in range(services.PROXY_MAX_AUTH_ATTEMPTS):
        proxy = services.proxy_authenticate(actor=daughter, proxy_id=proxy.pk, capture=CAPTURE)
        assert proxy.state == "awaiting_auth" and proxy.authentication_reason == "no_match"
    with pytest.raises(Conflict) as refused:
        services.proxy_authenticate(actor=daughter, proxy_id=proxy.pk, capture=CAPTURE)
    assert refused.value.code == "delegations.proxy.auth_attempts"
    assert len(real_person_service.requests()) == services.PROXY_MAX_AUTH_ATTEMPTS


def test_the_provider_unavailable_changes_nothing(daughter, father, real_person_service):
    real_person_service.behaviour(unavailable=True)
    proxy = create(daughter, father)
    before = texts(father.mobile)
    with pytest.raises(Unavailable) as refused:
        services.proxy_authenticate(actor=daughter, proxy_id=proxy.pk, capture=CAPTURE)
    assert refused.value.status == 503 and "暂时无法进行实人认证" in refused.value.message_zh
    proxy.refresh_from_db()
    assert (proxy.state, proxy.authentication_outcome, proxy.authentication_attempts) == (
        "awaiting_auth",
        "",
        0,
    )
    assert texts(father.mobile) == before


def test_a_capture_larger_than_the_provider_takes_is_refused_in_words(daughter, father, real_person_service):
    proxy = create(daughter, father)
    too_large = CAPTURE + b"\0" * (MAX_CAPTURE_BYTES + 1 - len(CAPTURE))
    with pytest.raises(ValidationFailed) as refused:
        services.proxy_authenticate(actor=daughter, proxy_id=proxy.pk, capture=too_large)
    assert refused.value.code == "delegations.proxy.capture"
    proxy.refresh_from_db()
    assert (proxy.state, proxy.authentication_attempts) == ("awaiting_auth", 0)
    assert real_person_service.requests() == []  # refused before the provider was asked


def test_someone_elses_proxy_is_not_found(daughter, father, make_person, citizen, real_person_service):
    proxy = create(daughter, father)
    stranger = citizen(make_person(name="赵敏", mobile="13800138002"))
    with pytest.raises(NotFound):
        services.proxy_authenticate(actor=stranger, proxy_id=proxy.pk, capture=CAPTURE)
    with pytest.raises(NotFound):
        services.proxy_application_submit(actor=stranger, proxy_id=proxy.pk, delivery=PICKUP)


def test_no_application_before_authentication(daughter, father):
    proxy = create(daughter, father)
    with pytest.raises(Conflict) as refused:
        submit(daughter, proxy)
    assert refused.value.code == "delegations.proxy.not_authenticated"
    assert not Application.objects.exists()


def test_the_relative_renews_the_fathers_licence_on_his_behalf(
    daughter, father, citizen, real_person_service
):
    father_user = citizen(father)
    proxy = active(daughter, father, real_person_service)
    app = submit(daughter, proxy)
    assert (app.applicant_id, app.subject_person_id, app.business_code) == (daughter.pk, father.pk, "B8")
    assert app.licence.holder_id == father.pk
    proxy.refresh_from_db()
    assert proxy.state == "used" and proxy.application_number == app.number
    [line] = selectors.acted_for_me(actor=father_user)
    assert (line.grant, line.outcome, line.reference, line.agent_user_id) == (
        "proxy",
        "pending",
        app.number,
        daughter.pk,
    )
    assert "已提交" in texts(father.mobile)[-1] and app.number in texts(father.mobile)[-1]
    # Both see the application in their list.
    from jiaoguan.applications import selectors as application_selectors

    assert [a.pk for a in application_selectors.my_applications(actor=father_user).items] == [app.pk]
    assert [a.pk for a in application_selectors.my_applications(actor=daughter).items] == [app.pk]
    assert application_selectors.my_application(actor=father_user, application_id=app.pk).pk == app.pk


def test_a_second_business_under_the_proxy_is_refused(daughter, father, real_person_service):
    proxy = active(daughter, father, real_person_service)
    submit(daughter, proxy)
    with pytest.raises(Conflict) as refused:
        submit(daughter, proxy)
    assert refused.value.code == "delegations.proxy.used"
    assert Application.objects.count() == 1


def test_an_action_outside_the_authorised_business_is_refused(daughter, father, real_person_service):
    proxy = active(daughter, father, real_person_service)
    with pytest.raises(ValidationFailed) as refused:
        submit(daughter, proxy, business_code="B10")
    assert refused.value.code == "delegations.proxy.business_outside"
    proxy.refresh_from_db()
    assert proxy.state == "active" and not Application.objects.exists()
    assert not DelegatedAction.objects.exists()


def test_every_step_is_texted_and_the_outcome_follows(
    daughter, father, citizen, make_staff, real_person_service
):
    father_user = citizen(father)
    proxy = active(daughter, father, real_person_service)
    app = submit(daughter, proxy)
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-px")
    application_services.application_reject(actor=clerk, application_id=app.pk, reason="照片不符合要求")
    sms = texts(father.mobile)
    assert "不予受理" in sms[-1] and app.number in sms[-1]
    [line] = selectors.acted_for_me(actor=father_user)
    assert line.outcome == "refused"


def test_revoking_the_proxy_withdraws_the_pending_application(daughter, father, citizen, real_person_service):
    father_user = citizen(father)
    proxy = active(daughter, father, real_person_service)
    app = submit(daughter, proxy)
    services.proxy_revoke(actor=father_user, proxy_id=proxy.pk, reason="不需要了")
    app.refresh_from_db()
    proxy.refresh_from_db()
    assert app.state == "withdrawn" and proxy.state == "revoked"
    [line] = selectors.acted_for_me(actor=father_user)
    assert line.outcome == "stopped"
    assert "已撤回" in texts(father.mobile)[-1]


def test_revoking_leaves_an_accepted_application_alone(
    daughter, father, citizen, make_staff, real_person_service
):
    proxy = active(daughter, father, real_person_service)
    app = submit(daughter, proxy)
    Application.objects.filter(pk=app.pk).update(state="accepted")
    services.proxy_revoke(actor=daughter, proxy_id=proxy.pk)
    app.refresh_from_db()
    assert app.state == "accepted"
    # Its line in the father's "who acted for me" stays in progress until the DMV finishes it.
    line = DelegatedAction.objects.get(grant="proxy", grant_id=proxy.pk)
    assert (line.reference, line.outcome) == (app.number, "pending")


def test_the_engine_is_unchanged_for_an_ordinary_applicant(father, citizen):
    own = citizen(father, level="counter")
    from jiaoguan.registry.models import DrivingLicence

    licence = DrivingLicence.objects.get(holder=father)
    app = application_services.application_submit(
        actor=own, business_code="B8", licence_id=licence.pk, delivery=PICKUP
    )
    assert (app.applicant_id, app.subject_person_id) == (own.pk, father.pk)
    assert not DelegatedAction.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_once_under_one_proxy_make_one_application(daughter, father, run_together):
    """One business per proxy holds under a race: the proxy row is locked, then re-read (O2)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    proxy = ProxyAuthorisation.objects.create(
        relative=daughter, elder=father, relationship="child", business_code="B8", state="active",
        id_card=ID_CARD, id_card_content_type="image/jpeg", authentication_outcome="pass",
        valid_until=timezone.localdate() + timedelta(days=7), created_at=timezone.now(),
    )  # fmt: skip
    results = run_together(*[lambda: submit(daughter, proxy)] * 3)
    assert sum(isinstance(r, Application) for r in results) == 1, results
    assert all(isinstance(r, (Application, Conflict)) for r in results), results
    assert Application.objects.count() == 1 and DelegatedAction.objects.count() == 1


def test_unused_proxies_past_their_last_day_are_written_down_as_lapsed(
    proxy_row, relative_of_elder, elder_person
):
    """O2: a proxy waiting for authentication or active but never used lapses after its last day;
    a used one stays used (its application goes on) and one still in date is left alone."""
    from jiaoguan.delegations.services import proxies_settle

    state = ProxyAuthorisation.State
    rows = {
        name: proxy_row(relative=relative_of_elder, elder=elder_person, business_code=code, state=st)
        for name, code, st in (
            ("waiting", "B8", state.AWAITING_AUTHENTICATION),
            ("active", "B9", state.ACTIVE),
            ("used", "B10", state.USED),
            ("in_date", "B11", state.ACTIVE),
        )
    }
    yesterday = timezone.localdate() - timedelta(days=1)
    ProxyAuthorisation.objects.exclude(pk=rows["in_date"].pk).update(valid_until=yesterday)
    assert proxies_settle() == 2
    after = {name: ProxyAuthorisation.objects.get(pk=row.pk).state for name, row in rows.items()}
    assert after == {
        "waiting": state.LAPSED,
        "active": state.LAPSED,
        "used": state.USED,
        "in_date": state.ACTIVE,
    }
    assert proxies_settle() == 0  # nothing twice
