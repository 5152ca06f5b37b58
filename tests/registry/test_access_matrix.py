"""Every ``registry.*`` action of the access table x every role x own/other jurisdiction (issue 9, item 1).

Each action is exercised through every way in that it governs: the citizen pages and the
API for one's own records, the back office for staff. The outcome of each way in must be
what the table says; an allowed probe checks the row really changed, a refused one that
nothing did. A registry action without a probe fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from itertools import count

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.identifiers import make_citizen_id, make_uscc, make_vin
from jiaoguan.registry.models import DrivingLicence, MedicalExamination, Organisation, Person, Vehicle

pytestmark = pytest.mark.django_db

REGISTRY_ACTIONS = sorted(name for name in ACTIONS if name.startswith("registry."))
ROLES = [role.value for role in Role]
ADMIN = "/admin/registry"
_serial = count(1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Logins are made for every case; the hash strength is not what this matrix tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def back_office(response, *, changed: bool, access_outcome) -> str:
    """A back-office answer as 'allowed' or 'refused', checked against the effect on the row.

    A save that the service refused comes back as the form with its errors (200); that is a
    refusal too, and nothing may have changed. An allowed save redirects and changes the row.
    """
    if response.status_code == 200 and response.context and "adminform" in response.context:
        outcome = "refused"
    else:
        outcome = access_outcome(response)
    assert changed == (outcome == "allowed"), (response.status_code, response.get("Location"), changed)
    return outcome


def read(response, access_outcome) -> str:
    return access_outcome(response)


# ------------------------------------------------------------------------ probes, one per action

Probe = Callable[..., dict[str, str]]


def own_view(world, role, where, outcome) -> dict[str, str]:
    vehicle = world.records(role, where).vehicle
    page = outcome(world.client(role).get(f"/vehicles/{vehicle.pk}/"))
    api = world.api(role).get("/api/v1/me/vehicles")
    if api.status_code == 200:
        listed = vehicle.pk in {item["id"] for item in api.json()["items"]}
        api_outcome = "allowed" if listed else "refused"
    else:
        api_outcome = outcome(api)
    return {"page": page, "api": api_outcome}


def view(model_path: str, attr: str) -> Probe:
    def probe(world, role, where, outcome) -> dict[str, str]:
        record = getattr(world.records(role, where), attr)
        response = world.client(role).get(f"{ADMIN}/{model_path}/{record.pk}/change/")
        return {"back_office": read(response, outcome)}

    return probe


def _person_form(division: str) -> dict:
    n = next(_serial)
    birth = date(1980, 1, 1 + n % 28)
    return {
        "id_type": "resident_id", "id_number": make_citizen_id(division, birth, 2 * n + 1), "name": f"测试{n}",
        "sex": "M", "birth_date": birth.isoformat(), "nationality": "CHN", "residence_division": division,
        "address": "", "mobile": "13800000000", "_save": "保存",
    }  # fmt: skip


def person_create(world, role, where, outcome) -> dict[str, str]:
    data = _person_form(world.records(role, where).division)
    response = world.client(role).post(f"{ADMIN}/person/add/", data)
    created = Person.objects.filter(id_number=data["id_number"]).exists()
    return {"back_office": back_office(response, changed=created, access_outcome=outcome)}


def person_change(world, role, where, outcome) -> dict[str, str]:
    person = world.records(role, where).person
    data = {
        "id_type": person.id_type, "id_number": person.id_number, "name": person.name, "sex": person.sex,
        "birth_date": person.birth_date.isoformat(), "nationality": person.nationality,
        "residence_division": person.residence_division, "address": "驿城区乐山大道1号", "mobile": person.mobile,
        "_save": "保存",
    }  # fmt: skip
    response = world.client(role).post(f"{ADMIN}/person/{person.pk}/change/", data)
    person.refresh_from_db()
    return {
        "back_office": back_office(
            response, changed=person.address == data["address"], access_outcome=outcome
        )
    }


def organisation_create(world, role, where, outcome) -> dict[str, str]:
    division = world.records(role, where).division
    uscc = make_uscc(f"91{division}MA4{next(_serial):05d}"[:17].ljust(17, "1"))
    data = {"uscc": uscc, "name": "驻马店市测试有限公司", "kind": "other", "division": division, "address": "",
            "phone": "", "legal_representative": "", "_save": "保存"}  # fmt: skip
    response = world.client(role).post(f"{ADMIN}/organisation/add/", data)
    created = Organisation.objects.filter(uscc=uscc).exists()
    return {"back_office": back_office(response, changed=created, access_outcome=outcome)}


def organisation_change(world, role, where, outcome) -> dict[str, str]:
    organisation = world.records(role, where).organisation
    data = {"uscc": organisation.uscc, "name": organisation.name, "kind": organisation.kind,
            "division": organisation.division, "address": "", "phone": "0396-2800000",
            "legal_representative": "", "_save": "保存"}  # fmt: skip
    response = world.client(role).post(f"{ADMIN}/organisation/{organisation.pk}/change/", data)
    organisation.refresh_from_db()
    changed = organisation.phone == "0396-2800000"
    return {"back_office": back_office(response, changed=changed, access_outcome=outcome)}


def _vehicle_form(vehicle_or_none, *, owner: Person, division: str, plate: str, vin: str) -> dict:
    return {
        "plate_number": plate, "plate_type": "02", "vin": vin, "kind": "small_passenger", "use_nature": "private",
        "brand_model": "", "colour": "蓝", "owner_person": str(owner.pk), "owner_organisation": "",
        "owner_mobile": "", "registered_on": "2021-04-01", "last_inspected_on": "", "status": ["A"],
        "division": division, "_save": "保存",
    }  # fmt: skip


def vehicle_create(world, role, where, outcome) -> dict[str, str]:
    records = world.records(role, where)
    n = next(_serial)
    vin = make_vin(f"LFV3B2FY0N{n:07d}")
    data = _vehicle_form(None, owner=records.person, division=records.division, plate=f"豫Q8{n:04d}", vin=vin)
    response = world.client(role).post(f"{ADMIN}/vehicle/add/", data)
    created = Vehicle.objects.filter(vin=vin).exists()
    return {"back_office": back_office(response, changed=created, access_outcome=outcome)}


def vehicle_change(world, role, where, outcome) -> dict[str, str]:
    vehicle = world.records(role, where).vehicle
    data = _vehicle_form(
        vehicle, owner=vehicle.owner_person or world.person_a, division=vehicle.division,
        plate=vehicle.plate_number, vin=vehicle.vin,
    )  # fmt: skip
    data["registered_on"] = vehicle.registered_on.isoformat()
    if vehicle.owner_organisation_id:
        data["owner_person"], data["owner_organisation"] = "", str(vehicle.owner_organisation_id)
    data["colour"] = "绿"
    response = world.client(role).post(f"{ADMIN}/vehicle/{vehicle.pk}/change/", data)
    vehicle.refresh_from_db()
    return {"back_office": back_office(response, changed=vehicle.colour == "绿", access_outcome=outcome)}


def vehicle_inspection_pass(world, role, where, outcome) -> dict[str, str]:
    vehicle = world.records(role, where).vehicle
    Vehicle.objects.filter(pk=vehicle.pk).update(last_inspected_on=None)
    response = world.client(role).post(
        f"{ADMIN}/vehicle/",
        {"action": "record_inspection_passed", "_selected_action": [vehicle.pk], "index": 0},
    )
    assert response.status_code != 500
    vehicle.refresh_from_db()
    recorded = vehicle.last_inspected_on == timezone.localdate()
    # The list answers with itself whether the action ran, was refused per vehicle or is not
    # offered to the role (200 or 302); 403 without the list. The effect tells what happened.
    assert response.status_code in (200, 302, 403), response.status_code
    if response.status_code == 302 and "/login" in response["Location"]:
        assert not recorded
        return {"back_office": "refused"}
    return {"back_office": "allowed" if recorded else "refused"}


def licence_create(world, role, where, outcome) -> dict[str, str]:
    division = world.records(role, where).division
    n = next(_serial)
    holder = Person.objects.create(
        id_number=make_citizen_id(division, date(1990, 2, 3), 2 * n + 1), name="持证人", sex="M",
        birth_date=date(1990, 2, 3), residence_division=division,
    )  # fmt: skip
    data = {
        "holder": str(holder.pk), "archive_number": f"4117{n:08d}", "classes": "C1", "first_issued_on": "2012-05-06",
        "valid_from": "2018-05-06", "validity_term": "10y", "probation_started_on": "", "last_medical_on": "",
        "last_reviewed_on": "", "cancelled_on": "", "remarks": "", "mobile": "", "postal_address": "",
        "division": division, "_save": "保存",
    }  # fmt: skip
    response = world.client(role).post(f"{ADMIN}/drivinglicence/add/", data)
    created = DrivingLicence.objects.filter(holder=holder).exists()
    return {"back_office": back_office(response, changed=created, access_outcome=outcome)}


def licence_change(world, role, where, outcome) -> dict[str, str]:
    licence = world.records(role, where).licence
    data = {
        "archive_number": licence.archive_number, "classes": "C1E",
        "first_issued_on": licence.first_issued_on.isoformat(), "valid_from": licence.valid_from.isoformat(),
        "validity_term": licence.validity_term, "probation_started_on": "", "last_medical_on": "",
        "last_reviewed_on": "", "cancelled_on": "", "remarks": "", "mobile": licence.mobile,
        "postal_address": licence.postal_address, "division": licence.division, "_save": "保存",
    }  # fmt: skip
    response = world.client(role).post(f"{ADMIN}/drivinglicence/{licence.pk}/change/", data)
    licence.refresh_from_db()
    return {"back_office": back_office(response, changed=licence.classes == "C1E", access_outcome=outcome)}


# ------------------------------------------------------------------------ hospital examinations (B6/B7)


def _as_hospital(world, *organisations) -> None:
    """The world's organisations act as hospitals (B6/B7 are for hospitals only, U5)."""
    for organisation in organisations:
        organisation.kind = "hospital"
        organisation.save(update_fields=["kind"])
    actor = world._actors.get("organisation")
    if actor is not None:
        actor.organisation.refresh_from_db()


def _examination(world, role, where) -> MedicalExamination:
    """An examination of the side's licence, by the actor's hospital (own) or another one (other)."""
    records = world.records(role, where)
    hospital = records.organisation if role == "organisation" else world.organisation
    licence = records.licence
    return MedicalExamination.objects.create(
        hospital=hospital, person_id=licence.holder_id, licence=licence, division=hospital.division,
        classes_applied="C1", height_cm=170, vision_left="5.0", vision_right="5.0", colour_vision_ok=True,
        hearing_left_ok=True, hearing_right_ok=True, upper_limbs="normal", lower_limbs="normal",
        trunk_neck_ok=True, doctor_name="周明", examined_on=timezone.localdate(), conclusion="fit",
    )  # fmt: skip


def medical_record(world, role, where, outcome) -> dict[str, str]:
    # Own: the actor's organisation is a hospital; other: it is not (a transport company).
    if where == "own":
        _as_hospital(world, world.organisation)
    person = world.records(role, where).person
    before = MedicalExamination.objects.count()
    body = {
        "id_number": person.id_number, "name": person.name, "classes_applied": "C1", "height_cm": 170,
        "vision_left": "5.0", "vision_right": "5.0", "colour_vision_ok": True, "hearing_left_ok": True,
        "hearing_right_ok": True, "upper_limbs": "normal", "lower_limbs": "normal", "trunk_neck_ok": True,
        "doctor_name": "周明", "examined_on": timezone.localdate().isoformat(), "conclusion": "fit",
    }  # fmt: skip
    response = world.api(role).post("/api/v1/hospital/examinations", body, content_type="application/json")
    return {
        "api": back_office(
            response, changed=MedicalExamination.objects.count() > before, access_outcome=outcome
        )
    }


def medical_submit(world, role, where, outcome) -> dict[str, str]:
    _as_hospital(world, world.organisation, world.organisation_b)
    examination = _examination(world, role, where)
    response = world.api(role).post(f"/api/v1/hospital/examinations/{examination.pk}/certificate")
    examination.refresh_from_db()
    return {
        "api": back_office(response, changed=examination.submitted_at is not None, access_outcome=outcome)
    }


def medical_view(world, role, where, outcome) -> dict[str, str]:
    _as_hospital(world, world.organisation, world.organisation_b)
    examination = _examination(world, role, where)
    page = outcome(world.client(role).get(f"/hospital/examinations/{examination.pk}/"))
    api = outcome(world.api(role).get(f"/api/v1/hospital/examinations/{examination.pk}"))
    return {"page": page, "api": api}


# ------------------------------------------------------------------------ mortgages (issue 14, O6)
# The bank's system is an outside system: the probes answer its contract check with a "yes", so
# what decides the outcome is the access table (and that only a bank files).


def _as_bank(world, *organisations) -> dict:
    """Make the organisations banks with an ES256 seal key each; returns {organisation id: (key, private pem)}."""
    from jiaoguan.core.seals import fingerprint, public_der_from_pem, seal_key_generate
    from jiaoguan.registry.models import OrganisationSealKey

    keys = {}
    for organisation in organisations:
        organisation.kind = "bank"
        organisation.save(update_fields=["kind"])
        private, public = seal_key_generate("ES256")
        key = OrganisationSealKey.objects.create(
            organisation=organisation, algorithm="ES256", public_key_pem=public,
            fingerprint=fingerprint(public_der_from_pem(public)),
        )  # fmt: skip
        keys[organisation.pk] = (key, private)
    actor = world._actors.get("organisation")
    if actor is not None:
        actor.organisation.refresh_from_db()
    return keys


def _bank_says_yes():
    from unittest import mock

    from jiaoguan.integrations.bank import ContractCheck

    class Yes:
        def contract_check(self, question):
            state = "active" if question.purpose == "file" else "settled"
            return ContractCheck(check_id=question.check_id(), confirmed=True, state=state, mismatches=())

    return mock.patch("jiaoguan.registry.mortgages.get_bank_service", return_value=Yes())


def _signed(key, private, payload) -> dict:
    from jiaoguan.core.seals import seal_sign

    return {
        "payload": payload, "key_fingerprint": key.fingerprint,
        "signature": seal_sign(algorithm="ES256", private_pem=private, payload=payload),
    }  # fmt: skip


def _mortgage(vehicle, holder, key):
    from jiaoguan.registry.models import VehicleMortgage

    return VehicleMortgage.objects.create(
        vehicle=vehicle, mortgagee=holder, division=vehicle.division, contract_number=f"DY-{next(_serial)}",
        principal_fen=100_000, term_start=timezone.localdate(), term_end=timezone.localdate(),
        filed_at=timezone.now(), filing_payload=json.dumps({"borrower_id_number": vehicle.owner_person.id_number}),
        filing_signature="x", filing_key=key,
    )  # fmt: skip


def mortgage_file(world, role, where, outcome) -> dict[str, str]:
    import secrets
    import time

    from jiaoguan.registry.models import VehicleMortgage

    # Own: the actor's organisation is a bank with its key; other: it is not (a transport company).
    keys = _as_bank(world, world.organisation) if where == "own" else {}
    key, private = (
        keys.get(world.organisation.pk) or _as_bank(world, world.organisation_b)[world.organisation_b.pk]
    )
    vehicle = world.vehicle_a
    payload = {
        "action": "mortgage.file", "mortgagee_uscc": key.organisation.uscc, "vin": vehicle.vin,
        "borrower_id_number": vehicle.owner_person.id_number, "contract_number": f"DY-{next(_serial)}",
        "principal_fen": 100_000, "term_start": "2026-01-01", "term_end": "2028-12-31",
        "signed_at": int(time.time()), "nonce": secrets.token_hex(16),
    }  # fmt: skip
    with _bank_says_yes():
        response = world.api(role).post(
            "/api/v1/mortgages", _signed(key, private, payload), content_type="application/json"
        )
    filed = VehicleMortgage.objects.filter(vehicle=vehicle, state="filed").exists()
    return {"api": back_office(response, changed=filed, access_outcome=outcome)}


def mortgage_release(world, role, where, outcome) -> dict[str, str]:
    import secrets
    import time

    # Own: the actor's bank holds the mortgage; other: another bank does.
    keys = _as_bank(world, world.organisation, world.organisation_b)
    holder = world.organisation if where == "own" else world.organisation_b
    mortgage = _mortgage(world.vehicle_a, holder, keys[holder.pk][0])
    signer, signer_private = keys[world.organisation.pk]
    payload = {
        "action": "mortgage.release", "mortgage_id": mortgage.pk, "mortgagee_uscc": signer.organisation.uscc,
        "vin": mortgage.vehicle.vin, "contract_number": mortgage.contract_number,
        "signed_at": int(time.time()), "nonce": secrets.token_hex(16),
    }  # fmt: skip
    with _bank_says_yes():
        response = world.api(role).post(
            f"/api/v1/mortgages/{mortgage.pk}/release", _signed(signer, signer_private, payload),
            content_type="application/json",
        )  # fmt: skip
    mortgage.refresh_from_db()
    return {"api": back_office(response, changed=mortgage.state == "released", access_outcome=outcome)}


def mortgage_view(world, role, where, outcome) -> dict[str, str]:
    # Own: the actor's bank's mortgage of a vehicle inside; other: another bank's, or outside for staff.
    keys = _as_bank(world, world.organisation, world.organisation_b)
    if role == "organisation":
        holder, vehicle = (world.organisation if where == "own" else world.organisation_b), world.vehicle_a
    else:
        holder, vehicle = world.organisation, world.records(role, where).vehicle
    mortgage = _mortgage(vehicle, holder, keys[holder.pk][0])
    outcomes = {"api": outcome(world.api(role).get(f"/api/v1/mortgages/{mortgage.pk}"))}
    if role == "organisation":
        page = world.client(role).get("/bank/mortgages/")
        listed = page.status_code == 200 and mortgage.contract_number in page.content.decode()
        outcomes["page"] = "allowed" if listed else "refused"
    return outcomes


def seal_key_register(world, role, where, outcome) -> dict[str, str]:
    from jiaoguan.core.errors import DomainError
    from jiaoguan.core.seals import seal_key_generate
    from jiaoguan.registry import mortgages
    from jiaoguan.registry.models import OrganisationSealKey

    organisation = world.organisation if where == "own" else world.organisation_b
    _as_bank(world, organisation)
    before = OrganisationSealKey.objects.count()
    _, public = seal_key_generate("ES256")
    try:
        mortgages.seal_key_register(
            actor=world.actor(role), organisation_id=organisation.pk, algorithm="ES256", public_key_pem=public
        )
        service = "allowed"
    except DomainError:
        service = "refused"
    assert (service == "allowed") == (OrganisationSealKey.objects.count() > before)
    outcomes = {"service": service}
    if where == "own":
        _, public = seal_key_generate("ES256")
        data = {"organisation": organisation.pk, "algorithm": "ES256", "public_key_pem": public}
        response = world.client(role).post("/counter/seal-keys/", data)
        outcomes["page"] = outcome(response)
    return outcomes


# ------------------------------------------------------------------------ temporary plates (issue 14, B18)


def _as_dealer(world, *organisations) -> None:
    """The world's organisations act as car dealers (B18 is for car dealers only, U5)."""
    for organisation in organisations:
        organisation.kind = "car_dealer"
        organisation.save(update_fields=["kind"])
    actor = world._actors.get("organisation")
    if actor is not None:
        actor.organisation.refresh_from_db()


def _temporary_plate(world, role, where):
    """A plate of the actor's dealership (own) or another one's (other; for staff: outside)."""
    from jiaoguan.registry.models import TemporaryPlate

    dealer = world.records(role, where).organisation
    n = next(_serial)
    today = timezone.localdate()
    return TemporaryPlate.objects.create(
        dealer=dealer, vin=make_vin(f"LFV3A23C0N{n:07d}"), number=f"豫Q临9{n:04d}", issue_no=1,
        kind="small_passenger", brand_model="比亚迪牌 BYD7006BEV", valid_from=today, valid_until=today,
        insurance_required=False, division=dealer.division,
    )  # fmt: skip


def temporary_plate_apply(world, role, where, outcome) -> dict[str, str]:
    # Own: the actor's organisation is a car dealer; other: it is not (a transport company). A
    # motorcycle, which O7 does not ask the insurer about, keeps the insurer out of this matrix.
    from jiaoguan.registry.models import TemporaryPlate

    if where == "own":
        _as_dealer(world, world.organisation)
    before = TemporaryPlate.objects.count()
    body = {
        "vin": make_vin(f"LFV3A23C0M{next(_serial):07d}"), "brand_model": "五羊-本田牌 WH125",
        "kind": "motorcycle", "days": 10,
    }  # fmt: skip
    response = world.api(role).post("/api/v1/temporary-plates", body, content_type="application/json")
    return {
        "api": back_office(response, changed=TemporaryPlate.objects.count() > before, access_outcome=outcome)
    }


def temporary_plate_view(world, role, where, outcome) -> dict[str, str]:
    _as_dealer(world, world.organisation, world.organisation_b)
    plate = _temporary_plate(world, role, where)
    page = outcome(world.client(role).get(f"/dealer/temporary-plates/{plate.pk}/"))
    response = world.api(role).get("/api/v1/temporary-plates")
    listed = response.status_code == 200 and plate.number in {r["number"] for r in response.json()["items"]}
    return {"page": page, "api": "allowed" if listed else "refused"}


def temporary_plate_revoke(world, role, where, outcome) -> dict[str, str]:
    plate = _temporary_plate(world, role, where)
    response = world.client(role).post(
        f"/counter/temporary-plates/{plate.pk}/revoke", {"reason": "车辆已注册登记"}
    )
    plate.refresh_from_db()
    revoked = plate.revoked_at is not None
    result = outcome(response)
    if result == "allowed" and not revoked:
        result = "refused"  # redirected back with a refusal message
    return {"page": result}


PROBES: dict[str, Probe] = {
    "registry.own.view": own_view,
    "registry.person.view": view("person", "person"),
    "registry.person.create": person_create,
    "registry.person.change": person_change,
    "registry.organisation.view": view("organisation", "organisation"),
    "registry.organisation.create": organisation_create,
    "registry.organisation.change": organisation_change,
    "registry.vehicle.view": view("vehicle", "vehicle"),
    "registry.vehicle.create": vehicle_create,
    "registry.vehicle.change": vehicle_change,
    "registry.vehicle.inspection_pass": vehicle_inspection_pass,
    "registry.licence.view": view("drivinglicence", "licence"),
    "registry.licence.create": licence_create,
    "registry.licence.change": licence_change,
    "registry.medical.record": medical_record,
    "registry.medical.submit": medical_submit,
    "registry.medical.view": medical_view,
    "registry.mortgage.file": mortgage_file,
    "registry.mortgage.release": mortgage_release,
    "registry.mortgage.view": mortgage_view,
    "registry.seal_key.register": seal_key_register,
    "registry.temporary_plate.apply": temporary_plate_apply,
    "registry.temporary_plate.view": temporary_plate_view,
    "registry.temporary_plate.revoke": temporary_plate_revoke,
}


def test_every_registry_action_has_a_probe():
    assert set(PROBES) == set(REGISTRY_ACTIONS)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", REGISTRY_ACTIONS)
def test_registry_action_matrix(name, role, where, access_world, access_check):
    access_expected, access_outcome = access_check
    probe = PROBES[name]  # a new action without a probe fails here, it is never skipped
    expected = "allowed" if access_expected(name, role, where) else "refused"

    outcomes = probe(access_world, role, where, access_outcome)

    assert outcomes == dict.fromkeys(outcomes, expected), (name, role, where)
