"""Access matrix for the credential actions (E1-E6, D1-D4): every ``credentials.*`` action of the
access table x every role x a record inside ("own") or outside ("other") the actor's reach, through
the page, the API where there is one, and the back office. What happens must be what the table
says; an allowed probe checks the effect, a refused one that nothing happened to its record."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.models import AuditEntry
from jiaoguan.credentials import services
from jiaoguan.credentials.models import Credential, LicenceApplication
from jiaoguan.credentials.token import DisplayMode
from jiaoguan.registry.models import DrivingLicence, Vehicle

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
CREDENTIAL_ACTIONS = sorted(name for name in ACTIONS if name.startswith("credentials."))
ROLES = [role.value for role in Role]


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    # Logins are made by the hundred here; the password hash is not what is tested.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(access_world):
    """The shared access world with vehicles inside their inspection validity and licences in force."""
    w = access_world
    vehicles = [w.vehicle_a, w.vehicle_o, w.vehicle_c, w.vehicle_b]
    Vehicle.objects.filter(pk__in=[v.pk for v in vehicles]).update(registered_on=TODAY - timedelta(days=400))
    DrivingLicence.objects.filter(pk__in=[w.licence_a.pk, w.licence_b.pk, w.licence_c.pk]).update(
        valid_from=TODAY - timedelta(days=300)
    )
    return w


def mark_of(vehicle: Vehicle) -> Credential:
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="matrix")
    assert credential is not None
    return credential


def photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 180, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


# ---------------------------------------------------------------- probes: (channel, response, effect)


def _own_view(world: Any, role: str, where: str) -> list:
    mark = mark_of(world.records(role, where).vehicle)
    page = world.client(role).get(f"/credentials/{mark.public_id}/")
    api = world.api(role).post(
        f"/api/v1/me/credentials/{mark.public_id}/tokens",
        {"mode": "offline"},
        content_type="application/json",
    )
    return [
        ("page", page, page.status_code == 200 and "data-token" in page.content.decode()),
        ("api", api, api.status_code == 201 and api.json()["text"].startswith("VI1:")),
    ]


def _apply_exempt(world: Any, role: str, where: str) -> list:
    vehicle = world.records(role, where).vehicle
    # Almost two years old: the year-2 inspection is label-only and within its last three months (E2).
    Vehicle.objects.filter(pk=vehicle.pk).update(registered_on=TODAY - timedelta(days=365 * 2 - 30))
    page = world.client(role).post(f"/credentials/inspection/{vehicle.pk}/exempt/", {"delivery": ""})
    made = Credential.objects.filter(vehicle=vehicle, status="valid", event="exempt_applied").exists()
    return [("page", page, made)]


def _licence_apply(world: Any, role: str, where: str) -> list:
    """The page applies for the actor's own licence; "other" asks whether the other licence got one."""
    licence = world.records(role, where).licence
    page = world.client(role).post(
        "/credentials/licence/apply/",
        {"photo": SimpleUploadedFile("me.jpg", photo(), content_type="image/jpeg")},
    )
    return [("page", page, LicenceApplication.objects.filter(licence=licence).exists())]


def _photo_review(world: Any, role: str, where: str) -> list:
    licence = world.records(role, where).licence
    application = LicenceApplication.objects.create(
        licence=licence, applicant=world.citizen_user, photo=photo(), photo_type="jpeg"
    )
    page = world.client(role).post(f"/counter/photos/{application.pk}/", {"decision": "approve"})
    application.refresh_from_db()
    issued = (
        application.state == "approved"
        and Credential.objects.filter(licence=licence, status="valid").exists()
    )
    return [("page", page, issued)]


def _plate_check(world: Any, role: str, where: str) -> list:
    vehicle = world.records(role, where).vehicle
    page = world.client(role).get("/verify/plate/", {"plate": vehicle.plate_number})
    audited = AuditEntry.objects.filter(subject_type="registry.vehicle", subject_id=str(vehicle.pk)).exists()
    return [
        ("page", page, page.status_code == 200 and audited and vehicle.plate_number in page.content.decode())
    ]


def _verify(world: Any, role: str, where: str) -> list:
    mark = mark_of(world.records(role, where).vehicle)
    text, _ = services.credential_token(credential=mark, mode=DisplayMode.OFFLINE)
    page = world.client(role).post("/verify/", {"text": text})
    api = world.api(role).post("/api/v1/credentials/verify", {"text": text}, content_type="application/json")
    return [
        ("page", page, page.status_code == 200 and "verdict-valid" in page.content.decode()),
        ("api", api, api.status_code == 200 and api.json()["valid"] is True),
    ]


def _back_office_view(world: Any, role: str, where: str) -> list:
    mark = mark_of(world.records(role, where).vehicle)
    page = world.client(role).get(f"/admin/credentials/credential/{mark.pk}/change/")
    audited = AuditEntry.objects.filter(
        subject_type="credentials.credential", subject_id=str(mark.pk)
    ).exists()
    return [("back office", page, page.status_code == 200 and audited)]


def _back_office_revoke(world: Any, role: str, where: str) -> list:
    mark = mark_of(world.records(role, where).vehicle)
    page = world.client(role).post(
        f"/admin/credentials/credential/{mark.pk}/revoke/", {"reason": "手机遗失", "confirm": "on"}
    )
    return [("back office", page, Credential.objects.get(pk=mark.pk).status == "revoked")]


PROBES = {
    "credentials.own.view": _own_view,
    "credentials.mark.apply_exempt": _apply_exempt,
    "credentials.licence.apply": _licence_apply,
    "credentials.photo.review": _photo_review,
    "credentials.plate.check": _plate_check,
    "credentials.verify": _verify,
    "credentials.credential.view": _back_office_view,
    "credentials.credential.revoke": _back_office_revoke,
}


def test_every_credential_action_has_a_probe():
    assert sorted(PROBES) == CREDENTIAL_ACTIONS


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", CREDENTIAL_ACTIONS)
def test_credential_action_matrix(name, role, where, world, access_check):
    access_expected, access_outcome = access_check
    expected = access_expected(name, role, where)
    granted = ACTIONS[name].scope_for(Role(role)) is not None
    for channel, response, effect in PROBES[name](world, role, where):
        outcome = "allowed" if access_outcome(response) == "allowed" and effect else "refused"
        assert outcome == ("allowed" if expected else "refused"), (channel, response.status_code)
        if not granted:  # a role the table does not list is refused before anything is read
            assert access_outcome(response) == "refused", (channel, response.status_code)
