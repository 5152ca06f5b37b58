"""Fixtures of the application pages and API tests (issue 13)."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from PIL import Image

from jiaoguan.applications import services
from jiaoguan.applications.services import DeliveryInput
from jiaoguan.registry.rules import add_years

POST = DeliveryInput(
    method="post", recipient_name="张伟", recipient_phone="13800138000", address_division="411702",
    address_line="驻马店市驿城区解放路1号",
)  # fmt: skip
PICKUP = DeliveryInput(method="pickup")


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    # Every test makes logins; the password hash is not what is tested.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def driver(make_person, make_licence, citizen):
    """A counter-registered citizen with a C1 licence of the Zhumadian DMV: (user, licence)."""

    def make(*, name="张伟", mobile="13800138000", division="411702", level="counter"):
        person = make_person(name=name, mobile=mobile, area=division)
        licence = make_licence(
            holder=person, division=division, valid_from=add_years(timezone.localdate(), -3)
        )
        return citizen(person, level=level), licence

    return make


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-zhumadian")


@pytest.fixture
def submit():
    """Submit a replacement of a damaged licence (B11), picked up at the window unless told."""

    def make(user, licence, *, code="B11", delivery=PICKUP, **kw):
        return services.application_submit(
            actor=user, business_code=code, licence_id=licence.pk, delivery=delivery, **kw
        )

    return make


def png_bytes(size=(240, 320)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 220, 240)).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size=(240, 320)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 220, 240)).save(out, format="JPEG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out)
    canvas.drawString(100, 700, "statement")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def settle_fee(app, clerk) -> None:
    """Take the application's fee at the counter when submission made a fee notice: acceptance
    waits for the fee (issue 13). Without a notice (no fee, or none made) there is nothing to do."""
    app.refresh_from_db()
    if app.fee_payable_id is None:
        return
    from jiaoguan.payments.services import payable_pay_at_counter

    payable_pay_at_counter(
        actor=clerk, payable_id=app.fee_payable_id, receipt_number=f"R{app.pk:08d}", reason="窗口收取工本费"
    )


@pytest.fixture
def accept(clerk):
    """Accept an application as the clerk, its fee taken first."""

    def run(app, *, by=None):
        settle_fee(app, by or clerk)
        return services.application_accept(actor=by or clerk, application_id=app.pk)

    return run


def deferral(licence) -> dict[str, str]:
    """Particulars of a renewal deferral (B12) the licence may be granted today: abroad, one year
    past the end of validity."""
    from jiaoguan.registry.rules import licence_valid_until

    until = add_years(licence_valid_until(valid_from=licence.valid_from, term=licence.validity_term), 1)
    return {"reason": "abroad", "until": until.isoformat()}
