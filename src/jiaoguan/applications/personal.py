"""Which cached reads an application change retires (issue 13; core/personal_reads.py).

Two reads are kept while nothing behind them changes: the applicant's list of applications
(``GET /api/v1/me/applications``), under the applicant's owner version, and the pages of the
staff queue, under a version per jurisdiction. An application's division lies inside up to
three jurisdictions (province, city, county: ``41``, ``4117``, ``411702``), so a change renews
all three; a clerk's page is kept under the version of the clerk's own jurisdiction prefix.
Every save of an application or of a material renews them, now and again when the change
commits (core/versioned_cache.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from jiaoguan.core.personal_reads import enabled, personal_data_changed
from jiaoguan.core.versioned_cache import renew_versions

from .models import Application, ApplicationMaterial

QUEUE_PREFIX_LENGTHS = (2, 4, 6)


def queue_subject(prefix: str) -> str:
    """The version subject of the staff queue of the jurisdiction ``prefix`` (a GB/T 2260 prefix)."""
    return f"applications-queue:{prefix}"


def applications_changed(*, applicant_ids: list[int], divisions: list[str]) -> None:
    """Retire the cached lists of these applicants and the queues of these divisions."""
    if not enabled():
        return
    from jiaoguan.accounts.models import User

    owners = User.objects.filter(pk__in=set(applicant_ids)).values_list("person_id", "organisation_id")
    persons = [person for person, _ in owners]
    organisations = [organisation for _, organisation in owners]
    personal_data_changed(person_ids=persons, organisation_ids=organisations)
    renew_versions(
        [queue_subject(d[:n]) for d in set(divisions) if d for n in QUEUE_PREFIX_LENGTHS]
        + [queue_subject("")]
    )


def _application_changed(sender: Any, instance: Application, **kwargs: Any) -> None:
    applications_changed(applicant_ids=[instance.applicant_id], divisions=[instance.division])


def _material_changed(sender: Any, instance: ApplicationMaterial, **kwargs: Any) -> None:
    if not enabled():
        return
    row = (
        Application.objects.filter(pk=instance.application_id).values_list("applicant_id", "division").first()
    )
    if row:
        applications_changed(applicant_ids=[row[0]], divisions=[row[1]])


def connect() -> None:
    for model, handler in ((Application, _application_changed), (ApplicationMaterial, _material_changed)):
        label = model._meta.label_lower
        post_save.connect(handler, sender=model, dispatch_uid=f"personal_reads.saved.{label}")
        post_delete.connect(handler, sender=model, dispatch_uid=f"personal_reads.deleted.{label}")
