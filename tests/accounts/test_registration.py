"""Online and counter registration, SMS codes, login lock, upgrade (U2-U5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.accounts import services
from jiaoguan.accounts.models import OrganisationMember, SmsCode, User
from jiaoguan.core.errors import Conflict, NotAllowed, Throttled, Unauthenticated, ValidationFailed
from jiaoguan.core.identifiers import make_uscc
from jiaoguan.core.models import AuditEntry

PASSWORD = "Lvse-Chuxing9"


def register(person, sms_inbox, *, name=None, mobile="13912345678", code=None, **kw):
    services.sms_code_send(mobile=mobile, purpose="register")
    return services.account_register_online(
        id_type=kw.pop("id_type", "resident_id"),
        id_number=kw.pop("id_number", person.id_number),
        name=name if name is not None else person.name,
        mobile=mobile,
        sms_code=code if code is not None else sms_inbox(mobile),
        password=kw.pop("password", PASSWORD),
    )


@pytest.mark.django_db
class TestOnlineRegistration:
    def test_given_registry_person_when_registering_then_online_account_is_created(
        self, make_person, sms_inbox
    ):
        person = make_person()
        user = register(person, sms_inbox)
        assert user.registration_level == User.Level.ONLINE
        assert user.person == person
        assert user.check_password(PASSWORD)
        assert AuditEntry.objects.filter(action="register", subject_person_id=person.pk).exists()

    def test_lowercase_check_x_is_accepted(self, make_person, sms_inbox):
        person = make_person()
        user = register(person, sms_inbox, id_number=person.id_number.lower())
        assert user.username == person.id_number

    @pytest.mark.parametrize(
        ("mutate", "code"),
        [
            (lambda n: n[:17] + ("0" if n[17] != "0" else "1"), "identity.citizen_id_checksum"),
            (lambda n: n[:6] + "19990230" + n[14:], None),
            (lambda n: n[:10], "identity.citizen_id_format"),
            (lambda n: "<b>" + n[3:], "identity.citizen_id_format"),
        ],
    )
    def test_bad_id_numbers_are_refused_and_nothing_changes(self, make_person, sms_inbox, mutate, code):
        person = make_person()
        with pytest.raises(ValidationFailed) as err:
            register(person, sms_inbox, id_number=mutate(person.id_number))
        if code:
            assert err.value.code == code
        assert err.value.message_zh and err.value.message_en
        assert not User.objects.exists()

    def test_name_must_match_registry(self, make_person, sms_inbox):
        person = make_person(name="王芳")
        with pytest.raises(ValidationFailed) as err:
            register(person, sms_inbox, name="王方")
        assert err.value.code == "accounts.identity_not_confirmed"
        assert not User.objects.exists()

    def test_unknown_person_gets_same_answer_as_wrong_name(self, sms_inbox):
        from datetime import date

        from jiaoguan.core.identifiers import make_citizen_id

        number = make_citizen_id("411721", date(1990, 1, 1), 11)
        services.sms_code_send(mobile="13912345678", purpose="register")
        with pytest.raises(ValidationFailed) as err:
            services.account_register_online(
                id_type="resident_id",
                id_number=number,
                name="李四",
                mobile="13912345678",
                sms_code=sms_inbox("13912345678"),
                password=PASSWORD,
            )
        assert err.value.code == "accounts.identity_not_confirmed"

    def test_unknown_document_type(self, make_person, sms_inbox):
        with pytest.raises(ValidationFailed) as err:
            register(make_person(), sms_inbox, id_type="library_card")
        assert err.value.code == "identity.document_type_unknown"

    @pytest.mark.parametrize("name", ["<script>alert(1)</script>", "张" * 65, "", "张\x00伟"])
    def test_html_overlong_empty_or_control_names_are_refused(self, make_person, sms_inbox, name):
        with pytest.raises(ValidationFailed) as err:
            register(make_person(), sms_inbox, name=name)
        assert err.value.field == "name"
        assert not User.objects.exists()

    def test_duplicate_registration_is_refused_like_any_unconfirmed_identity(self, make_person, sms_inbox):
        person = make_person()
        register(person, sms_inbox)
        with pytest.raises(ValidationFailed) as err:
            register(person, sms_inbox, mobile="13712345678")
        assert err.value.code == "accounts.identity_not_confirmed"
        assert User.objects.count() == 1

    def test_wrong_code_is_refused_counted_and_then_locked(self, make_person, sms_inbox):
        person = make_person()
        services.sms_code_send(mobile="13912345678", purpose="register")
        real = sms_inbox("13912345678")
        wrong = "000000" if real != "000000" else "111111"
        for _ in range(5):
            with pytest.raises(ValidationFailed) as err:
                register_with_code(person, wrong)
            assert err.value.code == "accounts.sms_code_wrong"
        with pytest.raises(ValidationFailed) as err:
            register_with_code(person, real)
        assert err.value.code == "accounts.sms_code_locked"
        assert not User.objects.exists()

    def test_code_cannot_be_reused(self, make_person, sms_inbox):
        first, second = make_person(), make_person(name="李娜")
        services.sms_code_send(mobile="13912345678", purpose="register")
        code = sms_inbox("13912345678")
        register_with_code(first, code)
        with pytest.raises(ValidationFailed) as err:
            register_with_code(second, code)
        assert err.value.code == "accounts.sms_code_used"

    def test_expired_code_is_refused(self, make_person, sms_inbox):
        person = make_person()
        services.sms_code_send(mobile="13912345678", purpose="register")
        code = sms_inbox("13912345678")
        SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        with pytest.raises(ValidationFailed) as err:
            register_with_code(person, code)
        assert err.value.code == "accounts.sms_code_expired"

    def test_code_for_another_purpose_does_not_register(self, make_person, sms_inbox):
        person = make_person()
        services.sms_code_send(mobile="13912345678", purpose="change_mobile")
        with pytest.raises(ValidationFailed) as err:
            register_with_code(person, sms_inbox("13912345678"))
        assert err.value.code == "accounts.sms_code_missing"

    def test_weak_password_refused_and_code_still_usable(self, make_person, sms_inbox):
        person = make_person()
        services.sms_code_send(mobile="13912345678", purpose="register")
        code = sms_inbox("13912345678")
        with pytest.raises(ValidationFailed) as err:
            register_with_code(person, code, password="12345678")
        assert err.value.code == "accounts.password_weak"
        user = register_with_code(person, code)
        assert user.pk


def register_with_code(person, code, password=PASSWORD):
    return services.account_register_online(
        id_type="resident_id",
        id_number=person.id_number,
        name=person.name,
        mobile="13912345678",
        sms_code=code,
        password=password,
    )


@pytest.mark.django_db
class TestSmsQuota:
    def test_second_code_within_a_minute_is_throttled(self):
        services.sms_code_send(mobile="13600000000", purpose="register")
        with pytest.raises(Throttled) as err:
            services.sms_code_send(mobile="13600000000", purpose="register")
        assert err.value.code == "accounts.sms_too_soon"
        assert 1 <= err.value.retry_after <= 61

    def test_hourly_cap(self):
        now = timezone.now()
        for i in range(5):
            services.sms_code_send(
                mobile="13600000000", purpose="register", now=now + timedelta(minutes=2 * i)
            )
        with pytest.raises(Throttled) as err:
            services.sms_code_send(mobile="13600000000", purpose="register", now=now + timedelta(minutes=11))
        assert err.value.code == "accounts.sms_hourly_limit"
        services.sms_code_send(mobile="13600000000", purpose="register", now=now + timedelta(minutes=61))

    def test_bad_mobile_is_refused(self):
        with pytest.raises(ValidationFailed) as err:
            services.sms_code_send(mobile="12345", purpose="register")
        assert err.value.code == "identity.mobile_format"
        assert not SmsCode.objects.exists()


@pytest.mark.django_db
class TestLogin:
    def test_repeated_failures_lock_the_account(self, make_person, sms_inbox, settings):
        settings.LOGIN_MAX_FAILURES = 3
        user = register(make_person(), sms_inbox)
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                services.account_authenticate(username=user.username, password="wrong-password")
        with pytest.raises(Throttled) as err:
            services.account_authenticate(username=user.username, password="wrong-password")
        assert err.value.code == "accounts.locked"
        # even the right password is refused while locked
        with pytest.raises(Throttled):
            services.account_authenticate(username=user.username, password=PASSWORD)
        User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
        assert services.account_authenticate(username=user.username, password=PASSWORD) == user

    def test_unknown_account_same_answer_as_wrong_password(self):
        with pytest.raises(Unauthenticated) as err:
            services.account_authenticate(username="nobody", password="x")
        assert err.value.code == "accounts.login_failed"

    def test_token_round_trip(self, make_person, sms_inbox):
        user = register(make_person(), sms_inbox)
        raw, token = services.api_token_issue(username=user.username, password=PASSWORD)
        assert services.api_token_user(raw) == user
        assert services.api_token_user(raw + "x") is None
        assert token.token_hash != raw


@pytest.mark.django_db
class TestCounter:
    def test_clerk_registers_local_resident_at_counter_level(self, make_person, make_staff):
        clerk = make_staff()
        person = make_person()
        user = services.account_register_at_counter(
            actor=clerk, id_type="resident_id", id_number=person.id_number, name=person.name,
            mobile="13800000001",
        )  # fmt: skip
        assert user.registration_level == User.Level.COUNTER
        entry = AuditEntry.objects.get(action="register", subject_person_id=person.pk)
        assert entry.actor == clerk and entry.actor_role == "counter_clerk"

    def test_non_local_without_local_vehicle_or_licence_is_refused(self, make_person, make_staff):
        clerk = make_staff()
        person = make_person(area="110101")
        with pytest.raises(NotAllowed) as err:
            services.account_register_at_counter(
                actor=clerk, id_type="resident_id", id_number=person.id_number, name=person.name,
                mobile="13800000001",
            )  # fmt: skip
        assert err.value.code == "accounts.not_local"

    def test_non_local_with_local_vehicle_is_accepted(self, make_person, make_staff, make_vehicle):
        clerk = make_staff()
        person = make_person(area="110101")
        make_vehicle(owner=person, division="411721")
        user = services.account_register_at_counter(
            actor=clerk, id_type="resident_id", id_number=person.id_number, name=person.name,
            mobile="13800000001",
        )  # fmt: skip
        assert user.is_counter_level

    def test_citizen_cannot_use_counter_services(self, make_person, sms_inbox):
        user = register(make_person(), sms_inbox)
        with pytest.raises(NotAllowed) as err:
            services.account_register_at_counter(
                actor=user, id_type="resident_id", id_number=user.username, name="x",
                mobile="13800000001",
            )  # fmt: skip
        assert err.value.code == "access.staff_only"

    def test_violation_officer_cannot_register_users(self, make_person, make_staff):
        officer = make_staff(role="violation_officer")
        person = make_person()
        with pytest.raises(NotAllowed) as err:
            services.account_register_at_counter(
                actor=officer, id_type="resident_id", id_number=person.id_number, name=person.name,
                mobile="13800000001",
            )  # fmt: skip
        assert err.value.code == "access.role_not_allowed"

    def test_upgrade_online_user_to_counter(self, make_person, make_staff, sms_inbox):
        clerk = make_staff()
        user = register(make_person(), sms_inbox)
        with pytest.raises(ValidationFailed):
            services.account_upgrade_to_counter(actor=clerk, user_id=user.pk, document_checked=False)
        upgraded = services.account_upgrade_to_counter(actor=clerk, user_id=user.pk, document_checked=True)
        assert upgraded.is_counter_level and upgraded.upgraded_at
        with pytest.raises(Conflict):
            services.account_upgrade_to_counter(actor=clerk, user_id=user.pk, document_checked=True)

    def test_register_organisation_by_agent_needs_authorisation(self, make_person, make_staff):
        clerk = make_staff()
        agent = make_person(name="赵强")
        uscc = make_uscc("91411700MA3X00001")
        kwargs = dict(
            actor=clerk, uscc=uscc, name="驻马店市顺达运输有限公司", kind="transport_company", division="411702",
            representative_id_type="resident_id", representative_id_number=agent.id_number,
            representative_name=agent.name, representative_role="agent", mobile="13800000002", password=PASSWORD,
        )  # fmt: skip
        with pytest.raises(ValidationFailed) as err:
            services.organisation_register(**kwargs)
        assert err.value.code == "accounts.authorisation_required"
        user = services.organisation_register(**kwargs, authorisation_reference="WT-2026-001")
        assert user.kind == User.Kind.ORGANISATION and user.username == uscc
        member = OrganisationMember.objects.get(organisation=user.organisation)
        assert member.role == "agent" and member.authorisation_reference == "WT-2026-001"
        with pytest.raises(Conflict):
            services.organisation_register(**kwargs, authorisation_reference="WT-2026-002")

    def test_organisation_with_bad_uscc_is_refused(self, make_person, make_staff):
        clerk = make_staff()
        rep = make_person()
        good = make_uscc("91411700MA3X00001")
        bad = good[:-1] + ("0" if good[-1] != "0" else "1")
        with pytest.raises(ValidationFailed) as err:
            services.organisation_register(
                actor=clerk, uscc=bad, name="某公司", kind="transport_company", division="411702",
                representative_id_type="resident_id", representative_id_number=rep.id_number,
                representative_name=rep.name, representative_role="legal_representative",
                mobile="13800000002", password=PASSWORD,
            )  # fmt: skip
        assert err.value.code.startswith("identity.uscc")

    def test_clerk_cannot_register_organisation_outside_jurisdiction(self, make_person, make_staff):
        clerk = make_staff(jurisdiction="411721")
        rep = make_person()
        with pytest.raises(NotAllowed) as err:
            services.organisation_register(
                actor=clerk, uscc=make_uscc("91411700MA3X00009"), name="某公司", kind="hospital",
                division="411722", representative_id_type="resident_id", representative_id_number=rep.id_number,
                representative_name=rep.name, representative_role="legal_representative",
                mobile="13800000002", password=PASSWORD,
            )  # fmt: skip
        assert err.value.code == "access.outside_jurisdiction"

    def test_add_member(self, make_person, make_staff):
        clerk = make_staff()
        rep, member = make_person(), make_person(name="孙丽")
        org_user = services.organisation_register(
            actor=clerk, uscc=make_uscc("91411700MA3X00003"), name="驻马店市中心医院", kind="hospital",
            division="411702", representative_id_type="resident_id", representative_id_number=rep.id_number,
            representative_name=rep.name, representative_role="legal_representative",
            mobile="13800000002", password=PASSWORD,
        )  # fmt: skip
        row = services.organisation_member_add(
            actor=clerk, organisation_id=org_user.organisation_id, id_type="resident_id",
            id_number=member.id_number, name=member.name,
        )  # fmt: skip
        assert row.role == "member"
        with pytest.raises(Conflict):
            services.organisation_member_add(
                actor=clerk, organisation_id=org_user.organisation_id, id_type="resident_id",
                id_number=member.id_number, name=member.name,
            )  # fmt: skip


@pytest.mark.django_db
class TestContactChange:
    def test_contact_change_updates_vehicle_and_licence_contacts(
        self, make_person, make_vehicle, make_licence, sms_inbox
    ):
        person = make_person()
        vehicle = make_vehicle(owner=person)
        licence = make_licence(holder=person)
        user = register(person, sms_inbox)
        services.sms_code_send(mobile="13700001111", purpose="change_mobile")
        services.contact_details_change(
            actor=user,
            mobile="13700001111",
            sms_code=sms_inbox("13700001111"),
            postal_address="驿城区解放路1号",
        )
        vehicle.refresh_from_db()
        licence.refresh_from_db()
        assert vehicle.owner_mobile == "13700001111"
        assert licence.mobile == "13700001111" and licence.postal_address == "驿城区解放路1号"
        entry = AuditEntry.objects.filter(action="change", subject_person_id=person.pk).get()
        assert "13700001111" not in entry.summary  # masked

    def test_code_sent_to_old_number_does_not_change_to_new(self, make_person, sms_inbox):
        person = make_person()
        user = register(person, sms_inbox, mobile="13912345678")
        later = timezone.now() + timedelta(minutes=2)  # past the one-a-minute limit of this number
        services.sms_code_send(mobile="13912345678", purpose="change_mobile", now=later)
        with pytest.raises(ValidationFailed):
            services.contact_details_change(
                actor=user, mobile="13700001111", sms_code=sms_inbox("13912345678")
            )
        user.refresh_from_db()
        assert user.mobile == "13912345678"
