"""Demo photos (issue 11): archive photos and approved photos on demo e-licences, the same on every run."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jiaoguan.credentials import services
from jiaoguan.credentials.models import Credential, LicenceApplication
from jiaoguan.demo.generate import ensure_demo_logins, generate_demo
from jiaoguan.demo.photos import demo_photos
from jiaoguan.registry.models import ArchivePhoto
from jiaoguan.registry.portraits import placeholder_portrait

pytestmark = pytest.mark.django_db


def test_an_existing_e_licence_gets_an_approved_photo_and_the_holder_an_archive_photo(
    make_person, make_licence
):
    holder = make_person(name="赵敏")
    licence = make_licence(holder=holder, term="long")
    before = services.licence_credential_issue(licence_id=licence.pk, event="test")
    assert not before.data.get("photo")

    counts = demo_photos(persons=[])
    assert counts["e_licence_photos"] == 1
    current = Credential.objects.get(licence=licence, status="valid")
    application = LicenceApplication.objects.get(licence=licence, state="approved")
    assert current.pk != before.pk and current.data["photo"] == application.photo_digest
    archive = ArchivePhoto.objects.get(person=holder)
    assert bytes(archive.photo) == placeholder_portrait(f"{holder.id_type}:{holder.id_number}")
    assert bytes(application.photo) == bytes(archive.photo)  # the demo photo matches the archive

    again = demo_photos(persons=[])
    assert again == {"archive_photos": 0, "e_licence_photos": 0}


def test_demo_logins_give_the_counter_citizen_an_e_licence_with_a_photo():
    today = timezone.localdate()
    generate_demo(persons=40, seed=5, today=today)
    ensure_demo_logins(today=today, password="Tianzhong-Demo-2026")
    with_photo = [c for c in Credential.objects.filter(kind="DL1", status="valid") if c.data.get("photo")]
    assert with_photo, "no demo e-licence with a photo"
    assert all(ArchivePhoto.objects.filter(person=c.licence.holder).exists() for c in with_photo)
    first = sorted(ArchivePhoto.objects.values_list("person_id", "sha256"))
    ensure_demo_logins(today=today, password="Tianzhong-Demo-2026")
    assert sorted(ArchivePhoto.objects.values_list("person_id", "sha256")) == first
