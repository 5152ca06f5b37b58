"""The access table for accounts.* and core.*: every action x role x own/other record, through the
page, the API, the back office and the service, must do exactly what core/access.py says.

Each probe performs its action with valid input as ``role`` on the "own" or "other" side and
answers whether it took effect (a row created or changed, a record shown). Actions that only
ever act on the actor's own data (contact details, my access log) have no "other" record to aim
at: their "other" probe answers False without a request, since no way in names another person.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from jiaoguan.accounts import services
from jiaoguan.accounts.models import OrganisationMember, User
from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated
from jiaoguan.core.identifiers import make_citizen_id, make_uscc
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.models import Person

PASSWORD = "Lvse-Chuxing9"
MATRIX_ACTIONS = sorted(n for n in ACTIONS if n.startswith(("accounts.", "core.")))
_serial = {"n": 0}


def _new_person(area: str) -> Person:
    _serial["n"] += 1
    return Person.objects.create(
        id_number=make_citizen_id(area, date(1990, 1, 2), 500 + _serial["n"] * 2 + 1),
        name="孙丽",
        birth_date=date(1990, 1, 2),
        residence_division=area,
        mobile="13700137000",
    )


def _online_account(person: Person) -> User:
    return User.objects.create_user(
        username=person.id_number, password=PASSWORD, person=person, registration_level="online"
    )


def _actor(world, role):
    """The role's user for a service call; an anonymous web visitor, not the system (None)."""
    from django.contrib.auth.models import AnonymousUser

    return world.actor(role) or AnonymousUser()


# ---------------------------------------------------------------- probes: (world, role, where) -> took effect


def counter_enter(world, role, where):
    response = world.client(role).get("/counter/")
    return response.status_code == 200 and "窗口业务" in response.content.decode()


def back_office_enter(world, role, where):
    response = world.client(role).get("/admin/")
    return response.status_code == 200


def audit_view(world, role, where):
    """The audit trail lists rows of staff inside the jurisdiction only."""
    division = world.records("administrator", where).division
    writer = world.make_staff(role="counter_clerk", jurisdiction=division, username=f"writer-{where}-{role}")
    entry = audit_record(actor=writer, action="view", subject=world.person_a, summary=f"matrix {where}")
    client = world.client(role)
    listed = client.get("/admin/core/auditentry/")
    opened = client.get(f"/admin/core/auditentry/{entry.pk}/change/")
    shown_in_list = listed.status_code == 200 and f"matrix {where}" in listed.content.decode()
    return shown_in_list and opened.status_code == 200


def register_at_counter(world, role, where):
    person = _new_person(world.records("counter_clerk", where).division)
    data = {
        "id_type": "resident_id", "id_number": person.id_number, "name": person.name,
        "mobile": "13912340001", "password": PASSWORD,
    }  # fmt: skip
    world.client(role).post("/counter/register/", data)
    return User.objects.filter(person=person, registration_level="counter").exists()


def upgrade(world, role, where):
    person = _new_person(world.records("counter_clerk", where).division)
    user = _online_account(person)
    world.client(role).post("/counter/upgrade/", {"user_id": user.pk, "document_checked": "on"})
    user.refresh_from_db()
    return user.registration_level == "counter"


def recover(world, role, where):
    person = _new_person(world.records("counter_clerk", where).division)
    user = _online_account(person)
    data = {
        "user_id": user.pk, "mobile": "13912349999", "document_checked": "on",
        "id_type": "resident_id", "id_number": person.id_number,
    }  # fmt: skip
    world.client(role).post("/counter/recover/", data)
    user.refresh_from_db()
    return user.mobile == "13912349999"


def lookup(world, role, where):
    person = _new_person(world.records("counter_clerk", where).division)
    _online_account(person)
    page = world.client(role).get(
        "/counter/upgrade/", {"id_type": "resident_id", "id_number": person.id_number}
    )
    found_on_page = (
        page.status_code == 200 and page.context is not None and page.context.get("found") is not None
    )
    try:
        from jiaoguan.accounts.selectors import account_find_for_counter

        found = account_find_for_counter(
            actor=_actor(world, role), id_type="resident_id", id_number=person.id_number
        )
    except (NotAllowed, Unauthenticated):
        found = None
    assert found_on_page == (found is not None), "the page and the service disagree"
    return found is not None


def organisation_register(world, role, where):
    division = world.records("counter_clerk", where).division
    _serial["n"] += 1
    rep = _new_person(division)
    uscc = make_uscc(f"91{division}MA4{_serial['n']:06d}"[:17])
    data = {
        "uscc": uscc, "organisation_name": f"驻马店市矩阵测试{_serial['n']}有限公司", "kind": "transport_company",
        "division": division, "address": "", "representative_role": "legal_representative",
        "authorisation_reference": "", "representative_id_type": "resident_id",
        "representative_id_number": rep.id_number, "representative_name": rep.name,
        "mobile": "13912340002", "password": PASSWORD,
    }  # fmt: skip
    world.client(role).post("/counter/organisations/new/", data)
    by_page = User.objects.filter(username=uscc).exists()
    # The division list of the page offers only the clerk's jurisdiction; the service checks on its own.
    try:
        services.organisation_register(
            actor=_actor(world, role), uscc=make_uscc(f"92{division}MA4{_serial['n']:06d}"[:17]),
            name=f"驻马店市矩阵服务{_serial['n']}有限公司", kind="transport_company", division=division,
            representative_id_type="resident_id", representative_id_number=rep.id_number,
            representative_name=rep.name, representative_role="legal_representative",
            mobile="13912340003", password=PASSWORD,
        )  # fmt: skip
        by_service = True
    except (NotAllowed, Unauthenticated):
        by_service = False
    assert by_page == by_service, "the page and the service disagree"
    return by_service


def organisation_members(world, role, where):
    organisation = world.records("counter_clerk", where).organisation
    person = _new_person(organisation.division)
    data = {
        "role": "member", "id_type": "resident_id", "id_number": person.id_number, "name": person.name,
        "authorisation_reference": "",
    }  # fmt: skip
    world.client(role).post(f"/counter/organisations/{organisation.pk}/members/", data)
    return OrganisationMember.objects.filter(organisation=organisation, person=person).exists()


def staff_manage(world, role, where):
    """Staff logins are made by the service (from the command line and the demo); there is no page."""
    division = world.records("administrator", where).division
    try:
        services.staff_create(
            actor=_actor(world, role), username=f"new-{role}-{where}", password="Counter#2026x",
            role="counter_clerk", jurisdiction=division,
        )  # fmt: skip
    except (NotAllowed, Unauthenticated):
        return False
    return True


def account_view(world, role, where):
    person = world.records("administrator", where).person
    account = world.citizen_user if person == world.person_a else _online_account(person)
    client = world.client(role)
    before = AuditEntry.objects.filter(subject_type="accounts.user", subject_id=str(account.pk)).count()
    response = client.get(f"/admin/accounts/user/{account.pk}/change/")
    after = AuditEntry.objects.filter(subject_type="accounts.user", subject_id=str(account.pk)).count()
    shown = response.status_code == 200
    assert shown == (after == before + 1), "an opened account is audited, a refused one is not"
    return shown


def contact_change(world, role, where):
    if where == "other":
        return False  # no page or endpoint names another person's contact details
    user = world.actor(role)
    mobile = "13698765432"
    try:
        services.sms_code_send(mobile=mobile, purpose="change_mobile")
    except Exception:
        pass
    from jiaoguan.core.outbox import outbox_dispatch
    from jiaoguan.integrations.models import FakeSmsMessage

    outbox_dispatch()
    text = FakeSmsMessage.objects.filter(mobile=mobile).order_by("-id").first().text
    code = re.search(r"(\d{6})", text).group(1)
    world.client(role).post("/me/contact/", {"mobile": mobile, "sms_code": code, "postal_address": ""})
    page_changed = user is not None and User.objects.get(pk=user.pk).mobile == mobile
    api = world.api(role).post(
        "/api/v1/me/contact", {"mobile": mobile, "sms_code": code}, content_type="application/json"
    )
    assert api.status_code in (200, 401, 403, 422), api.content
    if page_changed:
        assert api.status_code == 422  # the code was used by the page; the API got as far as checking it
    else:
        assert api.status_code in (401, 403)
    return page_changed


def access_log_view(world, role, where):
    if where == "other":
        return False  # "who accessed my data" has no parameter naming someone else
    response = world.api(role).get("/api/v1/me/access-log")
    return response.status_code == 200


def business_open(world, role, where):
    if where == "other":
        return False
    api = world.api(role).get("/api/v1/me/businesses/B16")
    page = world.client(role).get("/services/B16/")
    assert (api.status_code == 200) == (
        page.status_code in (200, 302) and "/login" not in page.get("Location", "")
    )
    return api.status_code == 200


def _matrix_counter(world, role, where):
    from jiaoguan.core.models import ServiceCounter

    _serial["n"] += 1
    return ServiceCounter.objects.create(
        name=f"矩阵窗口{_serial['n']}", division=world.records("administrator", where).division,
        address="矩阵路1号", hours="周一至周五 9:00–17:00",
    )  # fmt: skip


def service_counter_view(world, role, where):
    counter = _matrix_counter(world, role, where)
    client = world.client(role)
    listed = client.get("/admin/core/servicecounter/")
    opened = client.get(f"/admin/core/servicecounter/{counter.pk}/change/")
    shown = listed.status_code == 200 and counter.name in listed.content.decode()
    return shown and opened.status_code == 200


def service_counter_change(world, role, where):
    from jiaoguan.core.models import ServiceCounter

    counter = _matrix_counter(world, role, where)
    data = {
        "name": counter.name, "division": counter.division, "address": counter.address,
        "hours": "矩阵已改", "phone": "", "businesses": "", "active": "on",
    }  # fmt: skip
    world.client(role).post(f"/admin/core/servicecounter/{counter.pk}/change/", data)
    return ServiceCounter.objects.get(pk=counter.pk).hours == "矩阵已改"


def _matrix_calendar_day():
    from datetime import timedelta

    from jiaoguan.core.models import CalendarDay

    _serial["n"] += 1
    return CalendarDay.objects.create(
        date=date(2030, 1, 1) + timedelta(days=_serial["n"]), kind="holiday", name=f"矩阵假日{_serial['n']}"
    )


def calendar_view(world, role, where):
    """The calendar is national: the "other" side is the same table."""
    day = _matrix_calendar_day()
    client = world.client(role)
    listed = client.get("/admin/core/calendarday/")
    opened = client.get(f"/admin/core/calendarday/{day.pk}/change/")
    return listed.status_code == 200 and day.name in listed.content.decode() and opened.status_code == 200


def calendar_change(world, role, where):
    from jiaoguan.core.models import CalendarDay

    day = _matrix_calendar_day()
    data = {"date": f"{day.date:%Y-%m-%d}", "kind": "working_day", "name": day.name, "note": "矩阵已改"}
    world.client(role).post(f"/admin/core/calendarday/{day.pk}/change/", data)
    return CalendarDay.objects.get(pk=day.pk).note == "矩阵已改"


PROBES = {
    "core.counter.enter": counter_enter,
    "core.back_office.enter": back_office_enter,
    "core.audit.view": audit_view,
    "core.service_counter.view": service_counter_view,
    "core.service_counter.change": service_counter_change,
    "core.calendar.view": calendar_view,
    "core.calendar.change": calendar_change,
    "accounts.individual.register_at_counter": register_at_counter,
    "accounts.individual.upgrade": upgrade,
    "accounts.individual.recover": recover,
    "accounts.account.lookup": lookup,
    "accounts.organisation.register": organisation_register,
    "accounts.organisation.members": organisation_members,
    "accounts.staff.manage": staff_manage,
    "accounts.account.view": account_view,
    "accounts.contact.change": contact_change,
    "accounts.access_log.view": access_log_view,
    "accounts.business.open": business_open,
}


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("name", MATRIX_ACTIONS)
def test_access_matrix(name, role, where, access_world, access_check):
    expected, _outcome = access_check
    assert name in PROBES, f"{name} has no probe: every action of the table is tried"
    took_effect = PROBES[name](access_world, role, where)
    assert took_effect == expected(name, role, where), (
        f"{role} {'may' if expected(name, role, where) else 'may not'} {name} on an {where} record"
    )


def test_every_probe_names_an_action_of_the_table():
    assert set(PROBES) == set(MATRIX_ACTIONS)


@pytest.mark.django_db
def test_the_auditor_reads_the_audit_trail_and_nothing_else(access_world):
    auditor = access_world.client("auditor")
    assert auditor.get("/admin/core/auditentry/").status_code == 200
    for path in (
        "/admin/accounts/user/",
        "/counter/upgrade/",
        "/counter/register/",
        "/counter/organisations/",
    ):
        assert auditor.get(path).status_code == 403, path
    menu = auditor.get("/counter/").content.decode()
    assert "审计日志" in menu and "互联网用户转窗口用户" not in menu and "违法处理" not in menu


@pytest.mark.django_db
def test_a_clerk_of_another_city_does_not_find_a_zhumadian_account(access_world, make_staff):
    from jiaoguan.accounts.selectors import account_find_for_counter

    person = _new_person("411702")
    _online_account(person)
    zhoukou = make_staff(role="counter_clerk", jurisdiction="411600", username="zhoukou-clerk")
    assert account_find_for_counter(actor=zhoukou, id_type="resident_id", id_number=person.id_number) is None
    with pytest.raises(NotFound):
        services.account_upgrade_to_counter(
            actor=zhoukou, user_id=User.objects.get(person=person).pk, document_checked=True
        )


@pytest.mark.django_db
def test_the_staff_menu_shows_only_what_the_role_may_open(access_world):
    for role in ("counter_clerk", "violation_officer", "accident_officer", "accident_head", "auditor"):
        client = access_world.client(role)
        page = client.get("/counter/")
        links = [
            line.split('href="')[1].split('"')[0]
            for line in page.content.decode().splitlines()
            if 'class="tile"' in line
        ]
        assert links, role
        for link in links:
            assert client.get(link).status_code == 200, f"{role} is offered {link} but cannot open it"


@pytest.mark.django_db
def test_the_first_administrator_is_made_on_the_server(monkeypatch, capsys):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    monkeypatch.setattr("sys.stdin", io.StringIO("Counter#2026x\n"))
    call_command(
        "staff", "add", "chief", "--role", "administrator", "--jurisdiction", "411700", "--password-stdin"
    )
    chief = User.objects.get(username="chief")
    assert (
        chief.kind == "staff"
        and chief.staff_role == "administrator"
        and chief.check_password("Counter#2026x")
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError, match=r"accounts\.password"):
        call_command(
            "staff", "add", "weak", "--role", "auditor", "--jurisdiction", "411700", "--password-stdin"
        )
    assert not User.objects.filter(username="weak").exists()
