"""Back office, read only: violations, penalty decisions and import batches.

Changes go through the counter pages and their services (handling, cancelling, payment),
never through a form here, so every rule and audit row applies. Who sees what comes from
the access table: records of the jurisdiction, and (V6) records made elsewhere for a
vehicle registered there (``violations.counter.view``); import batches for administrators
(``violations.batch.view``). Times are shown in Beijing time.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from jiaoguan.core.errors import ValidationFailed
from jiaoguan.payments.admin import ReadOnlyAccessAdmin, beijing, yuan

from . import rules
from .importing import batch_state_now
from .models import Fine, ImportBatch, Violation


@admin.register(Violation)
class ViolationAdmin(ReadOnlyAccessAdmin):
    view_action = "violations.counter.view"
    division_fields = ("recording_division", "vehicle__division")
    list_display = [
        "record_number",
        "plate_number",
        "plate_type",
        "offence",
        "points",
        "fine_amount",
        "source",
        "status",
        "occurred",
    ]
    list_select_related = ["vehicle"]
    list_filter = ["status", "source", "handling_channel"]
    search_fields = ["=record_number", "=plate_number"]
    date_hierarchy = "occurred_at"
    exclude = ["licence", "handled_by", "vehicle", "batch"]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def person_id_of(self, obj: Violation) -> int | None:
        return obj.vehicle.owner_person_id if obj.vehicle_id and obj.vehicle else None

    @admin.display(description="违法行为 offence", ordering="code")
    def offence(self, obj: Violation) -> str:
        try:
            version = rules.code_version(obj.code, on=timezone.localtime(obj.occurred_at).date())
        except ValidationFailed:  # a code the table does not know is shown as it is stored
            return obj.code
        return f"{obj.code} {version.name_zh}"

    @admin.display(description="罚款 fine", ordering="fine_fen")
    def fine_amount(self, obj: Violation) -> str:
        return yuan(obj.fine_fen)

    @admin.display(description="违法时间（北京时间） occurred at (Asia/Shanghai)", ordering="occurred_at")
    def occurred(self, obj: Violation) -> str:
        return beijing(obj.occurred_at)


@admin.register(Fine)
class FineAdmin(ReadOnlyAccessAdmin):
    view_action = "violations.counter.view"
    division_fields = ("deciding_division", "violation__vehicle__division")
    list_display = ["decision_number", "amount", "decided_on", "status", "paid_channel", "paid_time"]
    list_filter = ["status", "paid_channel"]
    search_fields = ["=decision_number"]
    exclude = ["violation", "payable"]
    show_full_result_count = False

    def person_id_of(self, obj: Fine) -> int | None:
        return obj.payable.subject_person_id if obj.payable_id else None

    @admin.display(description="罚款金额 fine", ordering="amount_fen")
    def amount(self, obj: Fine) -> str:
        return yuan(obj.amount_fen)

    @admin.display(description="缴款时间（北京时间） paid at (Asia/Shanghai)", ordering="paid_at")
    def paid_time(self, obj: Fine) -> str:
        return beijing(obj.paid_at)


_STATE_WORDS = {
    rules.BatchState.RECEIVING: "接收中 receiving",
    rules.BatchState.COMPLETE: "已完成 complete",
    rules.BatchState.FAILED: "失败 failed — 重新发送同一文件即可完成 send the same file again to complete it",
    rules.BatchState.INTERRUPTED: "已中断 interrupted — 重新发送同一文件即可完成 send the same file again to complete it",
}


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAccessAdmin):
    view_action = "violations.batch.view"
    division_fields = ()
    list_display = [
        "pk",
        "submitted_by",
        "file_name",
        "format",
        "state_now",
        "progress",
        "total_rows",
        "accepted_rows",
        "duplicate_rows",
        "invalid_rows",
        "imported",
    ]
    list_filter = ["format"]  # not the stored state: a batch whose process died is stored as receiving
    search_fields = ["=submitted_by", "file_name"]
    exclude = ["state", "worker", "errors"]
    readonly_fields = ["state_now", "progress", "worker", "errors"]

    @admin.display(description="状态 state")
    def state_now(self, obj: ImportBatch) -> str:
        """The state as it is now: a receiving batch whose process died reads as interrupted."""
        return _STATE_WORDS[batch_state_now(obj)]

    @admin.display(description="进度 progress")
    def progress(self, obj: ImportBatch) -> str:
        """How far the import got: the lines read, and the share of the file when its size is known."""
        share = f" · {obj.bytes_done * 100 // obj.size_bytes}%" if obj.size_bytes else ""
        return f"{obj.lines_done or obj.total_rows:,} 行 lines{share}"

    @admin.display(description="导入时间（北京时间） imported at (Asia/Shanghai)", ordering="created_at")
    def imported(self, obj: ImportBatch) -> str:
        return beijing(obj.created_at)
