"""Study to reduce points (学法减分) and full-score education (满分学习), V7.

A :class:`Course` is studied online (30 minutes and a test: 1 point) or on site at a centre
(1 hour and a test: 2 points, booked on a :class:`StudySession`). Each try is a
:class:`StudyAttempt`; a passed one reduces the licence's points through the registry's ledger.
:class:`StudyStanding` is one row per licence, locked while a reduction is decided so two parallel
passes can never exceed the 6 points of a cycle. A licence that reached 12 points follows the
full-score education, tracked by :class:`FullScoreCase` and its :class:`FullScoreDay` rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jiaoguan.registry.models import DrivingLicence


class CourseKind(models.TextChoices):
    ONLINE = "online", "网络学习 online"
    ON_SITE = "on_site", "现场学习 on site"


class Course(models.Model):
    """A study course (学法减分课程): online 30 min for 1 point, on site 60 min for 2 (RULES.md)."""

    code = models.SlugField("课程代码 code", max_length=32, unique=True)
    kind = models.CharField("学习方式 kind", max_length=8, choices=CourseKind.choices)
    title_zh = models.CharField("课程名称 title", max_length=80)
    title_en = models.CharField("英文名称 English title", max_length=120)
    summary_zh = models.TextField("学习内容 study text", blank=True, default="")
    summary_en = models.TextField("英文学习内容 English study text", blank=True, default="")
    minutes = models.PositiveSmallIntegerField("学习时长（分钟） minutes")
    points = models.PositiveSmallIntegerField("可减免记分 points")
    active = models.BooleanField("开放 active", default=True)
    order = models.PositiveSmallIntegerField("排序 order", default=0)

    class Meta:
        constraints = [
            # V7 / RULES.md "Study to reduce points": online 30 min = 1 point, on site 1 h = 2.
            models.CheckConstraint(
                condition=(Q(kind="online") & Q(minutes=30) & Q(points=1))
                | (Q(kind="on_site") & Q(minutes=60) & Q(points=2)),
                name="points_study_course_kind_terms",
            ),
        ]
        ordering = ["kind", "order", "code"]
        verbose_name = "学法减分课程 course"
        verbose_name_plural = "学法减分课程 courses"

    def __str__(self) -> str:
        return self.code


class StudyCentre(models.Model):
    """An on-site study centre (现场学习点), e.g. at a vehicle administration office."""

    name = models.CharField("名称 name", max_length=80)
    address = models.CharField("地址 address", max_length=160)
    division = models.CharField("行政区划 division", max_length=6, db_index=True)

    class Meta:
        verbose_name = "现场学习点 study centre"
        verbose_name_plural = "现场学习点 study centres"

    def __str__(self) -> str:
        return self.name


class StudySession(models.Model):
    """One on-site class of a centre with its places (现场学习场次)."""

    centre = models.ForeignKey(StudyCentre, on_delete=models.PROTECT, related_name="sessions")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    starts_at = models.DateTimeField("开始时间 starts at")
    capacity = models.PositiveSmallIntegerField("名额 places")
    booked = models.PositiveSmallIntegerField(
        "已预约 booked", default=0, db_comment="kept under the session's row lock; never above capacity"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")), name="points_study_session_not_over"
            ),
        ]
        ordering = ["starts_at", "id"]
        verbose_name = "现场学习场次 study session"
        verbose_name_plural = "现场学习场次 study sessions"

    def __str__(self) -> str:
        return f"{self.centre} {self.starts_at:%Y-%m-%d %H:%M}"


class SessionBooking(models.Model):
    """A driver's place in an on-site session (现场学习预约); the centre records the result."""

    class State(models.TextChoices):
        BOOKED = "booked", "已预约 booked"
        PASSED = "passed", "考试合格 passed"
        FAILED = "failed", "考试不合格 failed"
        ABSENT = "absent", "未到场 absent"

    session = models.ForeignKey(StudySession, on_delete=models.PROTECT, related_name="bookings")
    licence = models.ForeignKey(DrivingLicence, on_delete=models.PROTECT, related_name="+")
    state = models.CharField("状态 state", max_length=8, choices=State.choices, default=State.BOOKED)
    booked_at = models.DateTimeField("预约时间 booked at", auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField("登记时间 recorded at", null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "licence"], name="points_study_one_booking_a_session"),
        ]
        ordering = ["session__starts_at", "id"]
        verbose_name = "现场学习预约 session booking"
        verbose_name_plural = "现场学习预约 session bookings"

    def __str__(self) -> str:
        return f"{self.session_id}/{self.licence_id}"


class StudyStanding(models.Model):
    """One row per licence: the lock under which a reduction is decided (no two passes exceed 6)."""

    licence = models.OneToOneField(DrivingLicence, on_delete=models.PROTECT, related_name="study_standing")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "学法减分账户 study standing"
        verbose_name_plural = "学法减分账户 study standings"

    def __str__(self) -> str:
        return str(self.licence_id)


class StudyAttempt(models.Model):
    """One study and test of a course (学习和考试); a passed one reduces points in its cycle."""

    licence = models.ForeignKey(DrivingLicence, on_delete=models.PROTECT, related_name="study_attempts")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="attempts")
    booking = models.OneToOneField(
        SessionBooking, on_delete=models.PROTECT, null=True, blank=True, related_name="attempt"
    )
    started_at = models.DateTimeField("开始学习时间 started at", db_comment="recorded by the server")
    questions = models.JSONField("试题 questions", default=list, db_comment="codes of the questions drawn")
    answers = models.JSONField("答案 answers", default=dict, blank=True)
    submitted_at = models.DateTimeField("交卷时间 submitted at", null=True, blank=True)
    score = models.PositiveSmallIntegerField("成绩 score", null=True, blank=True)
    passed = models.BooleanField("合格 passed", default=False)
    cycle_start = models.DateField(
        "记分周期起始日期 cycle start", null=True, blank=True, db_comment="cycle of the submission"
    )
    points_reduced = models.PositiveSmallIntegerField("减免记分 points reduced", default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points_reduced__lte=2), name="points_study_attempt_points"),
            models.UniqueConstraint(
                fields=["licence", "course"], condition=Q(submitted_at__isnull=True),
                name="points_study_one_open_attempt",
            ),
            # A course counts once a cycle: passing it again reduces nothing more.
            models.UniqueConstraint(
                fields=["licence", "course", "cycle_start"], condition=Q(passed=True),
                name="points_study_course_once_a_cycle",
            ),
        ]  # fmt: skip
        ordering = ["-started_at", "-id"]
        verbose_name = "学习考试记录 study attempt"
        verbose_name_plural = "学习考试记录 study attempts"

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"XF{self.pk:08d}"


class FullScoreCase(models.Model):
    """Full-score education (满分学习) of a licence that reached 12 points (RULES.md "Points (S2)")."""

    class State(models.TextChoices):
        STUDYING = "studying", "学习中 studying"
        COMPLETE = "complete", "学习完成，待科目一考试 complete, subject 1 exam to book"
        STOPPED = "stopped", "逾期未学习，驾驶证停止使用 missed, licence suspended (J)"

    licence = models.ForeignKey(DrivingLicence, on_delete=models.PROTECT, related_name="full_score_cases")
    division = models.CharField("发证机关行政区划 division", max_length=6, db_index=True)
    reached_on = models.DateField("满分日期 reached on", db_comment="day the cycle's points reached 12")
    required_days = models.PositiveSmallIntegerField("学习期限（天） study days", default=7)
    required_study_days = models.PositiveSmallIntegerField("学习天数 days of study", default=5)
    required_on_site_days = models.PositiveSmallIntegerField("现场学习天数 days on site", default=2)
    state = models.CharField("状态 state", max_length=10, choices=State.choices, default=State.STUDYING)
    completed_on = models.DateField("完成日期 completed on", null=True, blank=True)
    stopped_on = models.DateField("停止使用日期 stopped on", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["licence", "reached_on"], name="points_study_one_case_a_full_score"
            ),
        ]
        ordering = ["-reached_on", "-id"]
        verbose_name = "满分学习 full-score education"
        verbose_name_plural = "满分学习 full-score education"

    def __str__(self) -> str:
        return f"MF{self.pk}"


class FullScoreDay(models.Model):
    """One day of full-score study, online (the driver, timed by the server) or on site (a centre)."""

    case = models.ForeignKey(FullScoreCase, on_delete=models.CASCADE, related_name="days")
    day = models.DateField("学习日期 day")
    kind = models.CharField("学习方式 kind", max_length=8, choices=CourseKind.choices)
    started_at = models.DateTimeField("开始时间 started at")
    finished_at = models.DateTimeField("完成时间 finished at", null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "day"], name="points_study_one_study_a_day"),
        ]
        ordering = ["day"]
        verbose_name = "满分学习记录 full-score study day"
        verbose_name_plural = "满分学习记录 full-score study days"

    def __str__(self) -> str:
        return f"{self.case_id} {self.day}"
