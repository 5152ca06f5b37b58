"""Physical examinations and the physical-condition certificate (B6/B7, issue 13), as pure rules.

A hospital registered at the counter records a driver's examination with the fields of the
national form 《机动车驾驶人身体条件证明》 (机动车驾驶人身体条件证明, 公安部 form) and submits
it electronically as the certificate. The rules here check the values a form may hold and
whether the findings meet the physical conditions of each class applied for, from S1
(《机动车驾驶证申领和使用规定》, 公安部令第162号) art. 12 (conditions that bar a licence) and
art. 14 (height, eyesight, colour vision, hearing, limbs, trunk and neck).

Assumptions, marked where RULES.md is silent:

- Height 100-250 cm and eyesight 4.0-5.3 on the 5-point logarithmic chart (GB 11533) in
  steps of 0.1 are the ranges a form can hold; anything else is a typing error.
- Art. 14's exception for one impaired eye (the better eye 5.0 and a 150 degree field) needs
  the visual field, which the form does not record: both eyes must meet the threshold.
- An examination is recorded and submitted within the certificate's validity (six months,
  ``rules.MEDICAL_CERTIFICATE_VALID``): an older one could not count for anything.

No ORM and no clock: callers pass ``today``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from jiaoguan.core.errors import ValidationFailed

from . import rules

__all__ = [
    "CONDITIONS",
    "Assessment",
    "LowerLimbs",
    "UpperLimbs",
    "assess",
    "certificate_counts",
    "check_examination",
    "check_submittable",
]


class UpperLimbs(StrEnum):
    """上肢 (S1 art. 14 item 5)."""

    NORMAL = "normal"  # 双手拇指健全，每只手其他手指有三指健全，运动功能正常
    PARTIAL = "partial"  # 手指末节残缺或左手有三指健全，且双手手掌完整
    IMPAIRED = "impaired"


class LowerLimbs(StrEnum):
    """下肢 (S1 art. 14 items 6 and 8)."""

    NORMAL = "normal"  # 双下肢健全且运动功能正常，不等长度不大于5厘米
    LEFT_IMPAIRED = "left_impaired"  # 单独左下肢缺失或丧失运动功能，右下肢正常
    RIGHT_OR_BOTH_IMPAIRED = "right_or_both_impaired"  # 右下肢或双下肢缺失，能够自主坐立
    IMPAIRED = "impaired"


UPPER_LIMB_WORDS: dict[str, tuple[str, str]] = {
    UpperLimbs.NORMAL: ("正常", "normal"),
    UpperLimbs.PARTIAL: ("手指末节残缺或左手三指健全，双手手掌完整", "fingertips missing or three fingers of the left hand, both palms whole"),
    UpperLimbs.IMPAIRED: ("不符合条件", "does not meet the condition"),
}  # fmt: skip
LOWER_LIMB_WORDS: dict[str, tuple[str, str]] = {
    LowerLimbs.NORMAL: ("正常", "normal"),
    LowerLimbs.LEFT_IMPAIRED: ("左下肢缺失或丧失运动功能，右下肢正常", "left leg missing or without function, right leg normal"),
    LowerLimbs.RIGHT_OR_BOTH_IMPAIRED: ("右下肢或双下肢缺失或丧失运动功能，能够自主坐立", "right or both legs missing or without function, can sit unaided"),
    LowerLimbs.IMPAIRED: ("不符合条件", "does not meet the condition"),
}  # fmt: skip

# The driver's own declaration on the form (申请人身体状况申告): S1 art. 12, each bars a licence.
CONDITIONS: dict[str, tuple[str, str]] = {
    "heart_disease": ("器质性心脏病", "organic heart disease"),
    "epilepsy": ("癫痫病", "epilepsy"),
    "meniere": ("美尼尔氏症", "Ménière's disease"),
    "vertigo": ("眩晕症", "vertigo"),
    "hysteria": ("癔病", "hysteria"),
    "parkinsonism": ("震颤麻痹", "Parkinsonism"),
    "psychosis": ("精神病", "psychosis"),
    "dementia": ("痴呆", "dementia"),
    "neurological": ("影响肢体活动的神经系统疾病", "a nervous disease that impairs the limbs"),
    "drugs": ("三年内有吸食、注射毒品行为或解除强制隔离戒毒措施未满三年", "drug use, or compulsory rehabilitation ended, within three years"),
    "dependence": ("长期服用依赖性精神药品成瘾尚未戒除", "addiction to dependence-producing psychotropic drugs"),
    "other": ("其他妨碍安全驾驶的疾病", "another disease that hinders safe driving"),
}  # fmt: skip

# S1 art. 14 item 1: height for the large classes.
HEIGHT_155_CLASSES = frozenset({"A1", "A2", "A3", "B2", "N"})
HEIGHT_150_CLASSES = frozenset({"B1"})
# S1 art. 14 item 2: 5.0 for buses, tractors, trucks and trams; 4.9 for the others.
VISION_50_CLASSES = frozenset({"A1", "A2", "A3", "B1", "B2", "N", "P"})
VISION_HIGH = Decimal("5.0")
VISION_LOW = Decimal("4.9")
# S1 art. 14 items 4-6 and 8: the classes open despite an impairment.
HEARING_AID_CLASSES = frozenset({"C1", "C2"})
UPPER_PARTIAL_CLASSES = frozenset({"C1", "C2", "C3", "C4"})
LOWER_LEFT_CLASSES = frozenset({"C2", "C5"})
LOWER_RIGHT_CLASSES = frozenset({"C5"})

HEIGHT_RANGE = (100, 250)  # assumption: what a form can hold (see the module docstring)
VISION_RANGE = (Decimal("4.0"), Decimal("5.3"))
DOCTOR_NAME_MAX = 32
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Assessment:
    """Which classes applied for the findings meet, and why the others are not met."""

    fit_classes: tuple[str, ...]
    unfit: dict[str, tuple[tuple[str, str], ...]]  # class -> reasons (zh, en)

    @property
    def all_fit(self) -> bool:
        return not self.unfit


def _reasons_for(code: str, v: Mapping[str, Any]) -> list[tuple[str, str]]:
    reasons: list[tuple[str, str]] = []
    declared = [c for c in v["declared_conditions"] if c in CONDITIONS]
    if declared:
        names = "、".join(CONDITIONS[c][0] for c in declared)
        reasons.append(
            (
                f"申告有{names}（第12条）",
                f"declared {', '.join(CONDITIONS[c][1] for c in declared)} (art. 12)",
            )
        )
    minimum = 155 if code in HEIGHT_155_CLASSES else 150 if code in HEIGHT_150_CLASSES else 0
    if v["height_cm"] < minimum:
        reasons.append((f"身高不足{minimum}厘米", f"height under {minimum} cm"))
    threshold = VISION_HIGH if code in VISION_50_CLASSES else VISION_LOW
    for side, zh, en in (("left", "左眼", "left eye"), ("right", "右眼", "right eye")):
        best = max(x for x in (v[f"vision_{side}"], v[f"corrected_vision_{side}"]) if x is not None)
        if best < threshold:
            reasons.append((f"{zh}视力（含矫正）低于{threshold}", f"{en} below {threshold} (corrected)"))
    if not v["colour_vision_ok"]:
        reasons.append(("红绿色盲", "red-green colour blindness"))
    if not (v["hearing_left_ok"] and v["hearing_right_ok"]):
        reasons.append(("听力不符合条件", "hearing does not meet the condition"))
    elif v["hearing_aid"] and code not in HEARING_AID_CLASSES:
        reasons.append(("佩戴助听设备只能申请C1、C2", "with a hearing aid only C1 and C2"))
    upper = v["upper_limbs"]
    if upper == UpperLimbs.IMPAIRED or (upper == UpperLimbs.PARTIAL and code not in UPPER_PARTIAL_CLASSES):
        reasons.append(("上肢不符合该准驾车型条件", "upper limbs do not meet this class's condition"))
    lower = v["lower_limbs"]
    lower_fit = (
        lower == LowerLimbs.NORMAL
        or (lower == LowerLimbs.LEFT_IMPAIRED and code in LOWER_LEFT_CLASSES)
        or (lower == LowerLimbs.RIGHT_OR_BOTH_IMPAIRED and code in LOWER_RIGHT_CLASSES)
    )
    if not lower_fit:
        reasons.append(("下肢不符合该准驾车型条件", "lower limbs do not meet this class's condition"))
    if not v["trunk_neck_ok"]:
        reasons.append(("躯干、颈部有运动功能障碍", "impaired movement of trunk or neck"))
    return reasons


def assess(values: Mapping[str, Any]) -> Assessment:
    """The classes applied for that the findings meet (S1 art. 12, 14), from checked values."""
    codes, _unknown = rules.split_classes(values["classes_applied"])
    fit: list[str] = []
    unfit: dict[str, tuple[tuple[str, str], ...]] = {}
    for code in codes:
        reasons = _reasons_for(code, values)
        if reasons:
            unfit[code] = tuple(reasons)
        else:
            fit.append(code)
    return Assessment(tuple(fit), unfit)


# ---------------------------------------------------------------- the form's values


def _bad(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(f"registry.medical.{field}_invalid", zh, en, field=field)


def _vision(value: Any, field: str, *, required: bool) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise _bad(field, "请填写裸眼视力（如4.9）。", "Give the uncorrected eyesight (e.g. 4.9).")
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if (
        not number.is_finite()
        or not (VISION_RANGE[0] <= number <= VISION_RANGE[1])
        or number != number.quantize(Decimal("0.1"))
    ):
        raise _bad(
            field, "视力按五分记录法填写，4.0至5.3，保留一位小数。",
            "Eyesight is on the 5-point logarithmic chart: 4.0 to 5.3, one decimal.",
        )  # fmt: skip
    return number.quantize(Decimal("0.1"))


def _flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "ok"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise _bad(field, "请选择“合格”或“不合格”。", "Choose 'meets' or 'does not meet'.")


def _choice(value: Any, field: str, allowed: Iterable[str]) -> str:
    text = str(value or "").strip()
    if text not in set(allowed):
        raise _bad(field, "请从列表中选择。", "Choose one from the list.")
    return text


def _date(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise _bad(field, "日期格式不正确（年-月-日）。", "The date is not valid (YYYY-MM-DD).") from None


def check_examination(data: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """The examination's values checked and normalised for storage, or the first problem (422).

    A "fit" conclusion (合格) must be borne out by the findings for every class applied for: a
    doctor who finds a class's condition unmet writes "unfit" (S1 art. 14).
    """
    classes_text = str(data.get("classes_applied") or "")
    try:
        codes = rules.parse_classes(classes_text)
    except ValueError:
        raise _bad(
            "classes_applied", "请填写申请的准驾车型，如C1或A2D。", "Give the classes applied for, e.g. C1 or A2D.",
        ) from None  # fmt: skip
    try:
        height = int(str(data.get("height_cm", "")).strip())
    except ValueError:
        height = -1
    if not HEIGHT_RANGE[0] <= height <= HEIGHT_RANGE[1]:
        raise _bad("height_cm", "身高按厘米填写（100至250）。", "Height in centimetres (100 to 250).")
    conditions = data.get("declared_conditions") or []
    if isinstance(conditions, str):
        conditions = [c for c in conditions.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise _bad(
            "declared_conditions", "申告的病史不在表内。", "A declared condition is not on the form's list."
        )
    doctor = str(data.get("doctor_name") or "").strip()
    if not doctor or len(doctor) > DOCTOR_NAME_MAX or _CONTROL_RE.search(doctor):
        raise _bad("doctor_name", "请填写体检医生姓名。", "Give the examining doctor's name.")
    examined_on = _date(data.get("examined_on"), "examined_on")
    if examined_on > today:
        raise _bad("examined_on", "体检日期不能晚于今天。", "The examination date cannot be in the future.")
    if examined_on < today - rules.MEDICAL_CERTIFICATE_VALID:
        raise _bad(
            "examined_on", "体检日期已超过六个月，身体条件证明已失效，请重新体检。",
            "The examination is more than six months old; the certificate would no longer count.",
        )  # fmt: skip
    values: dict[str, Any] = {
        "classes_applied": rules.canonical_classes(codes),
        "height_cm": height,
        "vision_left": _vision(data.get("vision_left"), "vision_left", required=True),
        "vision_right": _vision(data.get("vision_right"), "vision_right", required=True),
        "corrected_vision_left": _vision(data.get("corrected_vision_left"), "corrected_vision_left", required=False),
        "corrected_vision_right": _vision(data.get("corrected_vision_right"), "corrected_vision_right", required=False),
        "colour_vision_ok": _flag(data.get("colour_vision_ok"), "colour_vision_ok"),
        "hearing_left_ok": _flag(data.get("hearing_left_ok"), "hearing_left_ok"),
        "hearing_right_ok": _flag(data.get("hearing_right_ok"), "hearing_right_ok"),
        "hearing_aid": _flag(data.get("hearing_aid", False), "hearing_aid"),
        "upper_limbs": _choice(data.get("upper_limbs"), "upper_limbs", UpperLimbs),
        "lower_limbs": _choice(data.get("lower_limbs"), "lower_limbs", LowerLimbs),
        "trunk_neck_ok": _flag(data.get("trunk_neck_ok"), "trunk_neck_ok"),
        "declared_conditions": [c for c in CONDITIONS if c in set(conditions)],
        "doctor_name": doctor,
        "examined_on": examined_on,
        "conclusion": _choice(data.get("conclusion"), "conclusion", ("fit", "unfit")),
    }  # fmt: skip
    if values["conclusion"] == "fit":
        assessment = assess(values)
        if not assessment.all_fit:
            code, reasons = next(iter(assessment.unfit.items()))
            raise ValidationFailed(
                "registry.medical.conclusion_inconsistent",
                f"体检结论为合格，但{code}的身体条件不符合：{'；'.join(r[0] for r in reasons)}。",
                f"The conclusion is 'fit' but {code}'s conditions are not met: {'; '.join(r[1] for r in reasons)}.",
                field="conclusion",
                detail={"unfit": {c: [r[1] for r in rs] for c, rs in assessment.unfit.items()}},
            )
    return values


def check_submittable(*, conclusion: str, examined_on: date, today: date) -> None:
    """Only a "fit" examination still within six months becomes a certificate (S1 art. 74)."""
    if conclusion != "fit":
        raise ValidationFailed(
            "registry.medical.unfit_not_submittable",
            "体检结论为不合格，不能作为身体条件证明提交。",
            "The examination concluded 'unfit'; it cannot be submitted as a certificate.",
        )
    if examined_on < today - rules.MEDICAL_CERTIFICATE_VALID:
        raise ValidationFailed(
            "registry.medical.expired",
            "体检日期已超过六个月，身体条件证明已失效，请重新体检。",
            "The examination is more than six months old; the certificate would no longer count.",
        )


def certificate_counts(*, examined_on: date, today: date) -> bool:
    """Whether a certificate of an examination on ``examined_on`` still counts on ``today`` (six
    months, S1 art. 74): what B8 renewal and the yearly certificate at 70 ask for."""
    return examined_on <= today <= examined_on + rules.MEDICAL_CERTIFICATE_VALID
