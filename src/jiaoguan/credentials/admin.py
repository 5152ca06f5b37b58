"""Back office for electronic credentials (电子凭证): a read-only, masked list scoped to the
jurisdiction, every opening audited, and a revoke step that asks for the reason and a
confirmation before calling :func:`credentials.services.credential_revoke`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from jiaoguan.core.access import allowed, can
from jiaoguan.core.admin import AccessAdmin
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.identifiers import mask_id_number, mask_name

from . import services
from .forms import CredentialRevokeForm
from .models import Credential

REVOKABLE = (Credential.Status.VALID, Credential.Status.SUSPENDED)


# Why a credential was issued, in words: the credentials' own events and the registry's changes
# they follow (registry.events). An event added later shows as 其他 beside its code.
ISSUE_EVENT_WORDS = {
    "applied": "本人申领",
    "bulk": "批量签发",
    "exempt_applied": "免检申领",
    "photo_import": "照片导入后签发",
    "inspection": "检验合格",
    "created": "新登记",
    "changed": "登记信息变更",
    "contact": "联系方式变更",
    "owner_changed": "所有人变更",
    "holder_changed": "持证人信息变更",
    "points_full": "记分满分",
    "reissue": "补发",
}


def _words(label: str) -> str:
    """The Chinese half of a bilingual choice label ("有效 valid" -> "有效")."""
    return label.split(" ", 1)[0]


@admin.register(Credential)
class CredentialAdmin(AccessAdmin):
    """Electronic credentials of the vehicles and licences registered in the jurisdiction (E4)."""

    view_action = services.CREDENTIAL_VIEW
    division_fields = ("vehicle__division", "licence__division")
    audit_on_open = False  # credential_for_staff reads the record and audits it
    list_display = ["kind_words", "subject", "holder", "status_words", "valid_until", "issued"]
    list_filter = ["kind", "status"]
    search_fields = ["=vehicle__plate_number", "=licence__holder__id_number"]
    search_help_text = "按号牌号码或持证人证件号码（完整）查找 · plate number or the holder's full ID number"
    list_select_related = ["vehicle__owner_person", "vehicle__owner_organisation", "licence__holder"]
    show_full_result_count = False
    ordering = ["-issued_at", "-id"]
    fields = readonly_fields = (
        "public_id",
        "kind_words",
        "subject",
        "holder",
        "status_words",
        "reason",
        "changed",
        "valid_until",
        "issued",
        "event_words",
    )
    change_form_template = "admin/credentials/credential/change_form.html"

    # ------------------------------------------------------------ columns, masked

    @admin.display(description="签发原因 issue event", ordering="event")
    def event_words(self, obj: Credential) -> str:
        return ISSUE_EVENT_WORDS.get(obj.event) or f"其他（{obj.event}）"

    @admin.display(description="凭证种类 kind", ordering="kind")
    def kind_words(self, obj: Credential) -> str:
        return _words(obj.get_kind_display())

    @admin.display(description="号牌号码/驾驶证 subject")
    def subject(self, obj: Credential) -> str:
        if obj.vehicle is not None:
            return obj.vehicle.plate_number or "未上牌"
        if obj.licence is not None:
            return mask_id_number(obj.licence.holder.id_number)
        return ""

    @admin.display(description="所有人/持证人 holder")
    def holder(self, obj: Credential) -> str:
        if obj.vehicle is not None:
            vehicle = obj.vehicle
            if vehicle.owner_person is not None:
                return mask_name(vehicle.owner_person.name)
            return vehicle.owner_organisation.name if vehicle.owner_organisation is not None else ""
        return mask_name(obj.licence.holder.name) if obj.licence is not None else ""

    @admin.display(description="状态 status", ordering="status")
    def status_words(self, obj: Credential) -> str:
        return _words(obj.get_status_display())

    @admin.display(description="状态原因 reason")
    def reason(self, obj: Credential) -> str:
        from .views import reason_words

        return reason_words(obj) if obj.status != Credential.Status.VALID else ""

    @admin.display(description="状态变更 changed")
    def changed(self, obj: Credential) -> str:
        if obj.status_changed_at is None:
            return ""
        by = f" · {obj.status_changed_by.get_username()}" if obj.status_changed_by is not None else ""
        return f"{timezone.localtime(obj.status_changed_at):%Y-%m-%d %H:%M}{by}"

    @admin.display(description="签发时间（北京时间） issued", ordering="issued_at")
    def issued(self, obj: Credential) -> str:
        return f"{timezone.localtime(obj.issued_at):%Y-%m-%d %H:%M}"

    # ------------------------------------------------------------ access and audit

    def _revoke_url(self, request: HttpRequest, obj: Credential) -> str:
        """The revoke step of a current credential, for an actor the table lets revoke it; else ""."""
        if obj.status not in REVOKABLE:
            return ""
        if not allowed(request.user, services.CREDENTIAL_REVOKE, division=self.divisions_of(obj)[:1] or [""]):
            return ""
        return reverse("admin:credentials_credential_revoke", args=[obj.pk])

    def get_list_display(self, request: HttpRequest) -> Any:
        columns: list[Any] = list(super().get_list_display(request))
        if not can(request.user, services.CREDENTIAL_REVOKE):
            return columns

        @admin.display(description="操作 action")
        def revoke(obj: Credential) -> str:
            url = self._revoke_url(request, obj)
            return format_html('<a href="{}">撤销… revoke</a>', url) if url else ""

        return [*columns, revoke]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        obj = self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if obj is not None:
            extra_context["revoke_url"] = self._revoke_url(request, obj)
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and object_id.isdigit():
            try:
                services.credential_for_staff(
                    actor=request.user, credential_id=int(object_id), request=request
                )
            except DomainError:
                pass  # the page itself already answered what the actor may see
        return response

    # ------------------------------------------------------------ revoke, with reason and confirmation

    def get_urls(self) -> list[URLPattern]:
        revoke = path(
            "<int:object_id>/revoke/",
            self.admin_site.admin_view(self.revoke_view),
            name="credentials_credential_revoke",
        )
        return [revoke, *super().get_urls()]

    def revoke_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not can(request.user, services.CREDENTIAL_REVOKE):
            raise PermissionDenied
        credential = self.get_queryset(request).filter(pk=object_id).first()
        if credential is None:
            raise Http404("credential")
        back = reverse("admin:credentials_credential_change", args=[credential.pk])
        if credential.status not in REVOKABLE:
            self.message_user(request, "该凭证已不是现行凭证，无需撤销。", messages.WARNING)
            return HttpResponseRedirect(back)
        form = CredentialRevokeForm(request.POST if request.method == "POST" else None)
        status = 200
        if request.method == "POST" and form.is_valid():
            try:
                services.credential_revoke(
                    actor=request.user, credential_id=credential.pk, reason=form.cleaned_data["reason"],
                    request=request,
                )  # fmt: skip
            except NotFound:
                raise Http404("credential") from None
            except DomainError as error:
                form.add_error("reason" if error.field == "reason" else None, error.message)
                status = error.status
            else:
                self.message_user(
                    request, f"已撤销{self.kind_words(credential)}（{self.subject(credential)}）。"
                )
                return HttpResponseRedirect(reverse("admin:credentials_credential_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "确认撤销电子凭证 Confirm revoking an electronic credential",
            "credential": credential,
            "subject": self.subject(credential),
            "facts": [
                ("凭证种类 kind", self.kind_words(credential)),
                ("号牌号码/驾驶证 subject", self.subject(credential)),
                ("所有人/持证人 holder", self.holder(credential)),
                ("状态 status", self.status_words(credential)),
                ("有效期至 valid until", f"{credential.valid_until:%Y-%m-%d}"),
            ],
            "form": form,
        }
        return TemplateResponse(request, "admin/credentials/credential/revoke.html", context, status=status)
