"""The reason staff give before an irreversible action (taking a payment, cancelling a record).

Every such action is confirmed on a page that says what will happen and what cannot be undone,
and takes a reason of at least :data:`REASON_MIN` characters, kept in the action's audit entry.
A missing reason is a malformed request (400), in Chinese and English.
"""

from __future__ import annotations

from jiaoguan.core.errors import ValidationFailed

REASON_MIN = 4
REASON_MAX = 255


class ReasonRequired(ValidationFailed):
    """An irreversible action without its reason (400)."""

    status = 400


def staff_reason(reason: str | None, *, code: str = "actions.reason_required") -> str:
    """The trimmed reason, or the refusal naming the ``reason`` field."""
    text = (reason or "").strip()
    if len(text) < REASON_MIN:
        raise ReasonRequired(
            code,
            f"请填写理由（至少{REASON_MIN}个字），理由记入审计日志。",
            f"Give the reason (at least {REASON_MIN} characters); it is kept in the audit log.",
            field="reason",
        )
    if len(text) > REASON_MAX:
        raise ValidationFailed(
            code,
            f"理由最多{REASON_MAX}个字。",
            f"The reason has at most {REASON_MAX} characters.",
            field="reason",
        )
    return text
