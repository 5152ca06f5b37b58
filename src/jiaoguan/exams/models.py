"""Exam centres, learner permits, exam plans, applications and results (B22, B23, X1-X7).

Scarce places are guarded in the database: a plan's ``taken`` never exceeds its ``places``
(check constraint, raised by a conditional UPDATE); a learner has at most one active
application per subject under a permit (partial unique constraint), so no learner holds two
places in one subject; a booking has at most one result per attempt; a permit's test
location changes at most three times (check constraint).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jiaoguan.registry.models import Organisation, Person

from .rules import EXAM_CLASSES, PermitKind, Subject

SUBJECT_CHOICES = [(s.value, s.label_zh.split(" ")[0] + " " + s.label_en.split(":")[0]) for s in Subject]
CLASS_CHOICES = [(c, c) for c in EXAM_CLASSES]
KIND_CHOICES = [
    (PermitKind.FIRST.value, "初次申领 first licence"),
    (PermitKind.ADDED.value, "增加准驾车型 added class"),
]


class ExamCentre(models.Model):
    """An exam centre (考场): the exam profile of a registry organisation of kind exam_centre."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="exam_centre", verbose_name="单位 organisation"
    )
    division = models.CharField(
        "所在行政区划 division", max_length=6, db_index=True, db_comment="GB/T 2260 code where it stands"
    )
    address = models.CharField("地址 address", max_length=200)
    phone = models.CharField("联系电话 phone", max_length=20, blank=True)
    subjects = models.CharField(
        "考试科目 subjects", max_length=20, db_comment="subjects examined between commas, e.g. ',1,2,3,4,'"
    )
    vehicle_classes = models.CharField(
        "考试车型 vehicle classes",
        max_length=80,
        db_comment="classes examined between commas, e.g. ',C1,C2,'",
    )
    active = models.BooleanField("启用 active", default=True)
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        verbose_name = "考场 exam centre"
        verbose_name_plural = "考场 exam centres"

    def __str__(self) -> str:
        return self.organisation.name

    @property
    def subject_list(self) -> list[int]:
        return [int(s) for s in self.subjects.split(",") if s]

    @property
    def class_list(self) -> list[str]:
        return [c for c in self.vehicle_classes.split(",") if c]

    def examines(self, subject: int, vehicle_class: str) -> bool:
        return f",{subject}," in self.subjects and f",{vehicle_class}," in self.vehicle_classes


class LearnerPermit(models.Model):
    """A learner's file for one class (驾驶证申请) and, once subject 1 is passed, the learner permit
    (学习驾驶证明), valid three years (S1 art. 32)."""

    class State(models.TextChoices):
        ENROLLED = "enrolled", "已受理 enrolled (subject 1 pending)"
        LEARNING = "learning", "学习驾驶中 learning"
        LICENSED = "licensed", "已领证 licensed"
        EXPIRED = "expired", "已过期 expired"
        WITHDRAWN = "withdrawn", "已撤销 withdrawn"

    OPEN_STATES = (State.ENROLLED, State.LEARNING)

    number = models.CharField(
        "流水号 number",
        max_length=20,
        unique=True,
        db_comment="public number of the file, e.g. XX4117202612050001",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="learner_permits", verbose_name="学员 learner"
    )
    school = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="learners",
        verbose_name="驾驶培训机构 driving school",
    )  # fmt: skip
    vehicle_class = models.CharField("申请准驾车型 class", max_length=2, choices=CLASS_CHOICES)
    kind = models.CharField("申请类型 kind", max_length=8, choices=KIND_CHOICES)
    division = models.CharField(
        "受理地 division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the office that enrolled it",
    )
    test_division = models.CharField(
        "考试地 test location", max_length=6, db_index=True,
        db_comment="GB/T 2260 city code where the subjects are taken; a small car may move it (X3)",
    )  # fmt: skip
    location_changes = models.PositiveSmallIntegerField(
        "考试地变更次数 location changes",
        default=0,
        db_comment="times the test location moved (at most 3, X3)",
    )
    state = models.CharField("状态 state", max_length=12, choices=State.choices, default=State.ENROLLED)
    enrolled_on = models.DateField("受理日期 enrolled on")
    issued_on = models.DateField(
        "学习驾驶证明签发日期 permit issued on",
        null=True,
        blank=True,
        db_comment="the day after subject 1 passed",
    )
    valid_until = models.DateField("学习驾驶证明有效期至 valid until", null=True, blank=True)
    licensed_on = models.DateField("领证日期 licensed on", null=True, blank=True)
    school_consent_at = models.DateTimeField(
        "同意驾校代为预约 school may apply since", null=True, blank=True,
        db_comment="when the learner let the school apply for exams; null: not (or withdrawn)",
    )  # fmt: skip
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "vehicle_class"],
                condition=Q(state__in=["enrolled", "learning"]),
                name="exams_one_open_permit_a_class",
            ),
            models.CheckConstraint(
                condition=Q(location_changes__lte=3), name="exams_location_changes_at_most_3"
            ),
        ]
        indexes = [models.Index(fields=["school", "state"], name="exams_permit_school_state")]
        verbose_name = "学习驾驶证明 learner permit"
        verbose_name_plural = "学习驾驶证明 learner permits"

    def __str__(self) -> str:
        return f"{self.number} {self.vehicle_class}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class TestLocationChange(models.Model):
    """A move of a permit's test location (考试地变更, X3), kept for monitoring transfers (X6)."""

    permit = models.ForeignKey(
        LearnerPermit,
        on_delete=models.CASCADE,
        related_name="location_moves",
        verbose_name="学习驾驶证明 permit",
    )
    school = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="驾驶培训机构 driving school",
    )  # fmt: skip
    from_division = models.CharField("原考试地 from", max_length=6)
    to_division = models.CharField("新考试地 to", max_length=6, db_index=True)
    changed_at = models.DateTimeField("变更时间 changed at", db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="办理人 changed by",
    )  # fmt: skip

    class Meta:
        indexes = [models.Index(fields=["school", "changed_at"], name="exams_move_school_time")]
        verbose_name = "考试地变更 test location change"
        verbose_name_plural = "考试地变更 test location changes"

    def __str__(self) -> str:
        return f"{self.from_division} → {self.to_division}"


class ExamPlan(models.Model):
    """An exam plan (考试计划): a centre's places for one subject and class on one day, and the
    window in which learners apply for them."""

    class Method(models.TextChoices):
        LOTTERY = "lottery", "按规则分配 priority classes and lottery"
        FIRST_COME = "first_come", "先到先得 first come, first served"

    class State(models.TextChoices):
        DRAFT = "draft", "未发布 draft"
        OPEN = "open", "已发布 published"
        ALLOCATED = "allocated", "已分配 allocated"
        FINISHED = "finished", "已考试 examined"
        WITHDRAWN = "withdrawn", "已撤回 withdrawn"

    centre = models.ForeignKey(
        ExamCentre, on_delete=models.PROTECT, related_name="plans", verbose_name="考场 centre"
    )
    division = models.CharField(
        "考场行政区划 division",
        max_length=6,
        db_index=True,
        db_comment="the centre's GB/T 2260 code, for jurisdiction",
    )
    subject = models.PositiveSmallIntegerField("考试科目 subject", choices=SUBJECT_CHOICES)
    vehicle_class = models.CharField("考试车型 class", max_length=2, choices=CLASS_CHOICES)
    exam_date = models.DateField("考试日期 exam date", db_index=True)
    starts_at = models.TimeField("开考时间 starts at")
    places = models.PositiveIntegerField("计划人数 places")
    taken = models.PositiveIntegerField(
        "已分配人数 taken", default=0, db_comment="places allocated; raised by a conditional UPDATE"
    )
    method = models.CharField(
        "分配方式 method", max_length=12, choices=Method.choices, default=Method.LOTTERY
    )
    window_opens_at = models.DateTimeField("开始申请时间 window opens")
    window_closes_at = models.DateTimeField("截止申请时间 window closes")
    cancel_until = models.DateTimeField(
        "取消截止时间 cancel until", db_comment="learners may cancel until then (B23)"
    )
    state = models.CharField(
        "状态 state", max_length=12, choices=State.choices, default=State.DRAFT, db_index=True
    )
    seed_commitment = models.CharField(
        "随机种子承诺值 seed commitment", max_length=64, blank=True,
        db_comment="SHA-256 of the lottery seed, published when the window opens",
    )  # fmt: skip
    seed = models.CharField(
        "随机种子 seed", max_length=64, blank=True,
        db_comment="lottery seed (hex); drawn when published, shown only after the window closed",
    )  # fmt: skip
    inputs_sha256 = models.CharField(
        "申请清单摘要 inputs SHA-256",
        max_length=64,
        blank=True,
        db_comment="SHA-256 of the canonical inputs at close",
    )
    applications_count = models.PositiveIntegerField("申请人数 applications", default=0)
    published_at = models.DateTimeField("发布时间 published at", null=True, blank=True)
    allocated_at = models.DateTimeField("分配时间 allocated at", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="创建人 created by",
    )  # fmt: skip
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(taken__lte=F("places")), name="exams_plan_not_oversubscribed"),
            models.CheckConstraint(condition=Q(places__gt=0), name="exams_plan_has_places"),
            models.CheckConstraint(
                condition=Q(window_opens_at__lt=F("window_closes_at")), name="exams_plan_window_in_order"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "window_closes_at"], name="exams_plan_state_close"),
            models.Index(fields=["subject", "exam_date"], name="exams_plan_subject_date"),
        ]
        ordering = ["exam_date", "starts_at", "pk"]
        verbose_name = "考试计划 exam plan"
        verbose_name_plural = "考试计划 exam plans"

    def __str__(self) -> str:
        return f"{self.exam_date:%Y-%m-%d} {self.vehicle_class} 科目{self.subject}"

    @property
    def free(self) -> int:
        return max(0, self.places - self.taken)


class ExamApplication(models.Model):
    """A learner's application for a place in a plan (考试预约申请, B22); once allocated, the booking."""

    class State(models.TextChoices):
        APPLIED = "applied", "待分配 applied"
        ALLOCATED = "allocated", "已约上 allocated"
        WAITING = "waiting", "候补 on the waiting list"
        NOT_ALLOCATED = "not_allocated", "未约上 not allocated"
        CANCELLED = "cancelled", "已取消 cancelled"
        PASSED = "passed", "合格 passed"
        FAILED = "failed", "不合格 failed"
        MISSED = "missed", "缺考 missed"

    ACTIVE_STATES = (State.APPLIED, State.ALLOCATED, State.WAITING)
    # A booking "used" (S1 art. 42: at most 5 per subject): a place that was allocated to it.
    USED_STATES = (State.ALLOCATED, State.PASSED, State.FAILED, State.MISSED)

    number = models.CharField(
        "申请编号 number", max_length=20, unique=True, db_comment="public number, on the allocation inputs"
    )
    plan = models.ForeignKey(
        ExamPlan, on_delete=models.PROTECT, related_name="applications", verbose_name="考试计划 plan"
    )
    permit = models.ForeignKey(
        LearnerPermit,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name="学习驾驶证明 permit",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="学员 learner"
    )
    subject = models.PositiveSmallIntegerField(
        "考试科目 subject", choices=SUBJECT_CHOICES, db_comment="the plan's subject, for the one-active rule"
    )
    state = models.CharField(
        "状态 state", max_length=16, choices=State.choices, default=State.APPLIED, db_index=True
    )
    eligible_on = models.DateField("可预约日期 eligible on", null=True, blank=True)
    priority = models.PositiveSmallIntegerField("优先类别 priority class", null=True, blank=True)
    rank = models.PositiveIntegerField("分配顺序 rank", null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="申请人账号 applied by",
    )  # fmt: skip
    school = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="代为申请的驾校 school that applied",
    )  # fmt: skip
    consent_at = models.DateTimeField(
        "学员同意时间 learner consent",
        null=True,
        blank=True,
        db_comment="the learner's consent the school applied under",
    )
    client_key = models.CharField(
        "客户端标识 client", max_length=64, blank=True, db_index=True,
        db_comment="HMAC of the client address or API client, for monitoring (X6); never the address",
    )  # fmt: skip
    created_at = models.DateTimeField("申请时间 applied at", auto_now_add=True)
    decided_at = models.DateTimeField("分配时间 decided at", null=True, blank=True)
    cancelled_at = models.DateTimeField("取消时间 cancelled at", null=True, blank=True)
    ended_on = models.DateField(
        "考试结束日期 ended on", null=True, blank=True, db_comment="day the booking ended"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["permit", "subject"],
                condition=Q(state__in=["applied", "allocated", "waiting"]),
                name="exams_one_active_application_a_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["plan", "state", "rank"], name="exams_app_plan_state_rank"),
            models.Index(fields=["person", "-created_at"], name="exams_app_person_recent"),
            models.Index(fields=["permit", "subject", "state"], name="exams_app_permit_subject"),
        ]
        verbose_name = "考试预约 exam application"
        verbose_name_plural = "考试预约 exam applications"

    def __str__(self) -> str:
        return self.number


class ExamResult(models.Model):
    """The result of one attempt of a booking (考试成绩): the first, or the retake it includes."""

    class Outcome(models.TextChoices):
        PASSED = "passed", "合格 passed"
        FAILED = "failed", "不合格 failed"
        MISSED = "missed", "缺考 missed"

    application = models.ForeignKey(
        ExamApplication, on_delete=models.PROTECT, related_name="results", verbose_name="考试预约 booking"
    )
    attempt = models.PositiveSmallIntegerField("考试次数 attempt", db_comment="1, or 2 for the retake")
    outcome = models.CharField("结果 outcome", max_length=8, choices=Outcome.choices)
    score = models.PositiveSmallIntegerField("成绩 score", null=True, blank=True)
    examiner = models.CharField(
        "考试员 examiner",
        max_length=32,
        blank=True,
        db_index=True,
        db_comment="examiner's staff number at the centre",
    )
    taken_on = models.DateField("考试日期 taken on")
    recorded_at = models.DateTimeField("录入时间 recorded at", auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="录入人 recorded by",
    )  # fmt: skip
    client_id = models.CharField("上报系统 reporting client", max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "attempt"], name="exams_one_result_an_attempt"),
            models.CheckConstraint(condition=Q(attempt__in=[1, 2]), name="exams_attempt_one_or_two"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__lte=100), name="exams_score_at_most_100"
            ),
        ]
        indexes = [models.Index(fields=["examiner", "taken_on"], name="exams_result_examiner_day")]
        verbose_name = "考试成绩 exam result"
        verbose_name_plural = "考试成绩 exam results"

    def __str__(self) -> str:
        return f"{self.application_id}#{self.attempt} {self.outcome}"
