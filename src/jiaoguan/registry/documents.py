"""Identity documents accepted for registration (身份证明, U3)."""

from __future__ import annotations

import re

from django.db import models

from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.identifiers import validate_citizen_id


class IdDocumentType(models.TextChoices):
    """Kinds of identity document (身份证明名称), seed 002 §三(二)2 (U3)."""

    RESIDENT_ID = "resident_id", "居民身份证 Resident identity card"
    TEMPORARY_ID = "temporary_id", "临时居民身份证 Temporary identity card"
    HK_MACAU_ID = "hk_macau_id", "港澳居民身份证 Hong Kong / Macau identity card"
    TAIWAN_PERMIT = "taiwan_permit", "台湾居民来往大陆通行证 Taiwan compatriot permit"
    PRC_TRAVEL_DOCUMENT = "prc_travel_document", "中华人民共和国旅行证 PRC travel document"
    PRC_PASSPORT = "prc_passport", "中华人民共和国护照 PRC passport (overseas Chinese)"
    FOREIGN_PASSPORT = "foreign_passport", "外国护照 Foreign passport"
    DIPLOMATIC_ID = "diplomatic_id", "外交部核发的身份证件 MFA-issued diplomatic ID"


CITIZEN_ID_TYPES = frozenset({IdDocumentType.RESIDENT_ID, IdDocumentType.TEMPORARY_ID})

# Shapes of the non-GB 11643 documents; the issuing authority's check is done at the counter.
_DOCUMENT_PATTERNS: dict[str, re.Pattern[str]] = {
    IdDocumentType.HK_MACAU_ID: re.compile(r"^(?:[A-Z]{1,2}\d{6}[0-9A]|[157]\d{7})$"),
    IdDocumentType.TAIWAN_PERMIT: re.compile(r"^(?:\d{8}|\d{10}|[A-Z]\d{7,9})$"),
    IdDocumentType.PRC_TRAVEL_DOCUMENT: re.compile(r"^[A-Z0-9]{6,12}$"),
    IdDocumentType.PRC_PASSPORT: re.compile(r"^[EG][A-Z0-9]\d{7}$"),
    IdDocumentType.FOREIGN_PASSPORT: re.compile(r"^[A-Z0-9]{5,17}$"),
    IdDocumentType.DIPLOMATIC_ID: re.compile(r"^[A-Z0-9]{5,20}$"),
}


def normalise_document_number(doc_type: str, number: str) -> str:
    """Validate a document number for its type and return it in canonical form (U3)."""
    if doc_type not in IdDocumentType.values:
        raise ValidationFailed(
            "identity.document_type_unknown",
            "不支持的身份证明类型，请从列表中选择。",
            "Unknown identity document type; choose one from the list.",
            field="id_type",
        )
    if doc_type in CITIZEN_ID_TYPES:
        return validate_citizen_id(number).number
    cleaned = re.sub(r"[\s()()]", "", number or "").upper()
    if not _DOCUMENT_PATTERNS[doc_type].match(cleaned):
        raise ValidationFailed(
            "identity.document_number_format",
            "证件号码格式不正确，请按证件上的号码填写（字母和数字）。",
            "The document number is not in the expected format; enter it exactly as printed (letters and digits).",
            field="id_number",
        )
    return cleaned
