"""What every stored registry record must satisfy (登记信息校验), as pure checks.

The services run these checks before they save anything, and the data check
(``jiaoguan check-data``) runs the same checks over the rows already stored, so a rule
added here is enforced on new input and reported on old data at once.

Each ``check_<entity>`` takes the record's values (field name -> value, as the model
stores them) and ``today``, and returns the values normalised for storage with every
problem found, each a :class:`~jiaoguan.core.errors.ValidationFailed` naming its field.
No ORM and no clock: uniqueness and the related rows are the services' business.

Identifiers come from ``core.identifiers``, the validators the public forms use:
GB 11643 citizen ID, GB 32100 USCC, GB 16735 VIN, GA 36 plates, mainland mobiles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jiaoguan.core.divisions import validate_division
from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.identifiers import (
    is_known_area,
    parse_plate,
    validate_citizen_id,
    validate_mobile,
    validate_uscc,
    validate_vin,
)

from . import rules
from .documents import CITIZEN_ID_TYPES, IdDocumentType, normalise_document_number

__all__ = [
    "ORGANISATION_KINDS",
    "Checked",
    "RecordInvalid",
    "check_licence",
    "check_organisation",
    "check_person",
    "check_vehicle",
    "normalise_status",
]

# The organisation kinds of U1 (Organisation.Kind); kept here so the checks need no model.
ORGANISATION_KINDS = frozenset(
    {
        "transport_company",
        "driving_school",
        "car_dealer",
        "hospital",
        "inspection_station",  # issue 14: registered at the counter with its station profile
        "exam_centre",  # issue 16: registered at the counter with its exam profile
        "school",
        "insurer",
        "bank",
        "transport_authority",
        "education_authority",
        "safety_authority",
        "other",
    }
)

# S1 art. 14: no class may be applied for before 18.
MIN_LICENCE_AGE = 18
_EARLIEST_DATE = date(1900, 1, 1)
_ARCHIVE_NUMBER_RE = re.compile(r"[0-9]{12}")
_NATIONALITY_RE = re.compile(r"[A-Z]{3}")
_PHONE_RE = re.compile(r"[0-9+\-() ]{5,20}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Checked:
    """The values normalised for storage, and every problem found (empty when the record is fine)."""

    values: dict[str, Any]
    errors: list[ValidationFailed] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_on(self, name: str) -> ValidationFailed | None:
        return next((e for e in self.errors if e.field == name), None)


def _error(name: str, code: str, zh: str, en: str, **detail: Any) -> ValidationFailed:
    return ValidationFailed(code, zh, en, field=name, detail=detail or None)


def _on_field(exc: ValidationFailed, name: str) -> ValidationFailed:
    """The same refusal, told about another field (a mobile refusal on ``owner_mobile``)."""
    if exc.field == name:
        return exc
    detail = {k: v for k, v in exc.detail.items() if k != "field"}
    return ValidationFailed(exc.code, exc.message_zh, exc.message_en, field=name, detail=detail)


class _Checker:
    """Collects problems field by field; a field with a problem keeps its value as given."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values: dict[str, Any] = dict(values)
        self.errors: list[ValidationFailed] = []

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def failed(self, name: str) -> bool:
        return any(e.field == name for e in self.errors)

    def add(self, exc: ValidationFailed) -> None:
        self.errors.append(exc)

    def run(self, name: str, check: Callable[[Any], Any]) -> None:
        """Normalise one field with ``check``; its ValidationFailed becomes that field's problem."""
        if name not in self.values:
            return
        try:
            self.values[name] = check(self.values[name])
        except ValidationFailed as exc:
            self.add(_on_field(exc, name))

    def result(self) -> Checked:
        return Checked(self.values, self.errors)


# ---------------------------------------------------------------- small field checks


def _text(
    name: str, *, required: bool, max_length: int, label_zh: str, label_en: str
) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if required and not text:
            raise _error(name, "registry.required", f"请填写{label_zh}。", f"Enter the {label_en}.")
        if len(text) > max_length:
            raise _error(
                name, "registry.too_long", f"{label_zh}最多 {max_length} 个字。",
                f"The {label_en} has at most {max_length} characters.",
            )  # fmt: skip
        if _CONTROL_RE.search(text):
            raise _error(
                name, "registry.control_characters", f"{label_zh}含有不可见的控制字符，请重新输入。",
                f"The {label_en} contains invisible control characters; enter it again.",
            )  # fmt: skip
        return text

    return check


def _mobile(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return validate_mobile(text) if text else ""


def _division(value: Any) -> str:
    """A division code of the platform's table, or any county-level code GB/T 2260 has listed
    (a resident of a county the platform has no office in is still a resident somewhere)."""
    code = "" if value is None else str(value).strip()
    try:
        return validate_division(code)
    except ValidationFailed as exc:
        if exc.code == "division.unknown" and is_known_area(code):
            return code
        raise


def _not_future(name: str, label_zh: str, label_en: str, today: date) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, date):
            raise _error(
                name, "registry.date_format", f"{label_zh}不是有效日期。", f"The {label_en} is not a date."
            )
        if value > today:
            raise _error(
                name, "registry.date_in_future", f"{label_zh}不能晚于今天。",
                f"The {label_en} cannot be later than today.",
            )  # fmt: skip
        if value < _EARLIEST_DATE:
            raise _error(
                name, "registry.date_too_early", f"{label_zh}早于 1900 年，请核对。",
                f"The {label_en} is before 1900; please check it.",
            )  # fmt: skip
        return value

    return check


def _required_date(name: str, label_zh: str, label_en: str, today: date) -> Callable[[Any], Any]:
    later = _not_future(name, label_zh, label_en, today)

    def check(value: Any) -> Any:
        if value is None:
            raise _error(name, "registry.required", f"请填写{label_zh}。", f"Enter the {label_en}.")
        return later(value)

    return check


def _choice(name: str, allowed: Iterable[str], label_zh: str, label_en: str) -> Callable[[Any], str]:
    options = frozenset(allowed)

    def check(value: Any) -> str:
        text = "" if value is None else str(value)
        if text not in options:
            raise _error(
                name, "registry.unknown_value", f"{label_zh}「{text}」不在代码表中，请从列表中选择。",
                f"The {label_en} {text!r} is not in the code table; choose one from the list.",
                value=text,
            )  # fmt: skip
        return text

    return check


def normalise_status(
    value: Any, *, table: Mapping[str, tuple[str, str]], derived: frozenset[str], field_name: str = "status"
) -> str:
    """A stored status string (S7) from codes given as a string or a list: upper case, each code once,
    A (normal) dropped when another applies, in code order; unknown and derived codes refused."""
    if isinstance(value, str):
        codes = list(value.upper().replace(" ", "").replace(",", ""))
    else:
        codes = [str(code).strip().upper() for code in (value or [])]
    unknown = [c for c in dict.fromkeys(codes) if c not in table]
    if unknown:
        shown = "、".join(unknown)
        raise _error(
            field_name, "registry.status_unknown",
            f"状态代码 {shown} 不在状态代码表中，只能登记表中的代码（未知状态不能保存）。",
            f"Status code {', '.join(unknown)} is not in the status table; only listed codes can be recorded.",
            codes=unknown,
        )  # fmt: skip
    computed = [c for c in dict.fromkeys(codes) if c in derived]
    if computed:
        named = "、".join(f"{c} {table[c][0]}" for c in computed)
        raise _error(
            field_name, "registry.status_derived",
            f"{named} 由系统按日期自动判断，不能手工登记。",
            f"{', '.join(computed)} is worked out from the dates by the platform and cannot be recorded by hand.",
            codes=computed,
        )  # fmt: skip
    held = sorted(set(codes))
    if len(held) > 1 and "A" in held:
        held.remove("A")  # A (normal) gives way to any other code
    return "".join(held) or "A"


# ---------------------------------------------------------------- persons (自然人)


def check_person(values: Mapping[str, Any], *, today: date) -> Checked:
    """A natural person: the document number for its type (GB 11643 with check digit and a real birth
    date for citizen IDs, U3), birth date and sex matching the number, residence division, mobile."""
    c = _Checker(values)
    c.run("id_type", _choice("id_type", IdDocumentType.values, "证件类型", "document type"))
    id_type = c.get("id_type")
    decoded = None
    if c.has("id_number") and not c.failed("id_type"):
        try:
            number = normalise_document_number(str(id_type), str(c.get("id_number") or ""))
            c.values["id_number"] = number
            if id_type in CITIZEN_ID_TYPES:
                decoded = validate_citizen_id(number, today=today)
        except ValidationFailed as exc:
            c.add(_on_field(exc, "id_number"))
    c.run("name", _text("name", required=True, max_length=64, label_zh="姓名", label_en="name"))
    c.run("birth_date", _required_date("birth_date", "出生日期", "birth date", today))
    c.run("sex", _choice("sex", ("M", "F", ""), "性别", "sex"))
    if decoded is not None:
        if c.has("birth_date") and not c.failed("birth_date") and c.get("birth_date") != decoded.birth_date:
            c.add(
                _error(
                    "birth_date", "registry.birth_date_mismatch",
                    "出生日期与身份证号码第 7–14 位不符，请核对。",
                    "The birth date does not match characters 7-14 of the ID number; please check it.",
                )
            )  # fmt: skip
        if c.has("sex") and not c.failed("sex"):
            if c.get("sex") == "":
                c.values["sex"] = decoded.sex  # the number says it (odd sequence = male)
            elif c.get("sex") != decoded.sex:
                c.add(
                    _error(
                        "sex", "registry.sex_mismatch",
                        "性别与身份证号码第 17 位不符（奇数为男，偶数为女），请核对。",
                        "The sex does not match the ID number (an odd 17th digit is male, even female); "
                        "please check it.",
                    )
                )  # fmt: skip
    c.run("nationality", _nationality(id_type))
    c.run("residence_division", _division)
    c.run("address", _text("address", required=False, max_length=200, label_zh="住址", label_en="address"))
    c.run("mobile", _mobile)
    return c.result()


def _nationality(id_type: Any) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = ("" if value is None else str(value)).strip().upper()
        if not _NATIONALITY_RE.fullmatch(text):
            raise _error(
                "nationality", "registry.nationality_format", "国籍应为 3 个字母的国家代码，例如 CHN。",
                "The nationality is a 3-letter country code (ISO 3166-1), e.g. CHN.",
            )  # fmt: skip
        if id_type in CITIZEN_ID_TYPES and text != "CHN":
            raise _error(
                "nationality", "registry.nationality_mismatch", "持居民身份证的人员国籍为 CHN。",
                "A holder of a resident identity card is a Chinese national (CHN).",
            )  # fmt: skip
        return text

    return check


# ---------------------------------------------------------------- organisations (单位)


def check_organisation(values: Mapping[str, Any], *, today: date) -> Checked:
    """An organisation (U1): GB 32100 unified social credit code, kind, division, phone."""
    c = _Checker(values)
    c.run("uscc", lambda v: validate_uscc("" if v is None else str(v)))
    c.run("name", _text("name", required=True, max_length=100, label_zh="单位名称", label_en="name"))
    c.run("kind", _choice("kind", ORGANISATION_KINDS, "单位类型", "organisation kind"))
    c.run("division", _division)
    c.run("address", _text("address", required=False, max_length=200, label_zh="地址", label_en="address"))
    c.run("phone", _phone)
    return c.result()


def _phone(value: Any) -> str:
    text = ("" if value is None else str(value)).strip()
    if text and not _PHONE_RE.fullmatch(text):
        raise _error(
            "phone", "registry.phone_format", "联系电话只能有数字和 + - ( )，5 到 20 位，例如 0396-2812345。",
            "A phone number has 5 to 20 digits and + - ( ), e.g. 0396-2812345.",
        )  # fmt: skip
    return text


# ---------------------------------------------------------------- vehicles (机动车)


def check_vehicle(values: Mapping[str, Any], *, today: date) -> Checked:
    """A motor vehicle: GB 16735 VIN (stored upper case), GA 36 plate whose shape and vehicle kind fit
    the plate type, kind and use from the tables, stored status codes (S7), dates, owner's mobile."""
    c = _Checker(values)
    c.run("vin", lambda v: validate_vin("" if v is None else str(v)))
    c.run("plate_type", _choice("plate_type", rules.PLATE_TYPES, "号牌种类", "plate type"))
    c.run("kind", _choice("kind", (k.value for k in rules.VehicleKind), "车辆类型", "vehicle kind"))
    c.run("use_nature", _choice("use_nature", (u.value for u in rules.UseNature), "使用性质", "use nature"))
    shape = None
    if c.has("plate_number"):
        raw = c.get("plate_number")
        if raw is None or str(raw).strip() == "":
            c.values["plate_number"] = None
        else:
            try:
                plate = parse_plate(str(raw))
                c.values["plate_number"] = plate.number
                shape = plate.kind.value
            except ValidationFailed as exc:
                c.add(_on_field(exc, "plate_number"))
    if shape is not None and not c.failed("plate_type"):
        _check_plate_type(c, shape)
    c.run(
        "brand_model",
        _text("brand_model", required=False, max_length=64, label_zh="品牌型号", label_en="make and model"),
    )
    c.run("colour", _text("colour", required=False, max_length=16, label_zh="车身颜色", label_en="colour"))
    c.run("owner_mobile", _mobile)
    c.run("registered_on", _required_date("registered_on", "初次登记日期", "first registration date", today))
    c.run("last_inspected_on", _not_future("last_inspected_on", "检验日期", "inspection date", today))
    registered, inspected = c.get("registered_on"), c.get("last_inspected_on")
    if (
        isinstance(registered, date)
        and isinstance(inspected, date)
        and not c.failed("registered_on")
        and not c.failed("last_inspected_on")
        and inspected < registered
    ):
        c.add(
            _error(
                "last_inspected_on", "registry.inspection_before_registration",
                "检验日期早于初次登记日期，请核对。",
                "The inspection date is earlier than the first registration; please check it.",
            )
        )  # fmt: skip
    c.run(
        "status",
        lambda v: normalise_status(v, table=rules.VEHICLE_STATUS, derived=rules.DERIVED_VEHICLE_STATUS),
    )
    c.run("division", _division)
    return c.result()


def _check_plate_type(c: _Checker, shape: str) -> None:
    """GA 36: the plate number's shape and the vehicle must be those of the plate type."""
    rule = rules.PLATE_TYPES[c.get("plate_type")]
    if shape not in rule.shapes:
        c.add(
            _error(
                "plate_number", "plate.type_mismatch",
                f"号牌号码 {c.get('plate_number')} 的格式不是{rule.zh}（{rule.code}）的格式，请核对号牌种类或号码。"
                f"{_SHAPE_HINTS_ZH.get(rule.code, '')}",
                f"The plate number {c.get('plate_number')} does not have the form of a {rule.en} ({rule.code}); "
                f"check the plate type or the number.{_SHAPE_HINTS_EN.get(rule.code, '')}",
                plate_type=rule.code, shape=shape,
            )
        )  # fmt: skip
        return
    kind = c.get("kind")
    if not c.failed("kind") and kind is not None and rules.VehicleKind(kind) not in rule.kinds:
        label = rules.VehicleKind(kind)
        c.add(
            _error(
                "plate_type", "plate.type_not_for_kind",
                f"{label.label_zh}不能使用{rule.zh}（{rule.code}），请核对号牌种类或车辆类型。",
                f"A {label.label_en.lower()} does not get a {rule.en} ({rule.code}); check the plate type or the kind.",
                plate_type=rule.code, kind=kind,
            )
        )  # fmt: skip
        return
    use = c.get("use_nature")
    if rule.uses is not None and not c.failed("use_nature") and use is not None:
        if rules.UseNature(use) not in rule.uses:
            allowed = "、".join(u.label_zh for u in sorted(rule.uses))
            c.add(
                _error(
                    "plate_type", "plate.type_not_for_use",
                    f"{rule.zh}（{rule.code}）只核发给使用性质为{allowed}的车辆。",
                    f"A {rule.en} ({rule.code}) is issued only to vehicles used for "
                    f"{', '.join(u.label_en.lower() for u in sorted(rule.uses))}.",
                    plate_type=rule.code, use_nature=use,
                )
            )  # fmt: skip


_SHAPE_HINTS_ZH = {
    "51": "大型新能源号牌共 8 位，序号为 5 位数字加能源字母，例如 豫Q12345D。",
    "52": "小型新能源号牌共 8 位，序号首位为能源字母（D 纯电动，F 非纯电动），例如 豫QD12345。",
    "15": "挂车号牌以「挂」字结尾，例如 豫Q1234挂。",
    "16": "教练汽车号牌以「学」字结尾，例如 豫Q1234学。",
}
_SHAPE_HINTS_EN = {
    "51": " A large new-energy plate has 8 characters: 5 digits then the energy letter, e.g. 豫Q12345D.",
    "52": " A small new-energy plate has 8 characters, the serial starting with the energy letter "
    "(D pure electric, F other), e.g. 豫QD12345.",
    "15": " A trailer plate ends in 挂, e.g. 豫Q1234挂.",
    "16": " A driving-school plate ends in 学, e.g. 豫Q1234学.",
}


# ---------------------------------------------------------------- driving licences (驾驶证)


def check_licence(
    values: Mapping[str, Any], *, today: date, holder_birth_date: date | None = None
) -> Checked:
    """A driving licence: 12-digit archive number, classes from the class table (S1 art. 11), validity
    term, stored status codes (S7) and dates in order (first issue after the holder's 18th birthday,
    valid from on or after the first issue, none in the future), mobile."""
    c = _Checker(values)
    c.run("archive_number", _archive_number)
    c.run("classes", _classes)
    c.run(
        "validity_term",
        _choice("validity_term", (t.value for t in rules.ValidityTerm), "有效期限", "validity term"),
    )
    c.run("first_issued_on", _required_date("first_issued_on", "初次领证日期", "first issue date", today))
    c.run("valid_from", _required_date("valid_from", "有效期起始日期", "start of validity", today))
    for name, zh, en in (
        ("probation_started_on", "实习期起始日期", "start of probation"),
        ("last_medical_on", "身体条件证明日期", "medical certificate date"),
        ("last_reviewed_on", "审验日期", "review date"),
        ("cancelled_on", "注销日期", "cancellation date"),
    ):
        c.run(name, _not_future(name, zh, en, today))
    first = c.get("first_issued_on") if not c.failed("first_issued_on") else None
    if isinstance(first, date):
        if holder_birth_date is not None and first < rules.add_years(holder_birth_date, MIN_LICENCE_AGE):
            c.add(
                _error(
                    "first_issued_on", "registry.licence_too_young",
                    "初次领证日期早于持证人年满 18 周岁之日，请核对。",
                    "The first issue date is before the holder's 18th birthday; please check it.",
                )
            )  # fmt: skip
        for name, zh, en in (
            ("valid_from", "有效期起始日期", "The start of validity"),
            ("probation_started_on", "实习期起始日期", "The start of probation"),
            ("last_reviewed_on", "审验日期", "The review date"),
            ("cancelled_on", "注销日期", "The cancellation date"),
        ):
            value = c.get(name)
            if isinstance(value, date) and not c.failed(name) and value < first:
                c.add(
                    _error(
                        name, "registry.before_first_issue", f"{zh}不能早于初次领证日期。",
                        f"{en} cannot be earlier than the first issue date.",
                    )
                )  # fmt: skip
    c.run(
        "status",
        lambda v: normalise_status(v, table=rules.LICENCE_STATUS, derived=rules.DERIVED_LICENCE_STATUS),
    )
    c.run("mobile", _mobile)
    c.run(
        "postal_address",
        _text(
            "postal_address", required=False, max_length=200, label_zh="联系地址", label_en="postal address"
        ),
    )
    c.run("remarks", _text("remarks", required=False, max_length=200, label_zh="备注", label_en="remarks"))
    c.run("division", _division)
    return c.result()


def _archive_number(value: Any) -> str:
    text = ("" if value is None else str(value)).strip()
    if not _ARCHIVE_NUMBER_RE.fullmatch(text):
        raise _error(
            "archive_number", "registry.archive_number_format", "档案编号应为 12 位数字。",
            "The archive number has 12 digits.",
        )  # fmt: skip
    return text


def _classes(value: Any) -> str:
    text = "" if value is None else str(value)
    try:
        return rules.canonical_classes(rules.parse_classes(text))
    except ValueError:
        known = "、".join(rules.LICENCE_CLASSES)
        raise _error(
            "classes",
            "registry.classes_unknown",
            f"准驾车型只能是准驾车型代号表中的代号（{known}），且不能重复，例如 C1 或 A2E。",
            f"Driving classes are codes of the class table ({' '.join(rules.LICENCE_CLASSES)}), "
            "each once, e.g. C1 or A2E.",
        ) from None


class RecordInvalid(ValidationFailed):
    """A record refused on one or more fields: the first problem is the message, ``errors`` has them
    all (``detail.errors`` in the API), so a form can put each next to its field."""

    def __init__(self, errors: list[ValidationFailed]) -> None:
        first = errors[0]
        detail = {k: v for k, v in first.detail.items() if k != "field"}
        if len(errors) > 1:
            detail["errors"] = [
                {"field": e.field, "code": e.code, "message_zh": e.message_zh, "message_en": e.message_en}
                for e in errors
            ]
        super().__init__(first.code, first.message_zh, first.message_en, field=first.field, detail=detail)
        self.errors = list(errors)
