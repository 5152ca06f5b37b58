"""Staff revocation of electronic credentials (E4, D2) through the service and the back office:
reason and confirmation, jurisdiction, audit, and what the holder and verifiers see afterwards."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.models import AuditEntry
from jiaoguan.credentials import services
from jiaoguan.credentials.models import Credential
from jiaoguan.credentials.token import DisplayMode
from jiaoguan.credentials.verify import parse_trust_list, trust_list_json, verify_offline

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


@pytest.fixture
def owner(make_person):
    return make_person(name="周敏", mobile="13800138111")


@pytest.fixture
def owner_user(citizen, owner):
    return citizen(owner)


@pytest.fixture
def mark(owner, make_vehicle):
    vehicle = make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=400), plate="豫QF5K86")
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    assert credential is not None
    return credential


@pytest.fixture
def e_licence(owner, make_licence):
    licence = make_licence(holder=owner, valid_from=TODAY - timedelta(days=300))
    return services.licence_credential_issue(licence_id=licence.pk, event="test")


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700")


# ---------------------------------------------------------------- the service


def test_revoke_needs_a_reason(clerk, mark):
    for reason in ["", "  ", "x", "遗失", "长" * 101]:
        with pytest.raises(ValidationFailed) as refused:
            services.credential_revoke(actor=clerk, credential_id=mark.pk, reason=reason)
        assert refused.value.detail["field"] == "reason"
    mark.refresh_from_db()
    assert mark.status == "valid"


def test_revoke_ends_every_token_and_is_audited(clerk, mark, owner):
    text, _ = services.credential_token(credential=mark, mode=DisplayMode.OFFLINE)
    assert services.credential_verify(text=text).valid
    revoked = services.credential_revoke(actor=clerk, credential_id=mark.pk, reason=" 手机遗失 ")
    assert revoked.status == "revoked" and revoked.status_changed_by == clerk
    assert revoked.status_reason == "revoked by staff: 手机遗失"
    verdict = services.credential_verify(text=text)
    assert not verdict.valid and verdict.reason == "revoked"
    # offline verifiers learn it from the signed status list
    from jiaoguan.credentials import keys

    offline = verify_offline(
        text, trust=parse_trust_list(trust_list_json(keys.trust_list())), status_list=services.status_list_token(),
        now=int(timezone.now().timestamp()),
    )  # fmt: skip
    assert not offline.valid and offline.reason == "revoked"
    entry = AuditEntry.objects.get(
        subject_type="credentials.credential", subject_id=str(mark.pk), action="change"
    )
    assert entry.reason == "手机遗失" and entry.actor_id == clerk.pk and entry.subject_person_id == owner.pk
    with pytest.raises(Conflict):
        services.credential_revoke(actor=clerk, credential_id=mark.pk, reason="再次撤销")


def test_revoke_follows_the_table_and_the_jurisdiction(make_staff, mark, e_licence, owner_user):
    with pytest.raises(NotAllowed):
        services.credential_revoke(
            actor=make_staff(role="violation_officer"), credential_id=mark.pk, reason="手机遗失"
        )
    with pytest.raises(NotAllowed):
        services.credential_revoke(actor=owner_user, credential_id=mark.pk, reason="手机遗失")
    elsewhere = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-411600")
    with pytest.raises(NotFound):  # outside the jurisdiction: the same answer as a missing one
        services.credential_revoke(actor=elsewhere, credential_id=e_licence.pk, reason="驾驶证已被吊销")
    admin = make_staff(role="administrator", jurisdiction="410000", username="admin-410000")
    assert services.credential_revoke(
        actor=admin, credential_id=e_licence.pk, reason="驾驶证已被吊销"
    ).status == ("revoked")
    assert Credential.objects.get(pk=mark.pk).status == "valid"


def test_the_holder_sees_the_revocation_and_its_reason(client, clerk, mark, owner_user):
    services.credential_revoke(actor=clerk, credential_id=mark.pk, reason="手机遗失")
    client.force_login(owner_user)
    listing = text_of(client.get("/credentials/"))
    assert "已撤销" in listing and "手机遗失" in listing
    detail = client.get(f"/credentials/{mark.public_id}/")
    assert detail.status_code == 200 and "data-token" not in detail.content.decode()
    assert client.get(f"/credentials/{mark.public_id}/offline.txt").status_code == 302
    api = client.get("/api/v1/me/credentials")
    assert api.status_code == 200 and api.json()[0]["status"] == "revoked"


def test_a_revoked_mark_is_replaced_by_a_new_one_at_the_next_issue(clerk, mark):
    services.credential_revoke(actor=clerk, credential_id=mark.pk, reason="手机遗失")
    assert services.inspection_marks_bulk_issue() == 1
    new = Credential.objects.get(vehicle=mark.vehicle, status="valid")
    assert new.pk != mark.pk and new.public_id != mark.public_id
    assert Credential.objects.get(pk=mark.pk).status == "revoked"


# ---------------------------------------------------------------- the back office


def test_back_office_list_is_masked_and_scoped(client, clerk, mark, e_licence, make_person, make_vehicle):
    far = make_person(name="赵敏", area="411602")
    far_vehicle = make_vehicle(owner=far, division="411602", registered_on=TODAY - timedelta(days=400))
    far_mark = services.inspection_mark_issue(vehicle_id=far_vehicle.pk, event="test")
    client.force_login(clerk)
    page = client.get("/admin/credentials/credential/")
    assert page.status_code == 200
    body = text_of(page)
    assert "豫QF5K86" in body and "周*" in body and "周敏" not in body
    assert e_licence.licence.holder.id_number not in body  # the ID number is masked
    assert far_vehicle.plate_number not in body
    assert "检验标志电子凭证" in body and "有效" in body and "撤销…" in body
    assert client.get(f"/admin/credentials/credential/{far_mark.pk}/change/").status_code in (302, 404)
    # an exact plate finds the mark; nothing else is browsable by fragments
    assert "豫QF5K86" in text_of(client.get("/admin/credentials/credential/", {"q": "豫QF5K86"}))


def test_opening_a_credential_in_the_back_office_is_audited(client, clerk, mark):
    client.force_login(clerk)
    page = client.get(f"/admin/credentials/credential/{mark.pk}/change/")
    assert page.status_code == 200
    assert f"/admin/credentials/credential/{mark.pk}/revoke/" in page.content.decode()
    entry = AuditEntry.objects.get(subject_type="credentials.credential", action="view")
    assert entry.actor_id == clerk.pk and entry.summary == "后台查看电子凭证"


def test_back_office_revoke_asks_for_the_reason_and_a_confirmation(client, clerk, mark):
    client.force_login(clerk)
    url = f"/admin/credentials/credential/{mark.pk}/revoke/"
    page = client.get(url)
    assert page.status_code == 200 and "不能恢复" in text_of(page) and "撤销原因" in text_of(page)
    # The common confirmation pattern: "确认…" title, a reason textarea, a red button.
    assert "确认撤销电子凭证" in text_of(page) and "<textarea" in page.content.decode()
    assert "delete-confirmation" in page.content.decode()
    missing = client.post(url, {"reason": "", "confirm": "on"})
    assert missing.status_code == 200 and "请填写此项" in text_of(missing)
    too_short = client.post(url, {"reason": "丢了", "confirm": "on"})
    assert too_short.status_code == 200 and "至少4个字" in text_of(too_short)
    assert re.search(r'class="form-row errors".*?至少4个字.*?<textarea', too_short.content.decode(), re.S)
    unticked = client.post(url, {"reason": "手机遗失"})
    assert unticked.status_code == 200 and "请勾选确认后再提交" in text_of(unticked)
    mark.refresh_from_db()
    assert mark.status == "valid"
    done = client.post(url, {"reason": "手机遗失", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == "/admin/credentials/credential/"
    mark.refresh_from_db()
    assert mark.status == "revoked" and mark.status_reason.endswith("手机遗失")
    # a revoked credential offers no revoke step any more
    assert client.get(url).status_code == 302
    assert (
        f"{mark.pk}/revoke/"
        not in client.get(f"/admin/credentials/credential/{mark.pk}/change/").content.decode()
    )


def test_back_office_is_closed_to_roles_the_table_does_not_list(client, make_staff, mark):
    for role in ["violation_officer", "accident_officer", "auditor"]:
        client.force_login(make_staff(role=role))
        assert client.get("/admin/credentials/credential/").status_code == 403, role
        assert client.get(f"/admin/credentials/credential/{mark.pk}/revoke/").status_code == 403, role
    mark.refresh_from_db()
    assert mark.status == "valid"


def test_nothing_is_deleted_or_edited_in_the_back_office(client, clerk, mark):
    client.force_login(clerk)
    assert client.post(f"/admin/credentials/credential/{mark.pk}/delete/", {"post": "yes"}).status_code == 403
    changed = client.post(f"/admin/credentials/credential/{mark.pk}/change/", {"status": "revoked"})
    assert changed.status_code == 403
    mark.refresh_from_db()
    assert mark.status == "valid"
