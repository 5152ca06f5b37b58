"""Signed credentials: issue, show, verify, hostile input, rotation, status (E1-E6, D1-D4)."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta

import base45
import cbor2
import pytest
import segno
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.core.errors import Conflict, ValidationFailed
from jiaoguan.credentials import keys, services
from jiaoguan.credentials.crypto import EDDSA, ES256, algorithm_for
from jiaoguan.credentials.models import Credential, OnlineNonce
from jiaoguan.credentials.token import INSPECTION_MARK, DisplayMode, TokenRejected, decode_and_verify, encode
from jiaoguan.credentials.verify import parse_trust_list, trust_list_json, verify_offline

TODAY = timezone.localdate()


@pytest.fixture
def valid_vehicle(make_person, make_vehicle):
    """A private car registered a year ago: first due in a year, label only (E2 years 2, 4, 8)."""
    owner = make_person(name="周敏")
    return make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=400), plate="豫QF5K86")


@pytest.fixture
def mark(valid_vehicle):
    credential = services.inspection_mark_issue(vehicle_id=valid_vehicle.pk, event="test")
    assert credential is not None
    return credential


def show(credential, mode=DisplayMode.OFFLINE):
    text, _ = services.credential_token(credential=credential, mode=mode)
    return text


@pytest.mark.django_db
class TestIssue:
    def test_mark_carries_plate_and_validity(self, mark, valid_vehicle):
        assert mark.kind == "VI1" and mark.status == "valid"
        assert mark.data["plate"] == "豫QF5K86"
        assert mark.data["owner"] == "周*"
        verdict = services.credential_verify(text=show(mark))
        assert verdict.valid, verdict
        assert verdict.subject["plate"] == "豫QF5K86"
        assert verdict.subject["valid_until"] == mark.valid_until.isoformat()

    def test_issuing_again_without_change_is_a_no_op(self, mark, valid_vehicle):
        again = services.inspection_mark_issue(vehicle_id=valid_vehicle.pk, event="retry")
        assert again.pk == mark.pk

    def test_no_mark_for_overdue_inspection(self, make_person, make_vehicle):
        vehicle = make_vehicle(
            owner=make_person(), registered_on=date(2015, 1, 10), last_inspected_on=date(2018, 1, 1)
        )
        assert services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test") is None

    def test_reissue_supersedes_and_old_token_fails(self, mark, valid_vehicle):
        old_text = show(mark)
        valid_vehicle.brand_model = "x"
        valid_vehicle.plate_number = "豫QF5K87"
        valid_vehicle.save()
        new = services.inspection_mark_issue(vehicle_id=valid_vehicle.pk, event="changed")
        assert new.pk != mark.pk
        mark.refresh_from_db()
        assert mark.status == "superseded" and mark.superseded_by_id == new.pk
        verdict = services.credential_verify(text=old_text)
        assert not verdict.valid and verdict.reason == "superseded"
        assert services.credential_verify(text=show(new)).valid

    def test_bulk_issue_covers_vehicles_within_validity(self, make_person, make_vehicle):
        owner = make_person()
        ok = [make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=100 + i)) for i in range(5)]
        make_vehicle(owner=owner, registered_on=date(2012, 1, 1), last_inspected_on=date(2015, 1, 1))
        assert services.inspection_marks_bulk_issue(batch_size=2) == 5
        assert services.inspection_marks_bulk_issue() == 0  # idempotent
        assert Credential.objects.filter(vehicle__in=ok, status="valid").count() == 5

    def test_registry_change_through_outbox_issues_mark(self, valid_vehicle):
        from jiaoguan.core.outbox import outbox_dispatch
        from jiaoguan.registry.events import registry_changed

        registry_changed(event="inspection", vehicle_id=valid_vehicle.pk)
        outbox_dispatch()
        assert Credential.objects.filter(vehicle=valid_vehicle, status="valid").exists()


@pytest.mark.django_db
class TestHostileInput:
    @pytest.mark.parametrize(
        ("mutate", "reason"),
        [
            (lambda t: t[:4] + t[4:][:-12], None),  # truncated
            (lambda t: "XX1:" + t[4:], "unknown_prefix"),
            (lambda t: "DL1:" + t[4:], "kind_mismatch"),
            (lambda t: t[:4] + "!!!" + t[7:], "bad_encoding"),
            (lambda t: "VI1:" + base45.b45encode(b"\xff\x00garbage").decode(), "bad_cbor"),
            (
                lambda t: "VI1:" + base45.b45encode(cbor2.dumps(cbor2.CBORTag(18, [1, 2, 3]))).decode(),
                "bad_structure",
            ),
            (lambda t: "VI1:" + base45.b45encode(cbor2.dumps([1, 2, 3])).decode(), "bad_tag"),
            (lambda t: t * 20, "too_long"),
            (lambda t: "", "unknown_prefix"),
        ],
    )
    def test_each_is_a_clear_invalid(self, mark, mutate, reason):
        verdict = services.credential_verify(text=mutate(show(mark)))
        assert not verdict.valid
        if reason:
            assert verdict.reason == reason
        assert verdict.message_zh and verdict.message_en

    def test_flipped_byte_breaks_the_signature(self, mark):
        text = show(mark)
        raw = bytearray(base45.b45decode(text[4:]))
        raw[-70] ^= 0x01  # inside the signed payload, before the 64-byte signature
        verdict = services.credential_verify(text="VI1:" + base45.b45encode(bytes(raw)).decode())
        assert not verdict.valid and verdict.reason in {"bad_signature", "bad_cbor", "bad_structure"}

    def test_valid_signature_from_a_key_not_on_the_trust_list(self, mark):
        algorithm = algorithm_for(ES256)
        rogue = algorithm.generate_private_pem()
        text = encode(
            schema=INSPECTION_MARK, data=mark.data, credential_id=mark.pk.to_bytes(4, "big"), issuer="CN-411700",
            issued_at=int(time.time()), expires_at=int(time.time()) + 600,             mode=DisplayMode.OFFLINE, nonce=None, kid=b"\x01" * 4, alg=ES256,
            sign=lambda data: algorithm.sign(rogue, data),
        )  # fmt: skip
        verdict = services.credential_verify(text=text)
        assert not verdict.valid and verdict.reason == "unknown_key"

    def test_forged_kid_of_a_trusted_key_fails_the_signature(self, mark):
        key, _ = keys.active_key()
        algorithm = algorithm_for(ES256)
        rogue = algorithm.generate_private_pem()
        text = encode(
            schema=INSPECTION_MARK, data={**mark.data, "plate": "豫Q00000"}, credential_id=mark.pk.to_bytes(4, "big"),
            issuer="CN-411700", issued_at=int(time.time()), expires_at=int(time.time()) + 600,             mode=DisplayMode.OFFLINE, nonce=None, kid=bytes.fromhex(key.kid), alg=ES256,
            sign=lambda data: algorithm.sign(rogue, data),
        )  # fmt: skip
        verdict = services.credential_verify(text=text)
        assert not verdict.valid and verdict.reason == "bad_signature"

    def test_expired(self, mark):
        text = show(mark)
        verdict = services.credential_verify(text=text, now=int(time.time()) + 30 * 24 * 3600)
        assert not verdict.valid and verdict.reason == "expired"

    def test_revoked_when_vehicle_reported_stolen(self, mark, valid_vehicle):
        text = show(mark)
        valid_vehicle.status = "C"
        valid_vehicle.save()
        assert services.credential_status_sync(vehicle_id=valid_vehicle.pk) == 1
        verdict = services.credential_verify(text=text)
        assert not verdict.valid and verdict.reason == "revoked"
        with pytest.raises(Conflict):
            show(Credential.objects.get(pk=mark.pk))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.binary(max_size=400), prefix=st.sampled_from(["VI1:", "DL1:", "SL1:", "", "vi1:"]))
    def test_decoder_never_crashes_on_random_bytes(self, data, prefix):
        for text in (prefix + base45.b45encode(data).decode(), prefix + data.decode("latin-1")):
            try:
                decode_and_verify(text, keys=lambda kid: None, now=int(time.time()))
            except TokenRejected as error:
                assert error.reason and error.message_zh
            else:
                raise AssertionError("random input verified")


@pytest.mark.django_db
class TestOnlineDisplay:
    def test_online_token_is_short_lived_and_needs_its_nonce(self, mark):
        text, expires_at = services.credential_token(credential=mark, mode=DisplayMode.ONLINE)
        assert expires_at - time.time() <= 181
        assert services.credential_verify(text=text).valid
        OnlineNonce.objects.all().delete()  # as after expiry, when the purge removes it
        verdict = services.credential_verify(text=text)
        assert not verdict.valid and verdict.reason == "nonce_unknown"

    def test_screenshot_replayed_after_expiry_fails(self, mark):
        text, expires_at = services.credential_token(credential=mark, mode=DisplayMode.ONLINE)
        verdict = services.credential_verify(text=text, now=expires_at + 120)
        assert not verdict.valid and verdict.reason == "expired"

    def test_licence_token_fits_qr_version_10_at_m(self, make_person, make_licence):
        holder = make_person(name="欧阳振华")
        licence = make_licence(holder=holder, classes="A2D", remarks="M3", term="long")
        credential = services.licence_credential_issue(licence_id=licence.pk, event="test")
        for mode in (DisplayMode.ONLINE, DisplayMode.OFFLINE, DisplayMode.PRINTED):
            text, _ = services.credential_token(credential=credential, mode=mode)
            qr = segno.make(text, error="m", boost_error=False)
            assert qr.version <= 10, (qr.version, len(text))
        verdict = services.credential_verify(text=text)
        assert verdict.valid and verdict.subject["remarks"] == ["M3 持军队驾驶证换领"]
        assert verdict.subject["number"].count("*") >= 8  # masked


@pytest.mark.django_db
class TestKeysAndOffline:
    def test_rotation_keeps_old_credentials_verifiable(self, mark):
        before = show(mark)
        old_kid = keys.active_key()[0].kid
        keys.key_rotate(alg=EDDSA)
        after = show(mark)
        assert keys.active_key()[0].kid != old_kid
        assert services.credential_verify(text=before).valid
        assert services.credential_verify(text=after).valid

    def test_sm2_keys_sign_and_verify_credentials(self, mark):
        from jiaoguan.credentials.crypto import SM2_SM3

        keys.key_rotate(alg=SM2_SM3)
        text = show(mark)
        assert keys.active_key()[0].alg == SM2_SM3
        assert services.credential_verify(text=text).valid
        raw = bytearray(base45.b45decode(text[4:]))
        raw[-1] ^= 0x01
        assert (
            services.credential_verify(text="VI1:" + base45.b45encode(bytes(raw)).decode()).reason
            == "bad_signature"
        )

    def test_offline_verification_with_trust_and_status_lists_only(self, mark, valid_vehicle):
        text = show(mark)
        trust = parse_trust_list(trust_list_json(keys.trust_list()))
        now = int(time.time())
        assert verify_offline(text, trust=trust, status_list=services.status_list_token(), now=now).valid
        valid_vehicle.status = "C"
        valid_vehicle.save()
        services.credential_status_sync(vehicle_id=valid_vehicle.pk)
        verdict = verify_offline(text, trust=trust, status_list=services.status_list_token(), now=now)
        assert not verdict.valid and verdict.reason == "revoked"
        assert verify_offline(text, trust={}, status_list=None, now=now).reason == "unknown_key"

    def test_forged_status_list_is_refused(self, mark):
        text = show(mark)
        trust = parse_trust_list(trust_list_json(keys.trust_list()))
        status_list = services.status_list_token()
        tampered = status_list[:-6] + ("A" if status_list[-6] != "A" else "B") + status_list[-5:]
        verdict = verify_offline(text, trust=trust, status_list=tampered, now=int(time.time()))
        assert not verdict.valid and verdict.reason.startswith("status_list_")


@pytest.mark.django_db
class TestLicenceApplication:
    def _photo(self, size=(300, 400), fmt="JPEG"):
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", size, (200, 180, 160)).save(buffer, fmt)
        return buffer.getvalue()

    def test_photo_reviewed_then_issued(self, make_person, make_licence, make_staff):
        from jiaoguan.accounts.models import User

        holder = make_person(name="吴刚")
        licence = make_licence(holder=holder, term="long")
        user = User.objects.create_user(
            username=holder.id_number, password="x", person=holder, registration_level="online"
        )
        application = services.licence_application_submit(actor=user, photo=self._photo())
        with pytest.raises(Exception) as err:
            services.licence_application_submit(actor=user, photo=self._photo())
        assert getattr(err.value, "code", "") == "credentials.application_open"
        clerk = make_staff()
        with pytest.raises(ValidationFailed):
            services.licence_application_review(actor=clerk, application_id=application.pk, approve=False)
        reviewed = services.licence_application_review(
            actor=clerk, application_id=application.pk, approve=True
        )
        assert reviewed.credential is not None and reviewed.credential.licence_id == licence.pk
        assert services.credential_verify(text=show(reviewed.credential)).valid

    @pytest.mark.parametrize(
        ("size", "fmt", "code"),
        [((50, 50), "PNG", "credentials.photo_dimensions"), ((300, 400), "GIF", "credentials.photo_type")],
    )
    def test_bad_photos_are_refused(self, make_person, make_licence, size, fmt, code):
        from jiaoguan.accounts.models import User

        holder = make_person()
        make_licence(holder=holder)
        user = User.objects.create_user(
            username=holder.id_number, password="x", person=holder, registration_level="online"
        )
        with pytest.raises(Exception) as err:
            services.licence_application_submit(actor=user, photo=self._photo(size, fmt))
        assert err.value.code == code
        with pytest.raises(Exception) as err:
            services.licence_application_submit(actor=user, photo=b"not an image")
        assert err.value.code == "credentials.photo_unreadable"

    def test_suspended_licence_credential_fails_verification(self, make_person, make_licence):
        licence = make_licence(holder=make_person(), term="long")
        credential = services.licence_credential_issue(licence_id=licence.pk, event="test")
        text = show(credential)
        licence.status = "D"
        licence.save()
        services.credential_status_sync(licence_id=licence.pk)
        verdict = services.credential_verify(text=text)
        assert not verdict.valid and verdict.reason == "suspended"


@pytest.mark.django_db
class TestExemptApplication:
    def test_label_only_vehicle_in_its_window_gets_a_mark_at_once(self, make_person, make_vehicle):
        from jiaoguan.accounts.models import User

        owner = make_person()
        # registered almost two years ago: the year-2 due is label-only and within 3 months
        vehicle = make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=365 * 2 - 30))
        user = User.objects.create_user(
            username=owner.id_number, password="x", person=owner, registration_level="online"
        )
        credential = services.inspection_exempt_apply(
            actor=user, vehicle_id=vehicle.pk, delivery="post", address="驿城区1号"
        )
        vehicle.refresh_from_db()
        assert vehicle.last_inspected_on == TODAY
        assert credential.valid_until > TODAY + timedelta(days=365)
        assert credential.paper_request.delivery == "post"

    def test_someone_elses_vehicle_is_not_found(self, make_person, make_vehicle):
        from jiaoguan.accounts.models import User

        vehicle = make_vehicle(owner=make_person(), registered_on=TODAY - timedelta(days=365 * 2 - 30))
        other = make_person(name="别人")
        user = User.objects.create_user(
            username=other.id_number, password="x", person=other, registration_level="online"
        )
        with pytest.raises(Exception) as err:
            services.inspection_exempt_apply(actor=user, vehicle_id=vehicle.pk)
        assert err.value.code == "credentials.vehicle_not_found"


@pytest.mark.django_db
def test_back_office_status_change_revokes_the_mark(mark, valid_vehicle, make_staff):
    from django.test import Client

    from jiaoguan.core.outbox import outbox_dispatch

    admin = make_staff(role="administrator")
    client = Client()
    client.force_login(admin)
    url = f"/admin/registry/vehicle/{valid_vehicle.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: (form[name].value() if form[name].value() is not None else "") for name in form.fields}
    data["status"] = "C"  # reported stolen
    assert client.post(url, data).status_code == 302
    outbox_dispatch()
    mark.refresh_from_db()
    assert mark.status == "revoked"


@pytest.mark.django_db
def test_inspection_pass_issues_a_new_mark(make_person, make_vehicle, make_staff):
    from jiaoguan.core.outbox import outbox_dispatch
    from jiaoguan.registry.services import vehicle_inspection_pass

    vehicle = make_vehicle(
        owner=make_person(), registered_on=date(2015, 1, 10), last_inspected_on=date(2018, 1, 1)
    )
    assert services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test") is None  # overdue: no mark
    officer = make_staff(role="administrator")
    with pytest.raises(ValidationFailed):
        vehicle_inspection_pass(actor=officer, vehicle_id=vehicle.pk, inspected_on=TODAY + timedelta(days=1))
    vehicle_inspection_pass(actor=officer, vehicle_id=vehicle.pk, inspected_on=TODAY)
    outbox_dispatch()
    mark = Credential.objects.get(vehicle=vehicle, status="valid")
    assert mark.valid_until > TODAY
    assert services.credential_verify(text=show(mark)).valid


@pytest.mark.django_db
def test_no_electronic_licence_for_an_expired_licence(make_person, make_licence):
    licence = make_licence(holder=make_person(), term="6y", valid_from=TODAY - timedelta(days=6 * 366))
    with pytest.raises(Conflict) as err:
        services.licence_credential_issue(licence_id=licence.pk, event="test")
    assert err.value.code == "credentials.licence_expired"
