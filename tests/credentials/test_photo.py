"""The e-licence photo and full name (D1, E4, issue 11): signed by digest, shown to the holder,
to a checker only after a passing verification, compared offline, and reviewed at the counter
beside the archive photo."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pypdf
import pytest
import segno
from django.core import signing as django_signing
from PIL import Image

from jiaoguan.accounts.models import User
from jiaoguan.core.identifiers import mask_name
from jiaoguan.core.models import AuditEntry
from jiaoguan.credentials import keys, photos, render, services
from jiaoguan.credentials.models import Credential, LicenceApplication
from jiaoguan.credentials.token import DisplayMode
from jiaoguan.credentials.verify import parse_trust_list, photo_matches, trust_list_json, verify_offline
from jiaoguan.registry.portraits import PORTRAIT_SIZE, placeholder_portrait
from jiaoguan.registry.selectors import archive_photo_of
from jiaoguan.registry.services import archive_photo_record

PASSWORD = "Lvse-Chuxing9"


def picture(colour=(200, 180, 160), size=(300, 400), fmt="JPEG") -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    image.paste((30, 30, 30), (size[0] // 3, size[1] // 4, size[0] * 2 // 3, size[1] // 2))
    image.save(out, fmt)
    return out.getvalue()


def citizen(person) -> User:
    return User.objects.create_user(
        username=person.id_number, password=PASSWORD, person=person, registration_level="online"
    )


def text_of(response) -> str:
    import html

    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def data_token(response) -> str:
    import html

    match = re.search(r'data-token="([^"]+)"', response.content.decode())
    assert match, "no data-token on the page"
    return html.unescape(match.group(1))


# ---------------------------------------------------------------- unit: the fixed form and its digest


def test_fixed_form_has_the_card_size_whatever_the_upload():
    for size in ((300, 400), (1200, 900), (240, 300)):
        fixed = photos.card_photo(picture(size=size))
        with Image.open(io.BytesIO(fixed)) as image:
            assert image.size == photos.CARD_PHOTO_SIZE and image.format == "PNG"


def test_digest_is_of_the_pixels_so_a_lossless_copy_compares():
    fixed = photos.card_photo(picture())
    copy = io.BytesIO()
    Image.open(io.BytesIO(fixed)).save(copy, format="PNG", compress_level=1)
    assert copy.getvalue() != fixed  # other bytes, same picture
    assert photos.photo_digest(copy.getvalue()) == photos.photo_digest(fixed)
    assert len(photos.photo_digest(fixed)) == photos.DIGEST_BYTES
    other = photos.card_photo(picture(colour=(201, 180, 160)))
    assert photos.photo_digest(other) != photos.photo_digest(fixed)


def test_not_an_image_is_refused():
    with pytest.raises(ValueError):
        photos.card_photo(b"not a photo at all")
    assert photos.digest_in_image(b"not a photo at all") is None


def test_offline_card_carries_the_photo_pixel_for_pixel_and_a_readable_qr():
    fixed = photos.card_photo(picture())
    card = render.offline_card_png(
        title_zh="电子驾驶证", title_en="Electronic driving licence", rows=[("姓名", "欧阳振华")],
        qr_text="DL1:" + "A" * 200, photo=fixed, note="离线凭证",
    )  # fmt: skip
    assert photos.digest_in_image(card) == photos.photo_digest(fixed)
    assert render.decode_qr_image(card) == ["DL1:" + "A" * 200]


def test_placeholder_portrait_is_a_stable_picture_per_person():
    first = placeholder_portrait("411702198506150011")
    assert first == placeholder_portrait("411702198506150011")
    assert first != placeholder_portrait("411702198506150029")
    with Image.open(io.BytesIO(first)) as image:
        assert image.size == PORTRAIT_SIZE
        colours = image.convert("RGB").getcolors(maxcolors=4096)
    assert colours is not None and len(colours) >= 5  # background, clothes, skin, hair, features


# ---------------------------------------------------------------- integration: issue, show, verify


@pytest.fixture
def holder(make_person):
    return make_person(name="欧阳振华")


@pytest.fixture
def holder_user(holder):
    return citizen(holder)


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700")


@pytest.fixture
def licence(holder, make_licence):
    return make_licence(holder=holder, classes="A2D", remarks="M3", term="long")


@pytest.fixture
def approved(licence, holder_user, clerk) -> LicenceApplication:
    application = services.licence_application_submit(actor=holder_user, photo=picture())
    return services.licence_application_review(actor=clerk, application_id=application.pk, approve=True)


@pytest.mark.django_db
class TestSignedDigest:
    def test_the_approved_photo_digest_is_signed_and_the_qr_still_fits_version_10(self, approved):
        credential = approved.credential
        assert (
            credential.data["photo"]
            == approved.photo_digest
            == photos.photo_digest(approved.card_photo).hex()
        )
        for mode in (DisplayMode.ONLINE, DisplayMode.OFFLINE, DisplayMode.PRINTED):
            text, _expires = services.credential_token(credential=credential, mode=mode)
            assert segno.make(text, error="m", boost_error=False).version <= 10, len(text)
        verdict = services.credential_verify(text=text)
        assert verdict.valid and verdict.subject["photo"] == approved.photo_digest
        # The QR keeps the masked name only.
        assert verdict.subject["name"] == mask_name("欧阳振华") != "欧阳振华"

    def test_a_licence_issued_without_a_photo_still_verifies(self, licence):
        credential = services.licence_credential_issue(licence_id=licence.pk, event="before photos")
        assert not credential.data.get("photo")
        text, _expires = services.credential_token(credential=credential, mode=DisplayMode.OFFLINE)
        verdict = services.credential_verify(text=text)
        assert verdict.valid and "photo" not in verdict.subject
        assert photo_matches(verdict, photos.photo_digest(photos.card_photo(picture()))) is None

    def test_a_new_approved_photo_reissues_the_licence(self, approved, holder_user, clerk):
        application = services.licence_application_submit(
            actor=holder_user, photo=picture(colour=(90, 120, 200))
        )
        # one current credential per licence: a new application needs the old one to end first
        services.credential_revoke(
            actor=_revoker(clerk), credential_id=approved.credential.pk, reason="换新照片"
        )
        services.licence_application_review(actor=clerk, application_id=application.pk, approve=True)
        application.refresh_from_db()
        assert application.credential.data["photo"] == application.photo_digest != approved.photo_digest


def _revoker(clerk):
    from jiaoguan.core.access import can

    if can(clerk, services.CREDENTIAL_REVOKE):
        return clerk
    from jiaoguan.accounts.services import staff_create

    return staff_create(
        username="head-411700", password="Counter#2026x", role="administrator", jurisdiction="411700"
    )


@pytest.mark.django_db
class TestCheckerSeesHolderOnlyAfterPassing:
    def test_passing_verification_gives_full_name_and_a_working_photo_url(self, client, approved, holder):
        text, _expires = services.credential_token(credential=approved.credential, mode=DisplayMode.ONLINE)
        verdict = services.credential_verify(text=text)
        assert verdict.valid and verdict.holder["name"] == "欧阳振华"
        response = client.get(verdict.holder["photo_url"])
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response.content == bytes(approved.card_photo)
        assert "no-store" in response["Cache-Control"]

    def test_failing_verification_gives_neither_name_nor_photo(self, approved, clerk):
        text, _expires = services.credential_token(credential=approved.credential, mode=DisplayMode.OFFLINE)
        services.credential_revoke(
            actor=_revoker(clerk), credential_id=approved.credential.pk, reason="手机遗失"
        )
        verdict = services.credential_verify(text=text)
        assert not verdict.valid and verdict.holder == {}
        assert verdict.as_dict()["holder"] is None
        tampered = services.credential_verify(text=text[:-3] + ("AAA" if text[-3:] != "AAA" else "BBB"))
        assert not tampered.valid and tampered.holder == {}

    def test_a_licence_signed_before_photo_digests_shows_the_latest_approved_photo(self, client, approved):
        credential = approved.credential
        legacy = {k: v for k, v in credential.data.items() if k != "photo"}
        Credential.objects.filter(pk=credential.pk).update(data=legacy)  # as issued before this change
        credential.refresh_from_db()
        text, _expires = services.credential_token(credential=credential, mode=DisplayMode.OFFLINE)
        verdict = services.credential_verify(text=text)
        assert verdict.valid and "photo" not in verdict.subject
        assert client.get(verdict.holder["photo_url"]).content == bytes(approved.card_photo)

    def test_a_repeated_on_screen_scan_gives_no_photo(self, approved):
        text, _expires = services.credential_token(credential=approved.credential, mode=DisplayMode.ONLINE)
        assert services.credential_verify(text=text).valid
        again = services.credential_verify(text=text)
        assert again.reason == services.ALREADY_CHECKED and again.holder == {}

    def test_the_credential_id_alone_gets_no_photo(self, client, approved):
        credential = approved.credential
        for guess in (str(credential.pk), str(credential.public_id), f"{credential.pk}:x"):
            assert client.get(f"/verify/photo/{guess}/").status_code == 404
        forged = django_signing.dumps({"c": credential.pk, "p": "0" * 32, "n": "x"}, salt="another salt")
        assert client.get(f"/verify/photo/{forged}/").status_code == 404

    def test_the_ticket_ends_with_the_credential_and_with_time(self, client, approved, clerk, monkeypatch):
        text, _expires = services.credential_token(credential=approved.credential, mode=DisplayMode.OFFLINE)
        url = services.credential_verify(text=text).holder["photo_url"]
        assert client.get(url).status_code == 200
        monkeypatch.setattr(services, "PHOTO_TICKET_SECONDS", -1)  # as once the minutes have passed
        assert client.get(url).status_code == 404
        monkeypatch.undo()
        services.credential_revoke(
            actor=_revoker(clerk), credential_id=approved.credential.pk, reason="手机遗失"
        )
        assert client.get(url).status_code == 404

    def test_verify_page_shows_photo_and_name_on_pass_only(self, client, approved, clerk):
        text, _expires = services.credential_token(credential=approved.credential, mode=DisplayMode.OFFLINE)
        page = client.post("/verify/", {"text": text}).content.decode()
        assert "欧阳振华" in page and "/verify/photo/" in page and 'id="verify-holder"' in page
        services.credential_revoke(
            actor=_revoker(clerk), credential_id=approved.credential.pk, reason="手机遗失"
        )
        refused = text_of(client.post("/verify/", {"text": text}))
        assert "欧阳振华" not in refused and "/verify/photo/" not in refused
        assert "照片与姓名仅在验证通过后显示" in refused

    def test_api_answers_holder_on_pass_and_null_on_failure(self, client, approved):
        text, _expires = services.credential_token(credential=approved.credential, mode=DisplayMode.OFFLINE)
        body = client.post(
            "/api/v1/credentials/verify", {"text": text}, content_type="application/json"
        ).json()
        assert body["valid"] and body["holder"]["name"] == "欧阳振华"
        assert (
            body["holder"]["photo_url"].startswith("http") and "/verify/photo/" in body["holder"]["photo_url"]
        )
        failed = client.post(
            "/api/v1/credentials/verify", {"text": "DL1:NOTATOKEN"}, content_type="application/json"
        )
        assert failed.json()["holder"] is None and failed.json()["checks"] == []


# ---------------------------------------------------------------- the holder's own display


@pytest.mark.django_db
class TestHolderDisplay:
    def test_qr_page_shows_photo_and_full_name(self, client, approved, holder_user):
        client.force_login(holder_user)
        credential = approved.credential
        page = client.get(f"/credentials/{credential.public_id}/").content.decode()
        assert "欧阳振华" in page and f"/credentials/{credential.public_id}/photo.png" in page
        image = client.get(f"/credentials/{credential.public_id}/photo.png")
        assert image.status_code == 200 and image.content == bytes(approved.card_photo)

    def test_someone_elses_photo_is_404(self, client, approved, make_person):
        client.force_login(citizen(make_person(name="李四")))
        assert client.get(f"/credentials/{approved.credential.public_id}/photo.png").status_code == 404

    def test_printed_licence_has_the_photo_the_full_name_and_embedded_fonts(
        self, client, approved, holder_user
    ):
        client.force_login(holder_user)
        response = client.get(f"/credentials/{approved.credential.public_id}/print.pdf")
        reader = pypdf.PdfReader(io.BytesIO(response.content))
        page = reader.pages[0]
        assert "欧阳振华" in page.extract_text()
        images = list(page.images)
        assert len(images) == 1
        shown = images[0].image.convert("RGB")
        assert shown.size == photos.CARD_PHOTO_SIZE
        assert photos.pixels_digest(shown) == bytes.fromhex(approved.photo_digest)
        if render.cjk_font_path() is not None:
            fonts = page["/Resources"]["/Font"]
            for font in fonts.values():
                font = font.get_object()
                descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
                assert "/FontFile2" in descendant["/FontDescriptor"].get_object(), font["/BaseFont"]

    def test_offline_card_compares_offline_and_a_swapped_photo_does_not(
        self, client, approved, holder_user, tmp_path
    ):
        client.force_login(holder_user)
        card = client.get(f"/credentials/{approved.credential.public_id}/offline.png").content
        token = render.decode_qr_image(card)[0]
        trust = parse_trust_list(trust_list_json(keys.trust_list()))
        verdict = verify_offline(token, trust=trust, status_list=services.status_list_token(), now=_now())
        assert verdict.valid and verdict.holder == {}  # offline: no name, no photo, only the digest
        assert photo_matches(verdict, photos.digest_in_image(card)) is True
        swapped = Image.open(io.BytesIO(card)).convert("RGB")
        swapped.paste(
            (0, 0, 0), (photos.CARD_PHOTO_ORIGIN[0] + 10, photos.CARD_PHOTO_ORIGIN[1] + 10, 120, 160)
        )
        out = io.BytesIO()
        swapped.save(out, format="PNG")
        assert photo_matches(verdict, photos.digest_in_image(out.getvalue())) is False
        # The web verifier compares an uploaded card too, and a swapped photo is not green.
        from django.core.files.uploadedfile import SimpleUploadedFile

        page = text_of(
            client.post("/verify/", {"photo": SimpleUploadedFile("c.png", out.getvalue(), "image/png")})
        )
        assert "verdict-invalid" in page and "照片不符" in page

    def test_offline_command_compares_the_card_photo(self, client, approved, holder_user, tmp_path):
        client.force_login(holder_user)
        (tmp_path / "card.png").write_bytes(
            client.get(f"/credentials/{approved.credential.public_id}/offline.png").content
        )
        (tmp_path / "keys.json").write_text(trust_list_json(keys.trust_list()), encoding="utf-8")
        (tmp_path / "status.txt").write_text(services.status_list_token(), encoding="utf-8")
        run = [sys.executable, "-m", "jiaoguan.cli", "verify", str(tmp_path / "card.png"),
               "--keys", str(tmp_path / "keys.json"), "--status", str(tmp_path / "status.txt"), "--json"]  # fmt: skip
        done = subprocess.run(
            run, capture_output=True, text=True, timeout=120, env=_env(tmp_path), check=False
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer["valid"] and {"check": "photo", "ok": True} in answer["checks"]


def _now() -> int:
    import time

    return int(time.time())


def _env(tmp_path):
    import os

    env = dict(os.environ)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    return env


# ---------------------------------------------------------------- the counter compares with the archive


@pytest.mark.django_db
class TestArchivePhotoAtReview:
    def test_archive_photo_is_recorded_once_per_person(self, holder, clerk):
        first = archive_photo_record(person_id=holder.pk, photo=placeholder_portrait("a"), source="demo")
        second = archive_photo_record(person_id=holder.pk, photo=placeholder_portrait("b"), actor=clerk)
        assert first.pk == second.pk and archive_photo_of(person_id=holder.pk).photo_type == "png"
        assert archive_photo_of(person_id=holder.pk).recorded_by == clerk
        assert AuditEntry.objects.filter(subject_type="registry.archivephoto", action="change").count() == 1

    def test_review_page_shows_the_archive_photo_beside_the_submitted_one(
        self, client, licence, holder, holder_user, clerk
    ):
        archive_photo_record(person_id=holder.pk, photo=placeholder_portrait(holder.id_number), source="demo")
        application = services.licence_application_submit(actor=holder_user, photo=picture())
        client.force_login(clerk)
        page = client.get(f"/counter/photos/{application.pk}/").content.decode()
        archive_url = f"/counter/photos/{application.pk}/archive-photo"
        assert archive_url in page and "档案照片" in page and "申请照片" in page
        image = client.get(archive_url)
        assert image.status_code == 200 and image.content == placeholder_portrait(holder.id_number)
        assert AuditEntry.objects.filter(
            action="view", subject_id=str(application.pk), summary__contains="档案照片"
        ).exists()

    def test_review_page_says_when_no_archive_photo_is_on_file(self, client, licence, holder_user, clerk):
        application = services.licence_application_submit(actor=holder_user, photo=picture())
        client.force_login(clerk)
        page = text_of(client.get(f"/counter/photos/{application.pk}/"))
        assert "档案中没有此人的照片" in page
        assert client.get(f"/counter/photos/{application.pk}/archive-photo").status_code == 404
