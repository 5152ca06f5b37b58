"""Pages for mortgages with e-seals (issue 14, O6): the counter's seal keys and the bank's filings.

Filing and releasing are API-only (``/api/v1/mortgages``): a bank's system signs each request
with its e-seal, which a page cannot do for it. The bank's people see their filings here.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError, NotFound

from . import mortgages, selectors
from .models import OrganisationSealKey


class SealKeyForm(forms.Form):
    organisation = forms.TypedChoiceField(label=_("银行或汽车金融公司"), coerce=int)
    algorithm = forms.ChoiceField(
        label=_("签名算法"), choices=OrganisationSealKey.Algorithm.choices, initial="SM2-SM3"
    )
    public_key_pem = forms.CharField(
        label=_("公钥（PEM 格式）"),
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
        help_text=_(
            "单位带来的电子印章公钥，以 -----BEGIN PUBLIC KEY----- 开头。私钥由单位自行保管，不交给车管所。"
        ),
    )

    def __init__(self, *args: object, banks: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["organisation"].choices = banks  # type: ignore[attr-defined]


@access_required("registry.seal_key.register")
def counter_seal_keys(request: HttpRequest) -> HttpResponse:
    """Seal keys of the banks of the jurisdiction, and the form to register one (O6)."""
    banks = list(selectors.banks_visible_to(actor=request.user).order_by("name"))
    form = SealKeyForm(request.POST or None, banks=[(b.pk, f"{b.name} {b.uscc}") for b in banks])
    if request.method == "POST" and form.is_valid():
        try:
            key = mortgages.seal_key_register(
                actor=request.user,
                organisation_id=form.cleaned_data["organisation"],
                algorithm=form.cleaned_data["algorithm"],
                public_key_pem=form.cleaned_data["public_key_pem"],
                request=request,
            )
        except DomainError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            messages.success(request, _("电子印章密钥已登记，指纹 %(fp)s。") % {"fp": key.fingerprint})
            return redirect("registry:counter_seal_keys")
    keys = selectors.seal_keys_visible_to(actor=request.user).order_by("-registered_at")[:200]
    return render(
        request,
        "registry/seal_keys.html",
        {"form": form, "keys": keys, "banks": banks},
        status=422 if form.errors else 200,
    )


@require_POST
@access_required("registry.seal_key.register")
def counter_seal_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke a seal key with a reason (kept in the audit log)."""
    try:
        mortgages.seal_key_revoke(
            actor=request.user, key_id=key_id, reason=request.POST.get("reason", ""), request=request
        )
    except NotFound:
        raise
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("电子印章密钥已注销，此后用它签名的申请一律不予受理。"))
    return redirect("registry:counter_seal_keys")


@access_required("registry.mortgage.view")
def bank_mortgages(request: HttpRequest) -> HttpResponse:
    """The bank's own filings, newest first (the filing itself is done by the bank's system)."""
    mortgages.bank_of(actor=request.user)
    rows = [
        selectors.mortgage_view(m)
        for m in selectors.mortgages_visible_to(actor=request.user).order_by("-pk")[:100]
    ]
    return render(request, "registry/bank_mortgages.html", {"mortgages": rows})
