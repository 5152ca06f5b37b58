"""Demo photos (演示照片): archive photos for demo persons and approved photos on demo e-licences.

The pictures are drawn placeholders (registry.portraits), one per person from the document
number, so every restart gives the same ones. Called once from ``generate.ensure_demo_logins``.
"""

from __future__ import annotations

from collections.abc import Iterable

from jiaoguan.core.errors import DomainError
from jiaoguan.credentials.models import Credential
from jiaoguan.credentials.services import licence_photo_import
from jiaoguan.registry.models import ArchivePhoto, DrivingLicence, Person
from jiaoguan.registry.portraits import placeholder_portrait
from jiaoguan.registry.services import archive_photo_record

# Archive photos for this many licence holders beyond the demo logins: enough to review any
# application a demo user makes, without drawing one for every generated person.
ARCHIVE_PHOTOS_FOR_HOLDERS = 200
DEMO_NOTE = "演示数据：照片已按档案照片核对通过"


def _portrait(person: Person) -> bytes:
    return placeholder_portrait(f"{person.id_type}:{person.id_number}")


def demo_photos(*, persons: Iterable[Person], e_licence_for: Iterable[Person] = ()) -> dict[str, int]:
    """Give ``persons`` and the first licence holders an archive photo, every current demo
    e-licence without a photo an approved one, and ``e_licence_for`` an e-licence with a photo.

    Idempotent: who already has an archive photo or a photo on the e-licence is left alone.
    """
    counts = {"archive_photos": 0, "e_licence_photos": 0}
    holders = list(
        Person.objects.filter(licence__isnull=False, archive_photo__isnull=True)
        .order_by("pk")
        .distinct()[:ARCHIVE_PHOTOS_FOR_HOLDERS]
    )
    have = set(ArchivePhoto.objects.values_list("person_id", flat=True))
    for person in [*persons, *holders]:
        if person.pk not in have:
            archive_photo_record(person_id=person.pk, photo=_portrait(person), source="demo")
            have.add(person.pk)
            counts["archive_photos"] += 1
    for person in e_licence_for:
        licence = DrivingLicence.objects.filter(holder=person).first()
        if licence is not None and not Credential.objects.filter(licence=licence, status="valid").exists():
            try:
                licence_photo_import(licence_id=licence.pk, photo=_portrait(person), note=DEMO_NOTE)
            except DomainError:
                continue  # a licence that cannot have an e-licence today keeps none
            counts["e_licence_photos"] += 1
    current = Credential.objects.filter(kind=Credential.Kind.DRIVING_LICENCE, status="valid").select_related(
        "licence__holder"
    )
    for credential in current:
        if (credential.data or {}).get("photo") or credential.licence is None:
            continue
        holder = credential.licence.holder
        if holder.pk not in have:
            archive_photo_record(person_id=holder.pk, photo=_portrait(holder), source="demo")
            have.add(holder.pk)
            counts["archive_photos"] += 1
        try:
            licence_photo_import(licence_id=credential.licence.pk, photo=_portrait(holder), note=DEMO_NOTE)
        except DomainError:
            continue
        counts["e_licence_photos"] += 1
    return counts
