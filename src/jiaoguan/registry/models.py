"""Registry master data (车驾管基础数据): persons, organisations, vehicles, driving licences.

Dates that follow from regulation (inspection due, scrapping, review, medical,
probation end, scoring cycle) are never stored: ``rules.py`` computes them from the
facts kept here (Q1, Q2).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .documents import IdDocumentType
from .rules import UseNature, ValidityTerm, VehicleKind


class Person(models.Model):
    """A natural person known to the traffic police (自然人)."""

    class Sex(models.TextChoices):
        MALE = "M", "男 male"
        FEMALE = "F", "女 female"
        UNKNOWN = "", "未知 unknown"

    id_type = models.CharField(
        max_length=24, choices=IdDocumentType.choices, default=IdDocumentType.RESIDENT_ID
    )
    id_number = models.CharField(max_length=32, db_comment="personal data: masked in lists and logs")
    name = models.CharField(max_length=64, db_comment="personal data: masked in lists and logs")
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField()
    nationality = models.CharField(max_length=3, default="CHN", db_comment="ISO 3166-1 alpha-3")
    residence_division = models.CharField(
        max_length=6, db_index=True, db_comment="GB/T 2260 code of residence"
    )
    address = models.CharField(max_length=200, blank=True, db_comment="personal data")
    mobile = models.CharField(max_length=11, blank=True, db_comment="personal data: contact phone on record")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_number"], name="person_unique_document")
        ]
        verbose_name = "自然人 person"
        verbose_name_plural = "自然人 persons"

    def __str__(self) -> str:
        from jiaoguan.core.identifiers import mask_name

        return mask_name(self.name)


class Organisation(models.Model):
    """An organisation (单位) that owns vehicles or uses the platform (U1)."""

    class Kind(models.TextChoices):
        TRANSPORT_COMPANY = "transport_company", "道路运输企业 road transport company"
        DRIVING_SCHOOL = "driving_school", "驾驶培训机构 driving school"
        CAR_DEALER = "car_dealer", "汽车销售商 car dealer / 4S shop"
        HOSPITAL = "hospital", "医院 hospital"
        SCHOOL = "school", "学校 school"
        INSURER = "insurer", "保险公司 insurer"
        BANK = "bank", "商业银行/汽车金融公司 bank / auto finance"
        TRANSPORT_AUTHORITY = "transport_authority", "道路运输管理部门 road transport authority"
        EDUCATION_AUTHORITY = "education_authority", "教育行政部门 education authority"
        SAFETY_AUTHORITY = "safety_authority", "安监部门 work-safety authority"
        OTHER = "other", "其他单位 other"

    uscc = models.CharField(max_length=18, unique=True, db_comment="unified social credit code, GB 32100")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    division = models.CharField(max_length=6, db_index=True, db_comment="GB/T 2260 code of registration")
    address = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    legal_representative = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="represented_organisations"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "单位 organisation"
        verbose_name_plural = "单位 organisations"

    def __str__(self) -> str:
        return self.name


class PlateType(models.TextChoices):
    """Plate types (号牌种类, GA 36-2018)."""

    LARGE = "01", "01 大型汽车 large (yellow)"
    SMALL = "02", "02 小型汽车 small (blue)"
    MOTORCYCLE = "07", "07 普通摩托车 motorcycle"
    MOPED = "08", "08 轻便摩托车 moped"
    LOW_SPEED = "13", "13 低速车 low-speed vehicle"
    TRAILER = "15", "15 挂车 trailer"
    COACH = "16", "16 教练汽车 coach"
    TEMPORARY = "22", "22 临时行驶车 temporary"
    LARGE_NEW_ENERGY = "51", "51 大型新能源 large new-energy"
    SMALL_NEW_ENERGY = "52", "52 小型新能源 small new-energy"


class Vehicle(models.Model):
    """A registered motor vehicle (机动车)."""

    plate_number = models.CharField(max_length=10, null=True, blank=True, unique=True)
    plate_type = models.CharField(max_length=2, choices=PlateType.choices)
    vin = models.CharField(max_length=17, unique=True, db_comment="vehicle identification number, GB 16735")
    kind = models.CharField(max_length=32, choices=[(k.value, k.value) for k in VehicleKind])
    use_nature = models.CharField(max_length=32, choices=[(u.value, u.value) for u in UseNature])
    brand_model = models.CharField(max_length=64, blank=True)
    colour = models.CharField(max_length=16, blank=True)
    owner_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="vehicles"
    )
    owner_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="vehicles"
    )
    owner_mobile = models.CharField(
        max_length=11, blank=True, db_comment="owner contact phone (B5); personal data"
    )
    registered_on = models.DateField(db_comment="first registration date (初次登记日期)")
    last_inspected_on = models.DateField(
        null=True, blank=True, db_comment="last passed inspection or label issue"
    )
    on_site_inspection_required = models.BooleanField(
        default=False, db_comment="true after an injury/death accident or illegal-modification penalty"
    )
    status = models.CharField(max_length=8, default="A", db_comment="stored status codes (S7); Q is derived")
    division = models.CharField(
        max_length=6, db_index=True, db_comment="GB/T 2260 code of the registering office"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_person__isnull=False) & Q(owner_organisation__isnull=True))
                | (Q(owner_person__isnull=True) & Q(owner_organisation__isnull=False)),
                name="vehicle_exactly_one_owner",
            ),
        ]
        verbose_name = "机动车 vehicle"
        verbose_name_plural = "机动车 vehicles"

    def __str__(self) -> str:
        return self.plate_number or self.vin

    @property
    def kind_enum(self) -> VehicleKind:
        return VehicleKind(self.kind)

    @property
    def use_enum(self) -> UseNature:
        return UseNature(self.use_nature)


class DrivingLicence(models.Model):
    """A driving licence (机动车驾驶证); its number is the holder's ID number."""

    holder = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="licence")
    archive_number = models.CharField(max_length=12, unique=True, db_comment="档案编号, 12 digits")
    classes = models.CharField(max_length=24, db_comment="准驾车型 codes, e.g. C1 or A2D")
    first_issued_on = models.DateField(db_comment="初次领证日期; scoring cycles count from it")
    valid_from = models.DateField()
    validity_term = models.CharField(max_length=8, choices=[(t.value, t.value) for t in ValidityTerm])
    probation_started_on = models.DateField(
        null=True, blank=True, db_comment="date the first car or motorcycle class was obtained (实习期)"
    )
    last_medical_on = models.DateField(
        null=True, blank=True, db_comment="last physical-condition certificate"
    )
    last_reviewed_on = models.DateField(null=True, blank=True, db_comment="last review (审验) completed")
    status = models.CharField(
        max_length=8, default="A", db_comment="stored status codes (S7); M and S derived"
    )
    cancelled_on = models.DateField(null=True, blank=True)
    remarks = models.CharField(
        max_length=200,
        blank=True,
        db_comment="备注 printed on the licence, ';'-separated (D4, e.g. military history)",
    )
    mobile = models.CharField(
        max_length=11, blank=True, db_comment="driver contact phone (B15); personal data"
    )
    postal_address = models.CharField(max_length=200, blank=True, db_comment="personal data")
    division = models.CharField(
        max_length=6, db_index=True, db_comment="GB/T 2260 code of the issuing office"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__gte=models.F("first_issued_on")), name="licence_valid_after_issue"
            ),
        ]
        verbose_name = "驾驶证 driving licence"
        verbose_name_plural = "驾驶证 driving licences"

    def __str__(self) -> str:
        return self.archive_number


class PointsEntry(models.Model):
    """A points change on a licence (记分): positive for an offence, negative for study reduction."""

    licence = models.ForeignKey(DrivingLicence, on_delete=models.PROTECT, related_name="points_entries")
    points = models.SmallIntegerField()
    occurred_on = models.DateField(db_comment="date that decides the scoring cycle")
    source = models.CharField(max_length=64, db_comment="e.g. violation record number")
    fine_unpaid = models.BooleanField(
        default=False, db_comment="the offence's fine is unpaid: its points carry over at cycle end (S2)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["licence", "occurred_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gte=-6) & Q(points__lte=12), name="points_entry_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.source}"
