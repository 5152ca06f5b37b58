"""Registry master data (车驾管基础数据): persons, organisations, vehicles, driving licences.

Dates that follow from regulation (inspection due, scrapping, review, medical,
probation end, scoring cycle) are never stored: ``rules.py`` computes them from the
facts kept here (Q1, Q2).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from .documents import IdDocumentType
from .rules import UseNature, ValidityTerm, VehicleKind

# Choices in words (中文 English), from the rules tables, so the back office never shows
# a raw value such as small_passenger.
VEHICLE_KIND_CHOICES = [(k.value, f"{k.label_zh} {k.label_en}") for k in VehicleKind]
USE_NATURE_CHOICES = [(u.value, f"{u.label_zh} {u.label_en}") for u in UseNature]
VALIDITY_TERM_CHOICES = [(t.value, f"{t.label_zh} {t.label_en}") for t in ValidityTerm]


class Person(models.Model):
    """A natural person known to the traffic police (自然人)."""

    class Sex(models.TextChoices):
        MALE = "M", "男 male"
        FEMALE = "F", "女 female"
        UNKNOWN = "", "未知 unknown"

    id_type = models.CharField(
        "证件类型 document type",
        max_length=24,
        choices=IdDocumentType.choices,
        default=IdDocumentType.RESIDENT_ID,
    )
    id_number = models.CharField(
        "证件号码 document number", max_length=32, db_comment="personal data: masked in lists and logs"
    )
    name = models.CharField("姓名 name", max_length=64, db_comment="personal data: masked in lists and logs")
    sex = models.CharField("性别 sex", max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField("出生日期 birth date")
    nationality = models.CharField(
        "国籍 nationality", max_length=3, default="CHN", db_comment="ISO 3166-1 alpha-3"
    )
    residence_division = models.CharField(
        "住所行政区划 residence division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of residence",
    )
    address = models.CharField("住址 address", max_length=200, blank=True, db_comment="personal data")
    mobile = models.CharField(
        "手机号码 mobile", max_length=11, blank=True, db_comment="personal data: contact phone on record"
    )
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

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
        INSPECTION_STATION = "inspection_station", "机动车检验机构 inspection station"
        EXAM_CENTRE = "exam_centre", "驾驶人考场 driving-test centre"
        SCHOOL = "school", "学校 school"
        INSURER = "insurer", "保险公司 insurer"
        BANK = "bank", "商业银行/汽车金融公司 bank / auto finance"
        TRANSPORT_AUTHORITY = "transport_authority", "道路运输管理部门 road transport authority"
        EDUCATION_AUTHORITY = "education_authority", "教育行政部门 education authority"
        SAFETY_AUTHORITY = "safety_authority", "安监部门 work-safety authority"
        OTHER = "other", "其他单位 other"

    uscc = models.CharField(
        "统一社会信用代码 unified social credit code",
        max_length=18,
        unique=True,
        db_comment="unified social credit code, GB 32100",
    )
    name = models.CharField("单位名称 name", max_length=100)
    kind = models.CharField("单位类型 kind", max_length=32, choices=Kind.choices)
    division = models.CharField(
        "登记行政区划 division", max_length=6, db_index=True, db_comment="GB/T 2260 code of registration"
    )
    address = models.CharField("地址 address", max_length=200, blank=True)
    phone = models.CharField("联系电话 phone", max_length=20, blank=True)
    legal_representative = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="represented_organisations",
        verbose_name="法定代表人 legal representative",
    )
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

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

    plate_number = models.CharField(
        "号牌号码 plate number",
        max_length=10,
        null=True,
        blank=True,
        unique=True,
        db_comment="GA 36 plate number without the dot, ASCII letters upper case",
    )
    plate_type = models.CharField("号牌种类 plate type", max_length=2, choices=PlateType.choices)
    vin = models.CharField(
        "车辆识别代号 VIN",
        max_length=17,
        unique=True,
        db_comment="vehicle identification number, GB 16735; stored upper case, so unique in any case",
    )
    kind = models.CharField("车辆类型 vehicle kind", max_length=32, choices=VEHICLE_KIND_CHOICES)
    use_nature = models.CharField("使用性质 use nature", max_length=32, choices=USE_NATURE_CHOICES)
    brand_model = models.CharField("品牌型号 make and model", max_length=64, blank=True)
    colour = models.CharField("车身颜色 colour", max_length=16, blank=True)
    owner_person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vehicles",
        verbose_name="所有人（自然人） owner (person)",
    )
    owner_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vehicles",
        verbose_name="所有人（单位） owner (organisation)",
    )
    owner_mobile = models.CharField(
        "所有人手机号码 owner's mobile",
        max_length=11,
        blank=True,
        db_comment="owner contact phone (B5); personal data",
    )
    registered_on = models.DateField(
        "初次登记日期 first registration", db_comment="first registration date (初次登记日期)"
    )
    last_inspected_on = models.DateField(
        "最近检验日期 last inspection",
        null=True,
        blank=True,
        db_comment="last passed inspection or label issue",
    )
    on_site_inspection_required = models.BooleanField(
        "须上线检验 on-site inspection required",
        default=False,
        db_comment="true after an injury/death accident or illegal-modification penalty",
    )
    status = models.CharField(
        "机动车状态 status", max_length=8, default="A", db_comment="stored status codes (S7); Q is derived"
    )
    division = models.CharField(
        "登记机关行政区划 registering division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the registering office",
    )
    # Issue 14 (B1, B2, B20, B21): each plate or vehicle licence issued again after registration.
    plate_issue_count = models.PositiveSmallIntegerField(
        "号牌补换领次数 plate reissues",
        default=0,
        # Also a database default: rows written by code that predates the column (a rolling
        # upgrade, a COPY of old exports) start at zero instead of failing.
        db_default=0,
        db_comment="plates replaced (lost, B1) or exchanged (damaged, B2) since registration",
    )
    plate_issued_on = models.DateField(
        "号牌补换领日期 plate reissued on", null=True, blank=True, db_comment="null: the first plates"
    )
    vehicle_licence_issue_count = models.PositiveSmallIntegerField(
        "行驶证补换领次数 vehicle licence reissues",
        default=0,
        db_default=0,
        db_comment="vehicle licences (行驶证) replaced (B20) or exchanged (B21) since registration",
    )
    vehicle_licence_issued_on = models.DateField(
        "行驶证补换领日期 vehicle licence issued on",
        null=True,
        blank=True,
        db_comment="date of the current vehicle licence when reissued; null: the one issued at registration",
    )
    # Issue 15 (N1-N3): facts the notices, reports and announcements are drawn from.
    transferred_out_on = models.DateField(
        "转出日期 transferred out on",
        null=True,
        blank=True,
        db_comment="date the vehicle was transferred out of this office (status B); the transfer-in is then due",
    )
    plate_returned_on = models.DateField(
        "号牌收回日期 plates returned on",
        null=True,
        blank=True,
        db_comment="plates handed back after deregistration; null while they are out (announced void, N3)",
    )
    certificate_returned_on = models.DateField(
        "登记证书收回日期 registration certificate returned on",
        null=True,
        blank=True,
        db_comment="registration certificate (登记证书) handed back after deregistration",
    )
    vehicle_licence_returned_on = models.DateField(
        "行驶证收回日期 vehicle licence returned on",
        null=True,
        blank=True,
        db_comment="vehicle licence (行驶证) handed back after deregistration",
    )
    cloned_plate_cleared_on = models.DateField(
        "套牌嫌疑排除日期 cloned-plate case cleared on",
        null=True,
        blank=True,
        db_comment="a suspected cloned-plate case closed: the owner may take the original number back (N1)",
    )
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_person__isnull=False) & Q(owner_organisation__isnull=True))
                | (Q(owner_person__isnull=True) & Q(owner_organisation__isnull=False)),
                name="vehicle_exactly_one_owner",
            ),
            # Stored upper case, the unique VIN and plate are unique whatever case is typed:
            # a lower-case copy of a registered VIN cannot be stored next to it (GB 16735).
            models.CheckConstraint(condition=Q(vin=Upper("vin")), name="vehicle_vin_upper_case"),
            models.CheckConstraint(
                condition=Q(plate_number__isnull=True) | Q(plate_number=Upper("plate_number")),
                name="vehicle_plate_upper_case",
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


class LicenceCancellationReason(models.TextChoices):
    """Why a licence is cancelled (注销原因, S1 art. 79 and the notices of seed 002 附件2)."""

    DEATH = "death", "死亡 death"
    OWN_REQUEST = "own_request", "本人申请 own request"
    UNFIT = "unfit", "身体条件不适合驾驶 unfit to drive"
    DRUG_ADDICTION = "drug_addiction", "吸毒成瘾 drug addiction"
    EXAM_FRAUD = "exam_fraud", "考试舞弊 exam fraud"
    RENEWAL_OVERDUE = "renewal_overdue", "逾期一年以上未换证 renewal more than a year overdue"
    MEDICAL_OVERDUE = "medical_overdue", "逾期未提交身体条件证明 medical certificate overdue"
    REVIEW_OVERDUE = "review_overdue", "连续三个周期未审验 three cycles without review"
    AGE_LIMIT = "age_limit", "超过驾驶年龄 driving age limit"
    PROBATION_FULL_SCORE = "probation_full_score", "实习期满分 full score in probation"
    EXTENDED_PROBATION_POINTS = "extended_probation", "延长实习期内记6分以上 6+ points in extended probation"
    FULL_SCORE = "full_score", "满分 full score"
    FATAL_ACCIDENT = "fatal_accident", "同责以上死亡事故 fatal accident, equal or greater fault"
    DOWNGRADE_NOT_EXCHANGED = "downgrade", "未按规定降级换证 downgrade not exchanged"
    REVOKED = "revoked", "吊销 revoked"
    OTHER = "other", "其他 other"


class DrivingLicence(models.Model):
    """A driving licence (机动车驾驶证); its number is the holder's ID number."""

    holder = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="licence", verbose_name="持证人 holder"
    )
    archive_number = models.CharField(
        "档案编号 archive number", max_length=12, unique=True, db_comment="档案编号, 12 digits"
    )
    classes = models.CharField(
        "准驾车型 driving classes", max_length=24, db_comment="准驾车型 codes, e.g. C1 or A2D"
    )
    first_issued_on = models.DateField(
        "初次领证日期 first issued", db_comment="初次领证日期; scoring cycles count from it"
    )
    valid_from = models.DateField("有效期起始日期 valid from")
    validity_term = models.CharField("有效期限 validity term", max_length=8, choices=VALIDITY_TERM_CHOICES)
    probation_started_on = models.DateField(
        "实习期起始日期 probation from",
        null=True,
        blank=True,
        db_comment="date the first car or motorcycle class was obtained (实习期)",
    )
    last_medical_on = models.DateField(
        "最近提交身体条件证明日期 last medical certificate",
        null=True,
        blank=True,
        db_comment="last physical-condition certificate",
    )
    last_reviewed_on = models.DateField(
        "最近审验日期 last review", null=True, blank=True, db_comment="last review (审验) completed"
    )
    status = models.CharField(
        "驾驶证状态 status",
        max_length=8,
        default="A",
        db_comment="stored status codes (S7); M, S and, from the deferral dates, N, T, P derived",
    )
    # Granted deferrals (S1 art. 75, B12-B14): the status codes N, T and P are derived from
    # these dates while they run and drop by themselves the day after, with no daily job.
    renewal_deferred_until = models.DateField(
        "延期换证截止日期 renewal deferred until",
        null=True,
        blank=True,
        db_comment="end of a granted renewal deferral (延期换证, N, B12); status N is derived until then",
    )
    review_deferred_until = models.DateField(
        "延期审验截止日期 review deferred until",
        null=True,
        blank=True,
        db_comment="end of a granted review deferral (延期审验, T, B13); status T is derived until then",
    )
    medical_deferred_until = models.DateField(
        "延期提交身体条件证明截止日期 medical certificate deferred until",
        null=True,
        blank=True,
        db_comment="end of a granted certificate deferral (延期体检, P, B14); status P is derived until then",
    )
    cancelled_on = models.DateField("注销日期 cancelled on", null=True, blank=True)
    remarks = models.CharField(
        "备注 remarks",
        max_length=200,
        blank=True,
        db_comment="备注 printed on the licence, ';'-separated (D4, e.g. military history)",
    )
    mobile = models.CharField(
        "手机号码 mobile", max_length=11, blank=True, db_comment="driver contact phone (B15); personal data"
    )
    postal_address = models.CharField(
        "联系地址 postal address", max_length=200, blank=True, db_comment="personal data"
    )
    division = models.CharField(
        "发证机关行政区划 issuing division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the issuing office",
    )
    # Issue 15 (N1-N3, N5): facts the notices, reports and announcements are drawn from.
    cancellation_reason = models.CharField(
        "注销原因 cancellation reason",
        max_length=24,
        blank=True,
        default="",
        db_default="",
        choices=LicenceCancellationReason.choices,
        db_comment="why the licence (or a class of it) was cancelled (S1 art. 79); blank while not cancelled",
    )
    returned_on = models.DateField(
        "驾驶证收回日期 licence returned on",
        null=True,
        blank=True,
        db_comment="paper licence handed back after cancellation; null while out (announced void, N3)",
    )
    downgraded_on = models.DateField(
        "降级日期 downgraded on",
        null=True,
        blank=True,
        db_comment="date classes were downgraded (降级, S1 art. 65, 81); the exchange is then due",
    )
    downgraded_from = models.CharField(
        "降级前准驾车型 classes before downgrade", max_length=24, blank=True, default="", db_default=""
    )
    downgrade_exchanged_on = models.DateField(
        "降级换证日期 downgrade exchanged on",
        null=True,
        blank=True,
        db_comment="the downgraded licence was exchanged at the counter",
    )
    employer = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drivers",
        verbose_name="所属单位 employer",
        db_comment="transport company, school or driving school the driver works for (N5, N2)",
    )
    instructor = models.BooleanField(
        "教练员 driving instructor",
        default=False,
        db_default=False,
        db_comment="a driving school's instructor",
    )
    school_bus_qualified_on = models.DateField(
        "校车驾驶资格取得日期 school-bus qualification", null=True, blank=True
    )
    school_bus_qualification_cancelled_on = models.DateField(
        "校车驾驶资格注销日期 school-bus qualification cancelled on", null=True, blank=True
    )
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

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

    licence = models.ForeignKey(
        DrivingLicence, on_delete=models.PROTECT, related_name="points_entries", verbose_name="驾驶证 licence"
    )
    points = models.SmallIntegerField("记分 points")
    occurred_on = models.DateField("违法日期 date", db_comment="date that decides the scoring cycle")
    source = models.CharField("来源 source", max_length=64, db_comment="e.g. violation record number")
    fine_unpaid = models.BooleanField(
        "罚款未缴 fine unpaid",
        default=False,
        db_comment="the offence's fine is unpaid: its points carry over at cycle end (S2)",
    )
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["licence", "occurred_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gte=-6) & Q(points__lte=12), name="points_entry_range"
            ),
        ]
        verbose_name = "记分记录 points entry"
        verbose_name_plural = "记分记录 points entries"

    def __str__(self) -> str:
        return f"{self.points:+d} {self.source}"


class ArchivePhoto(models.Model):
    """The archive photo of a person (档案照片): the photo on the paper licence's archive.

    One current photo per person; a newer photo replaces the row. The counter compares an
    electronic-licence photo with it before approving (D1). Personal data: staff views are audited.
    """

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="archive_photo", verbose_name="自然人 person"
    )
    photo = models.BinaryField("照片 photo", db_comment="JPEG or PNG; personal data")
    photo_type = models.CharField("照片格式 photo type", max_length=8, db_comment="jpeg or png")
    sha256 = models.CharField(
        "照片摘要 SHA-256", max_length=64, db_comment="hex SHA-256 of the photo bytes, to tell photos apart"
    )
    recorded_at = models.DateTimeField("采集时间 recorded at", auto_now=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="采集人 recorded by",
        db_comment="the staff member who recorded it; empty for imports and demo data",
    )
    source = models.CharField(
        "来源 source", max_length=24, default="archive", db_comment="archive, counter, import or demo"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(photo_type__in=["jpeg", "png"]), name="archive_photo_type")
        ]
        verbose_name = "档案照片 archive photo"
        verbose_name_plural = "档案照片 archive photos"

    def __str__(self) -> str:
        return f"archive photo of person #{self.person_id}"


class MedicalExamination(models.Model):
    """A driver's physical examination at a hospital, and the certificate once submitted (B6/B7).

    The fields of the national form 《机动车驾驶人身体条件证明》 (身体条件证明). Recorded by a
    hospital organisation user; submitted once, after which nothing changes: the certificate is
    what the licence's medical date (``DrivingLicence.last_medical_on``) rests on.
    """

    class Conclusion(models.TextChoices):
        FIT = "fit", "合格 fit"
        UNFIT = "unfit", "不合格 unfit"

    hospital = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="medical_examinations",
        verbose_name="体检医院 hospital",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="medical_examinations", verbose_name="驾驶人 driver"
    )
    licence = models.ForeignKey(
        DrivingLicence,
        on_delete=models.PROTECT,
        related_name="medical_examinations",
        verbose_name="驾驶证 driving licence",
    )
    division = models.CharField(
        "医院行政区划 hospital division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the hospital when the examination was recorded",
    )
    classes_applied = models.CharField(
        "申请准驾车型 classes applied for", max_length=24, db_comment="准驾车型 codes, e.g. C1 or A2D"
    )
    height_cm = models.PositiveSmallIntegerField("身高（厘米） height (cm)")
    vision_left = models.DecimalField(
        "左眼裸眼视力 left eye", max_digits=2, decimal_places=1, db_comment="5-point logarithmic chart"
    )
    vision_right = models.DecimalField(
        "右眼裸眼视力 right eye", max_digits=2, decimal_places=1, db_comment="5-point logarithmic chart"
    )
    corrected_vision_left = models.DecimalField(
        "左眼矫正视力 left eye corrected", max_digits=2, decimal_places=1, null=True, blank=True
    )
    corrected_vision_right = models.DecimalField(
        "右眼矫正视力 right eye corrected", max_digits=2, decimal_places=1, null=True, blank=True
    )
    colour_vision_ok = models.BooleanField(
        "辨色力合格 colour vision", db_comment="no red-green colour blindness"
    )
    hearing_left_ok = models.BooleanField("左耳听力合格 left ear")
    hearing_right_ok = models.BooleanField("右耳听力合格 right ear")
    hearing_aid = models.BooleanField("佩戴助听设备 hearing aid", default=False)
    upper_limbs = models.CharField("上肢 upper limbs", max_length=24, db_comment="medical.UpperLimbs")
    lower_limbs = models.CharField("下肢 lower limbs", max_length=24, db_comment="medical.LowerLimbs")
    trunk_neck_ok = models.BooleanField("躯干和颈部合格 trunk and neck")
    declared_conditions = models.JSONField(
        "申告病史 declared conditions",
        default=list,
        blank=True,
        db_comment="codes of medical.CONDITIONS the driver declared; personal data",
    )
    doctor_name = models.CharField("体检医生 doctor", max_length=32)
    examined_on = models.DateField("体检日期 examined on")
    conclusion = models.CharField("体检结论 conclusion", max_length=8, choices=Conclusion.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="录入人 recorded by",
    )
    recorded_at = models.DateTimeField("录入时间 recorded at", auto_now_add=True)
    submitted_at = models.DateTimeField(
        "提交证明时间 certificate submitted",
        null=True,
        blank=True,
        db_comment="when the certificate was submitted; empty while only recorded",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(conclusion__in=["fit", "unfit"]), name="medical_conclusion"),
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True) | Q(conclusion="fit"), name="medical_submitted_fit"
            ),
        ]
        indexes = [
            models.Index(fields=["hospital", "-recorded_at"], name="medical_hospital_recent"),
            models.Index(fields=["person", "-examined_on"], name="medical_person_recent"),
        ]
        verbose_name = "身体条件证明 medical examination"
        verbose_name_plural = "身体条件证明 medical examinations"

    def __str__(self) -> str:
        return f"medical examination #{self.pk}"


# ------------------------------------------------------------------ mortgages (issue 14, O6)


class OrganisationSealKey(models.Model):
    """An organisation's electronic-seal key (电子印章密钥), registered at the counter (O6).

    A bank or auto-finance company signs its mortgage filings with the private key, which never
    reaches the platform; the public key is kept here. A revoked key verifies nothing from then
    on; the filings it signed keep their evidence.
    """

    class Algorithm(models.TextChoices):
        SM2_SM3 = "SM2-SM3", "SM2-SM3（国密 SM2 签名）"
        ES256 = "ES256", "ES256（ECDSA P-256）"
        EDDSA = "EdDSA", "EdDSA（Ed25519）"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="seal_keys", verbose_name="单位 organisation"
    )
    algorithm = models.CharField("签名算法 algorithm", max_length=16, choices=Algorithm.choices)
    public_key_pem = models.TextField("公钥 public key (PEM)", db_comment="SubjectPublicKeyInfo as PEM")
    fingerprint = models.CharField(
        "公钥指纹 fingerprint",
        max_length=64,
        unique=True,
        db_comment="lower-case hex SHA-256 of the DER public key; filings name their key by it",
    )
    active = models.BooleanField("有效 active", default=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="登记人 registered by",
    )
    registered_at = models.DateTimeField("登记时间 registered at", auto_now_add=True)
    revoked_at = models.DateTimeField("注销时间 revoked at", null=True, blank=True)
    revoked_reason = models.CharField("注销原因 reason", max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(algorithm__in=["SM2-SM3", "ES256", "EdDSA"]), name="seal_key_algorithm"
            ),
            models.CheckConstraint(
                condition=(Q(active=True) & Q(revoked_at__isnull=True))
                | (Q(active=False) & Q(revoked_at__isnull=False)),
                name="seal_key_revoked_when_inactive",
            ),
        ]
        verbose_name = "单位电子印章密钥 organisation seal key"
        verbose_name_plural = "单位电子印章密钥 organisation seal keys"

    def __str__(self) -> str:
        return f"{self.algorithm} {self.fingerprint[:16]}"


class VehicleMortgage(models.Model):
    """A vehicle mortgage (机动车抵押登记) filed online by the mortgagee bank with its e-seal (O6).

    At most one mortgage per vehicle is in force (``filed``); a release (解除抵押) ends it. The
    signed request is the record: the canonical payload, the signature and the key's fingerprint
    are kept for filing and release, so either can be verified again later without paper.
    """

    class State(models.TextChoices):
        FILED = "filed", "已抵押 filed"
        RELEASED = "released", "已解除抵押 released"

    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="mortgages", verbose_name="机动车 vehicle"
    )
    mortgagee = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="mortgages_held",
        verbose_name="抵押权人 mortgagee",
    )
    division = models.CharField(
        "登记机关行政区划 division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the vehicle's registering office when filed; staff scope",
    )
    contract_number = models.CharField("抵押合同编号 contract number", max_length=64)
    principal_fen = models.PositiveBigIntegerField(
        "主债权金额（分） principal (fen)", db_comment="principal amount of the secured debt, integer fen"
    )
    term_start = models.DateField("债务履行期限起 term from")
    term_end = models.DateField("债务履行期限止 term to")
    state = models.CharField("状态 state", max_length=10, choices=State.choices, default=State.FILED)
    filed_at = models.DateTimeField("抵押登记时间 filed at")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="经办账号 filed by",
    )
    filing_payload = models.TextField(
        "抵押申请签名原文 signed filing", db_comment="canonical JSON (core.seals) the bank signed to file"
    )
    filing_signature = models.CharField("抵押申请签名 filing signature", max_length=128, db_comment="base64")
    filing_key = models.ForeignKey(
        OrganisationSealKey,
        on_delete=models.PROTECT,
        related_name="filings",
        verbose_name="抵押申请签名密钥 filing key",
    )
    bank_check_reference = models.CharField(
        "银行核验编号 bank check", max_length=64, blank=True, db_comment="the bank's id of its confirmation"
    )
    released_at = models.DateTimeField("解除抵押时间 released at", null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="解除经办账号 released by",
    )
    release_payload = models.TextField("解除申请签名原文 signed release", blank=True)
    release_signature = models.CharField("解除申请签名 release signature", max_length=128, blank=True)
    release_key = models.ForeignKey(
        OrganisationSealKey,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="releases",
        verbose_name="解除申请签名密钥 release key",
    )

    class Meta:
        constraints = [
            # One mortgage in force per vehicle (O6): the database decides a race of two filings.
            models.UniqueConstraint(
                fields=["vehicle"], condition=Q(state="filed"), name="mortgage_one_in_force_per_vehicle"
            ),
            models.CheckConstraint(condition=Q(state__in=["filed", "released"]), name="mortgage_state"),
            models.CheckConstraint(condition=Q(principal_fen__gt=0), name="mortgage_principal_positive"),
            models.CheckConstraint(
                condition=Q(term_end__gte=models.F("term_start")), name="mortgage_term_order"
            ),
            models.CheckConstraint(
                condition=(Q(state="filed") & Q(released_at__isnull=True))
                | (Q(state="released") & Q(released_at__isnull=False) & Q(release_key__isnull=False)),
                name="mortgage_release_recorded",
            ),
        ]
        indexes = [models.Index(fields=["mortgagee", "-id"], name="mortgage_mortgagee_recent")]
        verbose_name = "机动车抵押登记 vehicle mortgage"
        verbose_name_plural = "机动车抵押登记 vehicle mortgages"

    def __str__(self) -> str:
        return f"mortgage #{self.pk} {self.contract_number}"


class SealNonce(models.Model):
    """A nonce a seal key has signed with (防重放): a signed request is accepted once."""

    key = models.ForeignKey(
        OrganisationSealKey, on_delete=models.CASCADE, related_name="+", verbose_name="密钥 key"
    )
    nonce = models.CharField("随机数 nonce", max_length=64)
    used_at = models.DateTimeField("使用时间 used at", auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "nonce"], name="seal_nonce_once_per_key")]
        verbose_name = "电子印章防重放随机数 seal nonce"
        verbose_name_plural = "电子印章防重放随机数 seal nonces"

    def __str__(self) -> str:
        return self.nonce


class TemporaryPlate(models.Model):
    """A temporary plate (机动车临时号牌) issued online to a car dealer for a new car (B18).

    The row is also the record of the signed credential (``TP1:`` in credentials): its primary
    key is the token's index and its revocation the token's status. ``temporary_plates.py``
    holds the rules (30 days, 3 issues, not beyond the compulsory insurance).
    """

    dealer = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="temporary_plates",
        verbose_name="申领单位 dealer",
    )
    vin = models.CharField(
        "车辆识别代号 VIN", max_length=17, db_index=True, db_comment="GB 16735, stored upper case"
    )
    number = models.CharField(
        "临时号牌号码 number",
        max_length=12,
        unique=True,
        db_comment="province + office letter + 临 + 5-digit serial per office (temporary_plates.py)",
    )
    issue_no = models.PositiveSmallIntegerField(
        "核发次数 issue number", db_comment="1 to 3: the how-manieth temporary plate of this VIN"
    )
    kind = models.CharField("车辆类型 vehicle kind", max_length=32, choices=VEHICLE_KIND_CHOICES)
    brand_model = models.CharField("品牌型号 make and model", max_length=64)
    buyer_name = models.CharField(
        "购车人 buyer", max_length=100, blank=True, db_comment="optional; personal data: masked in lists"
    )
    valid_from = models.DateField("有效期起 valid from")
    valid_until = models.DateField("有效期止 valid until", db_comment="inclusive; never after insured_until")
    insurance_required = models.BooleanField(
        "须投保交强险 insurance checked", default=True, db_comment="false for the kinds O7 exempts"
    )
    insurer_name = models.CharField("保险公司 insurer", max_length=100, blank=True)
    policy_number = models.CharField("交强险保单号 policy number", max_length=40, blank=True)
    insured_until = models.DateField(
        "交强险止期 insured until", null=True, blank=True, db_comment="as the insurer answered at issue"
    )
    division = models.CharField(
        "核发行政区划 division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the dealer at issue",
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="申领人 issued to",
        db_comment="the dealer's user who applied",
    )
    issued_at = models.DateTimeField("核发时间 issued at", auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间 revoked at", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="撤销人 revoked by",
    )
    revoked_reason = models.CharField("撤销原因 revoked because", max_length=100, blank=True)

    class Meta:
        constraints = [
            # At most 3 issues per VIN (RULES.md), and never two plates with one issue number:
            # two applications racing for the same VIN cannot both win.
            models.UniqueConstraint(fields=["vin", "issue_no"], name="temporary_plate_vin_issue_unique"),
            models.CheckConstraint(
                condition=Q(issue_no__gte=1) & Q(issue_no__lte=3), name="temporary_plate_at_most_three"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")), name="temporary_plate_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(insured_until__isnull=True) | Q(valid_until__lte=models.F("insured_until")),
                name="temporary_plate_within_insurance",
            ),
            models.CheckConstraint(condition=Q(vin=Upper("vin")), name="temporary_plate_vin_upper_case"),
        ]
        indexes = [models.Index(fields=["dealer", "-issued_at"], name="temporary_plate_dealer_recent")]
        verbose_name = "临时号牌 temporary plate"
        verbose_name_plural = "临时号牌 temporary plates"

    def __str__(self) -> str:
        return self.number


class TemporaryPlateSerial(models.Model):
    """The last temporary plate serial of one plate office (豫Q), locked to allocate the next."""

    prefix = models.CharField("发牌机关 office prefix", max_length=4, unique=True)
    last = models.PositiveIntegerField("已用序号 last serial", default=0)

    class Meta:
        verbose_name = "临时号牌序号 temporary plate serial"
        verbose_name_plural = "临时号牌序号 temporary plate serials"

    def __str__(self) -> str:
        return f"{self.prefix} {self.last}"


class SchoolBusSign(models.Model):
    """School-bus sign (校车标牌), issued with the school-bus licence (N2, N3)."""

    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="school_bus_signs", verbose_name="校车 vehicle"
    )
    number = models.CharField("标牌编号 sign number", max_length=24, unique=True)
    school = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="school_bus_signs",
        verbose_name="使用单位 school",
    )
    route = models.CharField("行驶线路 route", max_length=200, blank=True)
    valid_from = models.DateField("有效期起 valid from")
    valid_until = models.DateField("有效期止 valid until")
    revoked_on = models.DateField("注销日期 revoked on", null=True, blank=True)
    returned_on = models.DateField(
        "交回日期 returned on", null=True, blank=True, db_comment="null after revocation: announced void (N3)"
    )
    division = models.CharField("发放机关行政区划 issuing division", max_length=6, db_index=True)
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        verbose_name = "校车标牌 school-bus sign"
        verbose_name_plural = "校车标牌 school-bus signs"

    def __str__(self) -> str:
        return self.number


class DrugUseRecord(models.Model):
    """A drug-use record notified by the public-security drug unit (吸毒行为记录, N2)."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="drug_use_records", verbose_name="当事人 person"
    )
    recorded_on = models.DateField("查获日期 recorded on")
    addicted = models.BooleanField("吸毒成瘾 addiction established", default=False)
    source = models.CharField("通报单位 notified by", max_length=100)
    division = models.CharField("行政区划 division", max_length=6, db_index=True)
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        verbose_name = "吸毒行为记录 drug-use record"
        verbose_name_plural = "吸毒行为记录 drug-use records"

    def __str__(self) -> str:
        return f"{self.person_id} {self.recorded_on:%Y-%m-%d}"


class NonCompliantModel(models.Model):
    """A vehicle model found not to comply with its type approval (违规车型, N2, N3)."""

    brand_model = models.CharField("品牌型号 make and model", max_length=64)
    manufacturer = models.CharField("生产企业 manufacturer", max_length=100)
    seller = models.CharField("销售单位 seller", max_length=100, blank=True)
    finding = models.CharField("违规情形 finding", max_length=200)
    found_on = models.DateField("发现日期 found on")
    division = models.CharField("行政区划 division", max_length=6, db_index=True)
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        verbose_name = "违规车型 non-compliant model"
        verbose_name_plural = "违规车型 non-compliant models"

    def __str__(self) -> str:
        return self.brand_model


# The military licence exchange keeps its registry table beside its functions (O3); imported here so
# that Django finds the model with the app's others.
from .military_exchange import MilitaryDrivingAge  # noqa: E402, F401
