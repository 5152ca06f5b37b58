"""Registry side of the military licence exchange (退役军人换证, O3; seed 004 §七): the civilian
licence issued or reissued with the continuous driving age, and the record of the military licence
it continues from (军队驾龄记录).

The exchange case itself lives in ``jiaoguan.military_exchange``; it calls these functions inside
its own transaction when the counter accepts a case. The registry writes only its own tables:

- REISSUE: the civilian licence is created or replaced with the first-issue date of
  :func:`military_licence_rules.first_issue_date`, valid six years from the exchange day, and the
  remark ``M3`` with the military first issue, classes and added classes, which the electronic
  licence (DL1) carries;
- RECORD_ONLY (exchanged by 2021-05-31): the licence is left as it is; the remark goes into the
  driving record only (shown with the licence, not printed or signed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import models

from jiaoguan.core.audit import audit_record

from . import military_licence_rules as mrules
from . import rules
from .events import registry_changed
from .models import DrivingLicence, Person

REMARK_CODE = "M3"  # credentials.token.REMARKS: 持军队驾驶证换领


class MilitaryDrivingAge(models.Model):
    """The military licence a civilian licence continues from (军队驾龄记录, O3): one per licence,
    the newest exchange replacing an older one."""

    class Path(models.TextChoices):
        REISSUE = "reissue", "换发并签注 reissued"
        RECORD_ONLY = "record_only", "仅在驾驶记录备注 driving record only"

    licence = models.OneToOneField(
        DrivingLicence, on_delete=models.PROTECT, related_name="military_age", verbose_name="驾驶证 licence"
    )
    path = models.CharField("签注方式 path", max_length=12, choices=Path.choices)
    military_number = models.CharField(
        "军队（武警）驾驶证号 military licence number", max_length=24, db_comment="personal data"
    )
    military_first_issued_on = models.DateField("军队（武警）驾驶证初次领证日期 military first issue")
    military_classes = models.CharField("军队准驾车型 military classes", max_length=24)
    added = models.JSONField(
        "增驾车型及时间 added classes", default=list, db_comment='[["A1", "2012-05-01"], ...], oldest first'
    )
    recorded_on = models.DateField("签注日期 recorded on", db_comment="the exchange (or remark) day")

    class Meta:
        app_label = "registry"
        verbose_name = "军队驾龄记录 military driving age"
        verbose_name_plural = "军队驾龄记录 military driving ages"

    def __str__(self) -> str:
        return f"{self.military_number} {self.military_first_issued_on}"

    @property
    def remark_detail(self) -> str:
        return remark_detail(
            first_issued_on=self.military_first_issued_on, classes=self.military_classes, added=self.added
        )


def remark_detail(*, first_issued_on: date, classes: str, added: Sequence[Sequence[str]]) -> str:
    """The remark's text after its code, language-neutral (the QR carries it as is):
    "2008-03-01 B1 +A1 2012-05-01" = first military issue, classes, each added class and its day."""
    parts = [first_issued_on.isoformat(), classes]
    parts += [f"+{code} {on}" for code, on in added]
    return " ".join(parts)


def _with_remark(remarks: str, remark: str) -> str:
    """The licence's ';'-separated remarks with the M3 remark replaced (one per licence)."""
    kept = [
        r.strip() for r in (remarks or "").split(";") if r.strip() and r.strip().split(" ")[0] != REMARK_CODE
    ]
    return ";".join([*kept, remark])[:200]


def merged_classes(held: str, military: str) -> str:
    """The civilian classes held plus the military ones, without a class another of them allows
    (C1 held, B1 exchanged: B1)."""
    codes = {*rules.parse_classes(held), *rules.parse_classes(military)}
    kept = {c for c in codes if not any(c in rules.covered_classes(o) for o in codes if o != c)}
    return rules.canonical_classes(kept)


def _added_rows(added: Iterable[Sequence[Any]]) -> list[list[str]]:
    return [[str(code), on.isoformat() if isinstance(on, date) else str(on)] for code, on in added]


def exchange_reissue(
    *,
    actor: Any,
    person_id: int,
    military_number: str,
    military_first_issued_on: date,
    classes: str,
    added: Iterable[Sequence[Any]],
    exchanged_on: date,
    division: str,
) -> DrivingLicence:
    """Issue (or replace) the civilian licence of a military exchange (seed §七 三.1, 四, 五), in the
    caller's transaction: first-issue date by the seed's rule, valid six years from ``exchanged_on``,
    the military classes, and the remark M3 with the military first issue, classes and added classes."""
    from .services import _LICENCE_UNIQUE, _new_archive_number, _save

    person = Person.objects.select_for_update().get(pk=person_id)
    first = mrules.first_issue_date(
        military_first_issued_on=military_first_issued_on, birth_date=person.birth_date, classes=classes,
        exchanged_on=exchanged_on,
    )  # fmt: skip
    rows = _added_rows(added)
    remark = f"{REMARK_CODE} {remark_detail(first_issued_on=military_first_issued_on, classes=classes, added=rows)}"
    licence = DrivingLicence.objects.select_for_update().filter(holder_id=person.pk).first()
    created = licence is None
    if licence is None:
        licence = DrivingLicence(
            holder=person, archive_number=_new_archive_number(division), mobile=person.mobile,
            postal_address=person.address, division=division,
        )  # fmt: skip
    if created:
        licence.classes = rules.canonical_classes(rules.parse_classes(classes))
        licence.status = "A"
    else:
        # A civilian licence held already keeps its other classes and its status (a suspended or
        # cancelled licence is not cleared by an exchange).
        licence.classes = merged_classes(licence.classes, classes)
    licence.first_issued_on = first
    licence.valid_from = exchanged_on
    licence.validity_term = rules.ValidityTerm.SIX_YEARS.value  # seed §七 五: six years after the exchange
    # The driving age continues: no probation period starts with the exchange.
    licence.probation_started_on = None
    licence.remarks = _with_remark(licence.remarks, remark)
    licence = _save(licence, unique_fields=_LICENCE_UNIQUE)
    MilitaryDrivingAge.objects.update_or_create(
        licence=licence,
        defaults={
            "path": MilitaryDrivingAge.Path.REISSUE, "military_number": military_number,
            "military_first_issued_on": military_first_issued_on, "military_classes": classes, "added": rows,
            "recorded_on": exchanged_on,
        },
    )  # fmt: skip
    audit_record(
        actor=actor, action="create" if created else "change", subject=licence, subject_person_id=person.pk,
        summary=f"军队驾驶证换领 licence exchanged from military licence {military_number[:2]} "
        f"(first issue {first.isoformat()})",
    )  # fmt: skip
    registry_changed(event="licence_exchanged", licence_id=licence.pk)
    return licence


def exchange_record_only(
    *,
    actor: Any,
    licence_id: int,
    military_number: str,
    military_first_issued_on: date,
    classes: str,
    added: Iterable[Sequence[Any]],
    recorded_on: date,
) -> MilitaryDrivingAge:
    """Record the military driving age of a licence exchanged by 2021-05-31 (seed §七 三.2): a remark
    in the driving record only; the licence, its dates and its e-licence stay as they are."""
    licence = DrivingLicence.objects.select_for_update().get(pk=licence_id)
    record, _created = MilitaryDrivingAge.objects.update_or_create(
        licence=licence,
        defaults={
            "path": MilitaryDrivingAge.Path.RECORD_ONLY, "military_number": military_number,
            "military_first_issued_on": military_first_issued_on, "military_classes": classes,
            "added": _added_rows(added), "recorded_on": recorded_on,
        },
    )  # fmt: skip
    audit_record(
        actor=actor, action="change", subject=licence, subject_person_id=licence.holder_id,
        summary=f"驾驶记录备注军队驾龄 military driving age noted in the driving record {military_number[:2]}",
    )  # fmt: skip
    return record


def military_ages_of(*, licence_ids: Iterable[int]) -> dict[int, MilitaryDrivingAge]:
    """The military driving age recorded for each of these licences (the holder's own page)."""
    return {m.licence_id: m for m in MilitaryDrivingAge.objects.filter(licence_id__in=list(licence_ids))}
