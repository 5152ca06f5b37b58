"""Back office, read only: business applications, their timeline and materials (issue 13).

Changes go through the counter pages and their services (claim, accept, return, reject,
production, post, hand-over), never through a form here, so the state machine, the claim
and the audit rows apply. Who sees what comes from the access table: the applications of
the jurisdiction (``applications.counter.handle``). A material's bytes are not shown here;
the counter page serves them, audited.
"""

from __future__ import annotations

from django.contrib import admin

from jiaoguan.payments.admin import ReadOnlyAccessAdmin, beijing, yuan

from .models import Application, ApplicationEvent, ApplicationMaterial

HANDLE = "applications.counter.handle"


class EventInline(admin.TabularInline):
    model = ApplicationEvent
    fields = ["at", "from_state", "to_state", "action", "actor", "note"]
    readonly_fields = ["at", "from_state", "to_state", "action", "actor", "note"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAccessAdmin):
    view_action = HANDLE
    division_fields = ("division",)
    list_display = ["number", "business_code", "state", "accept_due_on", "deadline_known", "fee", "submitted"]
    list_filter = ["state", "business_code", "deadline_known", "delivery_method"]
    search_fields = ["=number", "=waybill_number"]
    exclude = ["applicant", "subject_person", "licence", "claimed_by", "fee_payable", "pickup_code_hash"]
    inlines = [EventInline]
    show_full_result_count = False  # no COUNT(*) over a province's year on every page

    def person_id_of(self, obj: Application) -> int | None:
        return obj.subject_person_id

    @admin.display(description="应缴费用 fee", ordering="fee_fen")
    def fee(self, obj: Application) -> str:
        return yuan(obj.fee_fen)

    @admin.display(description="提交时间（北京时间） submitted at (Asia/Shanghai)", ordering="submitted_at")
    def submitted(self, obj: Application) -> str:
        return beijing(obj.submitted_at)


@admin.register(ApplicationMaterial)
class ApplicationMaterialAdmin(ReadOnlyAccessAdmin):
    view_action = HANDLE
    division_fields = ("application__division",)
    list_display = ["application", "kind", "content_type", "size", "uploaded"]
    list_select_related = ["application"]
    list_filter = ["kind", "content_type"]
    search_fields = ["=application__number", "=sha256"]
    exclude = ["content", "application"]
    show_full_result_count = False

    def person_id_of(self, obj: ApplicationMaterial) -> int | None:
        return obj.application.subject_person_id

    @admin.display(description="上传时间（北京时间） uploaded at (Asia/Shanghai)", ordering="uploaded_at")
    def uploaded(self, obj: ApplicationMaterial) -> str:
        return beijing(obj.uploaded_at)
