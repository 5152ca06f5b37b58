"""Message categories (消息类别) and the SMS rule of each (N1, N4)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """Plural values: a stored value must never read like a word shown elsewhere (a staff login)."""

    VEHICLE = "vehicles"
    LICENCE = "licences"
    VIOLATION = "violations"
    PAYMENT = "payments"
    ACCIDENT = "accidents"
    APPLICATION = "applications"
    INSPECTION = "inspections"
    CREDENTIAL = "credentials"
    SAFETY = "safety"
    REPORT = "reports"
    EXAM = "exams"  # driving tests: allocations and results (issue 16 §6)
    PARKING = "parking"  # parking segments of the resident's district published, changed, withdrawn (O8)


@dataclass(frozen=True)
class CategoryInfo:
    label_zh: str
    label_en: str
    sms_by_default: bool


CATEGORIES: dict[Category, CategoryInfo] = {
    Category.VEHICLE: CategoryInfo("机动车业务", "Vehicles", True),
    Category.LICENCE: CategoryInfo("驾驶证业务", "Driving licence", True),
    Category.VIOLATION: CategoryInfo("交通违法", "Violations", True),
    Category.PAYMENT: CategoryInfo("缴款和退款", "Payments and refunds", True),
    Category.ACCIDENT: CategoryInfo("事故处理", "Accidents", True),
    Category.APPLICATION: CategoryInfo("业务办理进度", "Applications", True),
    Category.INSPECTION: CategoryInfo("检验预约", "Inspection bookings", True),
    Category.CREDENTIAL: CategoryInfo("电子证照", "Electronic credentials", True),
    Category.SAFETY: CategoryInfo("安全提示", "Safety warnings", False),
    Category.REPORT: CategoryInfo("通报抄告", "Reports", False),
    Category.EXAM: CategoryInfo("驾驶人考试", "Driving tests", True),
    Category.PARKING: CategoryInfo("老旧小区停车", "Neighbourhood parking", False),
}

CATEGORY_CHOICES = [(c.value, f"{CATEGORIES[c].label_zh} {CATEGORIES[c].label_en}") for c in Category]


def category_label(value: str, *, english: bool = False) -> str:
    try:
        info = CATEGORIES[Category(value)]
    except ValueError:
        return value
    return info.label_en if english else info.label_zh
