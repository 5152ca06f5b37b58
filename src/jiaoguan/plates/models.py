"""Plate pools, new-vehicle pre-registrations, selections and the public draw log (B19, P1-P5).

One holder per number (P5) is kept by the database: a pool number row has one holder column, a
number is unique across pools, and every change of a pool's numbers is made under the pool's
row lock and numbered in the pool's log without gaps (unique (pool, sequence)). An account has
at most one open selection and a pre-registered car at most one live one (partial unique
constraints), so one vehicle at a time (P3) holds under concurrent requests too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import Organisation, Person

from . import draws

PLATE_TYPE_CHOICES = [("02", "02 小型汽车 small car"), ("52", "52 小型新能源汽车 small new-energy car")]


class PlatePool(models.Model):
    """A number pool (号源) of one plate office (发牌机关) and plate type.

    The row is the pool's lock: every change of its numbers locks it, takes the next sequence
    number and writes one log entry, so the public log is a complete, ordered account.
    """

    prefix = models.CharField(
        "发牌机关代号 office prefix",
        max_length=2,
        db_comment="province abbreviation + office letter, e.g. 豫Q",
    )
    plate_type = models.CharField("号牌种类 plate type", max_length=2, choices=PLATE_TYPE_CHOICES)
    division = models.CharField(
        "发牌机关行政区划 division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the plate office",
    )
    rules = models.JSONField("号段规则 rules", default=dict, db_comment="plates.rules.PoolRules.as_data()")
    salt = models.CharField(
        "排序盐值 position salt",
        max_length=32,
        db_comment="public; numbers are positioned by sha256(salt:number)",
    )
    position_span = models.PositiveIntegerField(
        "号位总数 position span", default=0, db_comment="positions 0..span-1 have been given to numbers"
    )
    sequence = models.PositiveBigIntegerField("最近日志序号 last sequence", default=0)
    last_event_at = models.DateTimeField("最近变动时间 last change", null=True, blank=True)
    current_day = models.ForeignKey(
        "DrawDay", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="最近开盘日 latest opening day", db_comment="the day whose opening this pool last wrote",
    )  # fmt: skip
    open = models.BooleanField("开放网上选号 open online", default=True)
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "plate_type"], name="plates_pool_one_per_type")
        ]
        verbose_name = "号源 plate pool"
        verbose_name_plural = "号源 plate pools"

    def __str__(self) -> str:
        return self.key

    @property
    def key(self) -> str:
        return f"{self.prefix}:{self.plate_type}"


class PoolBatch(models.Model):
    """One generation or import of numbers into a pool, with the rules it was checked against."""

    class Method(models.TextChoices):
        GENERATE = "generate", "按规则生成 generated"
        IMPORT = "import", "导入 imported"

    pool = models.ForeignKey(
        PlatePool, on_delete=models.PROTECT, related_name="batches", verbose_name="号源 pool"
    )
    method = models.CharField("方式 method", max_length=8, choices=Method.choices)
    patterns = models.CharField("号码规则 patterns", max_length=400, blank=True)
    rules = models.JSONField("当时的号段规则 rules applied", default=dict)
    added = models.PositiveIntegerField("新增号码数 numbers added", default=0)
    skipped = models.PositiveIntegerField(
        "跳过号码数 numbers skipped", default=0, db_comment="already in a pool, or refused by the rules"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="操作人 by",
    )  # fmt: skip
    created_at = models.DateTimeField("时间 at", auto_now_add=True)

    class Meta:
        verbose_name = "号源批次 pool batch"
        verbose_name_plural = "号源批次 pool batches"

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.pk} +{self.added}"


class PreRegistration(models.Model):
    """A new vehicle's pre-registration (新车注册登记信息), entered by the dealer that sold it (P2).

    The buyer's identity number and mobile are what the platform matches before a selection.
    """

    class State(models.TextChoices):
        OPEN = "open", "待选号 open"
        REGISTERED = "registered", "已注册登记 registered"
        WITHDRAWN = "withdrawn", "已撤回 withdrawn"

    dealer = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="销售商 dealer"
    )
    vin = models.CharField(
        "车辆识别代号 VIN", max_length=17, unique=True, db_comment="GB 16735, upper case; one record per car"
    )
    plate_type = models.CharField("号牌种类 plate type", max_length=2, choices=PLATE_TYPE_CHOICES)
    brand_model = models.CharField("品牌型号 make and model", max_length=64)
    colour = models.CharField("车身颜色 colour", max_length=16, blank=True)
    buyer_id_number = models.CharField(
        "购车人身份证明号码 buyer's ID number", max_length=18, db_index=True,
        db_comment="citizen ID (GB 11643) or USCC (GB 32100); personal data",
    )  # fmt: skip
    buyer_name = models.CharField("购车人 buyer", max_length=100, db_comment="personal data")
    buyer_mobile = models.CharField(
        "购车人手机号码 buyer's mobile", max_length=11, db_comment="personal data"
    )
    division = models.CharField(
        "登记地行政区划 division",
        max_length=6,
        db_index=True,
        db_comment="the dealer's division: registered there",
    )
    state = models.CharField("状态 state", max_length=12, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="录入账号 entered by",
    )  # fmt: skip
    created_at = models.DateTimeField("录入时间 entered", auto_now_add=True)

    class Meta:
        verbose_name = "新车预录入 vehicle pre-registration"
        verbose_name_plural = "新车预录入 vehicle pre-registrations"

    def __str__(self) -> str:
        return self.vin


class PlateSelection(models.Model):
    """One selection (选号): a held set of five random numbers, or one self-composed number.

    ``held_until`` ends the hold; ``register_by`` ends a chosen number's wait for registration.
    Both are read lazily: an ended hold is free again at once, without a sweeper (P5).
    """

    class Mode(models.TextChoices):
        RANDOM = "random", "随机选号（5选1） random, five to choose from"
        SELF = "self", "自编自选 self-composed"

    class State(models.TextChoices):
        HOLDING = "holding", "待选定 holding"
        CHOSEN = "chosen", "已选定，待注册登记 chosen, to be registered"
        REGISTERED = "registered", "已注册登记 registered"
        ABANDONED = "abandoned", "已放弃 given up"
        EXPIRED = "expired", "已超时 expired"
        LAPSED = "lapsed", "逾期未登记，已失效 lapsed"

    OPEN_STATES = (State.HOLDING, State.CHOSEN)

    number = models.CharField("选号流水号 selection number", max_length=24, unique=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="账号 account"
    )
    owner_person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="所有人 owner"
    )
    owner_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="所有人（单位） owner (organisation)",
    )  # fmt: skip
    preregistration = models.ForeignKey(
        PreRegistration, on_delete=models.PROTECT, related_name="selections", verbose_name="新车 vehicle"
    )
    pool = models.ForeignKey(
        PlatePool, on_delete=models.PROTECT, related_name="selections", verbose_name="号源 pool"
    )
    mode = models.CharField("方式 mode", max_length=8, choices=Mode.choices)
    state = models.CharField("状态 state", max_length=12, choices=State.choices, default=State.HOLDING)
    candidates = models.JSONField(
        "备选号码 candidates", default=list, db_comment="numbers held for the choice"
    )
    chosen = models.CharField("选定号码 chosen number", max_length=10, blank=True)
    masked_user = models.CharField(
        "公开的用户标识 masked user", max_length=20, db_comment="as the public log shows the account's owner"
    )
    held_until = models.DateTimeField("保留至 held until")
    chosen_at = models.DateTimeField("选定时间 chosen at", null=True, blank=True)
    register_by = models.DateField("注册登记期限 register by", null=True, blank=True)
    registered_at = models.DateTimeField("注册登记时间 registered at", null=True, blank=True)
    vehicle_id = models.BigIntegerField(
        "登记的机动车 vehicle", null=True, blank=True, db_comment="registry.Vehicle id once registered"
    )
    ended_at = models.DateTimeField(
        "结束时间 ended at",
        null=True,
        blank=True,
        db_comment="given up, expired or lapsed (cool-down counts these)",
    )
    created_at = models.DateTimeField("选号时间 created", auto_now_add=True)

    class Meta:
        constraints = [
            # P3, P5: one open selection per account, and one live selection per new car.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(state__in=["holding", "chosen"]),
                name="plates_one_open_per_account",
            ),
            models.UniqueConstraint(
                fields=["preregistration"],
                condition=Q(state__in=["holding", "chosen", "registered"]),
                name="plates_one_live_per_vehicle",
            ),
            models.CheckConstraint(
                condition=(Q(owner_person__isnull=False) & Q(owner_organisation__isnull=True))
                | (Q(owner_person__isnull=True) & Q(owner_organisation__isnull=False)),
                name="plates_selection_one_owner",
            ),
        ]
        indexes = [models.Index(fields=["account", "ended_at"], name="plates_sel_account_ended")]
        verbose_name = "选号记录 plate selection"
        verbose_name_plural = "选号记录 plate selections"

    def __str__(self) -> str:
        return self.number


class PoolNumber(models.Model):
    """A number of a pool (号源号码) and its state: free, held, selected, registered or withdrawn.

    ``available_at`` is when a held number's hold or a selected number's quarantine ends; from
    then on it counts as free (``draws.available``), so an ended hold is free at once.
    """

    class State(models.TextChoices):
        FREE = draws.FREE, "可选 free"
        HELD = draws.HELD, "保留中 held"
        SELECTED = draws.SELECTED, "已选定 selected"
        REGISTERED = draws.REGISTERED, "已注册登记 registered"
        WITHDRAWN = draws.WITHDRAWN, "已收回 withdrawn"

    pool = models.ForeignKey(
        PlatePool, on_delete=models.PROTECT, related_name="numbers", verbose_name="号源 pool"
    )
    number = models.CharField("号牌号码 number", max_length=10, unique=True)
    position = models.PositiveIntegerField("号位 position")
    state = models.CharField("状态 state", max_length=10, choices=State.choices, default=State.FREE)
    holder = models.ForeignKey(
        PlateSelection, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="持有的选号 held by",
    )  # fmt: skip
    available_at = models.DateTimeField("释放时间 free again at", null=True, blank=True)
    batch = models.ForeignKey(
        PoolBatch, on_delete=models.PROTECT, related_name="+", verbose_name="批次 batch"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pool", "position"], name="plates_number_position"),
            models.CheckConstraint(
                condition=Q(state__in=["free", "withdrawn"], holder__isnull=True, available_at__isnull=True)
                | Q(state__in=["held", "selected"], holder__isnull=False, available_at__isnull=False)
                | Q(state="registered", holder__isnull=False, available_at__isnull=True),
                name="plates_number_state_holder",
            ),
        ]
        verbose_name = "号源号码 pool number"
        verbose_name_plural = "号源号码 pool numbers"

    def __str__(self) -> str:
        return self.number


class DrawDay(models.Model):
    """A day's draw seed (选号随机种子): its SHA-256 is published first, the seed after the day."""

    day = models.DateField("日期 day", unique=True)
    seed = models.CharField("种子 seed", max_length=64, db_comment="secret until revealed_at")
    commitment = models.CharField("种子承诺 commitment", max_length=64, db_comment="sha256(seed), public")
    committed_at = models.DateTimeField("发布承诺时间 committed at", auto_now_add=True)
    revealed_at = models.DateTimeField("公开种子时间 revealed at", null=True, blank=True)

    class Meta:
        verbose_name = "选号日种子 draw day"
        verbose_name_plural = "选号日种子 draw days"

    def __str__(self) -> str:
        return self.day.isoformat()


class PoolOpening(models.Model):
    """A pool's drawable numbers when its first change of a day was made: where the replay starts."""

    day = models.ForeignKey(DrawDay, on_delete=models.PROTECT, related_name="openings")
    pool = models.ForeignKey(PlatePool, on_delete=models.PROTECT, related_name="openings")
    sequence = models.PositiveBigIntegerField(
        "开盘前序号 sequence before", db_comment="the day's first is +1"
    )
    span = models.PositiveIntegerField("号位总数 span")
    numbers = models.JSONField(
        "可选和保留中的号码 numbers",
        db_comment="[position, number, state, available_at, holder] of every number not registered or withdrawn",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "pool"], name="plates_opening_day_pool")]
        verbose_name = "号源开盘快照 pool opening"
        verbose_name_plural = "号源开盘快照 pool openings"

    def __str__(self) -> str:
        return f"{self.pool_id}@{self.day_id}"


class PoolEvent(models.Model):
    """One state change of a pool's numbers (号源变动日志), numbered without gaps (P5, audit).

    This is both the public draw log (masked users) and the audit trail of every number.
    """

    pool = models.ForeignKey(PlatePool, on_delete=models.PROTECT, related_name="events")
    sequence = models.PositiveBigIntegerField("序号 sequence")
    day = models.ForeignKey(DrawDay, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField("时间 at")
    kind = models.CharField("类型 kind", max_length=10)
    selection = models.ForeignKey(
        PlateSelection, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    selection_number = models.CharField("选号流水号 selection", max_length=24, blank=True)
    masked_user = models.CharField("用户 user", max_length=20, blank=True)
    numbers = models.CharField(
        "号码 numbers",
        max_length=2000,
        db_comment="',n1,n2,': a draw's five, a choice's chosen then released",
    )
    positions = models.JSONField(
        "新号位 positions", null=True, blank=True, db_comment="imports: [[position, number]]"
    )
    until = models.DateTimeField("保留或隔离至 until", null=True, blank=True)
    inputs = models.CharField("抽号输入 draw inputs", max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField("原因 reason", max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "sequence"], name="plates_event_sequence")]
        indexes = [models.Index(fields=["day", "pool", "sequence"], name="plates_event_day")]
        verbose_name = "号源变动日志 pool event"
        verbose_name_plural = "号源变动日志 pool events"

    def __str__(self) -> str:
        return f"{self.pool_id}#{self.sequence} {self.kind}"

    @property
    def number_list(self) -> list[str]:
        return [n for n in self.numbers.split(",") if n]
