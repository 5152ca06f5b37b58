"""The counter pages of plate pre-selection (issue 17 §2, §6, §7): pools (create with rules, generate,
import, withdraw, change rules), registration of a chosen number by VIN (the registry's vehicle and
its e-mark), and monitoring (lapsed selections, the days' seeds, one number's every change). Every
page is guarded by the access table, and staff see their jurisdiction only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from jiaoguan.core.audit import AuditEntry
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.credentials.models import Credential
from jiaoguan.plates import services
from jiaoguan.plates.models import PlatePool, PlateSelection, PoolBatch, PoolNumber
from jiaoguan.registry.models import Vehicle

pytestmark = pytest.mark.django_db

POOLS = "/counter/plates/pools/"
REGISTRATIONS = "/counter/plates/registrations/"
MONITORING = "/counter/plates/monitoring/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _pool_data(**kw):
    return {
        "division": "411702", "plate_type": "02", "patterns": "A8ddd", "excluded_letters": "",
        "excluded_sequences": "", "max_letters": "2", "reserved": "",
    } | kw  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ({"patterns": "A8dd"}, "patterns", "号码规则"),
        ({"patterns": "A8ddd", "excluded_letters": "1"}, "excluded_letters", "排除字母"),
        ({"excluded_sequences": "ABCDEF"}, "excluded_sequences", "排除组合"),
        ({"reserved": "88"}, "reserved", "保留号码"),
        ({"plate_type": "52", "patterns": "dddddd"}, "patterns", "小型新能源"),
        ({"division": "110101"}, None, "发牌机关"),
    ],
)
def test_a_pool_with_bad_rules_is_refused_with_the_reason(plates_clerk, bad, field, words):
    """Each refusal of the rules (issue 17 §2) is shown in the form, next to its field; nothing made."""
    answer = logged_in(plates_clerk).post(POOLS, _pool_data(**bad))
    assert answer.status_code in (400, 403, 409, 422)
    page = answer.content.decode()
    assert words in page
    if field:
        assert f'id="id_{field}_error"' in page
    assert not PlatePool.objects.exists()


def test_clerk_creates_a_pool_generates_imports_and_withdraws(plates_clerk):
    page = logged_in(plates_clerk)
    assert page.get(POOLS).status_code == 200
    made = page.post(POOLS, _pool_data(excluded_sequences="4", reserved="A8888"))
    assert made.status_code == 302
    pool = PlatePool.objects.get()
    assert made["Location"] == f"/counter/plates/pools/{pool.pk}/"
    url = made["Location"]
    # Generation from the pool's own patterns: A8000-A8999 without a 4 and without the reserved one.
    assert page.post(url, {"form": "generate", "gen_patterns": ""}).status_code == 302
    batch = PoolBatch.objects.get()
    assert batch.added == 9**3 - 1 and batch.method == "generate"
    assert not PoolNumber.objects.filter(number="豫QA8888").exists()
    # An import with a bad line names the line; nothing is added.
    bad = page.post(url, {"form": "import", "numbers_text": "豫QA8123\nA8125\nB8O12\n"})
    assert bad.status_code == 422
    assert "第 3 行" in bad.content.decode() and 'id="id_numbers_text_error"' in bad.content.decode()
    assert PoolBatch.objects.count() == 1
    # Rules widened, then an uploaded file imported (one already in the pool is skipped).
    rules = page.post(url, _pool_data(form="rules", patterns="A8ddd A9ddd", excluded_sequences="4"))
    assert rules.status_code == 302
    upload = SimpleUploadedFile("numbers.txt", "豫QA9123\nA9125\nA8123\n".encode())
    assert page.post(url, {"form": "import", "numbers_file": upload}).status_code == 302
    imported = PoolBatch.objects.get(method="import")
    assert (imported.added, imported.skipped) == (2, 1)
    # Withdrawing needs a reason; a free number goes, and the batches and counts show on the page.
    no_reason = page.post(url, {"form": "withdraw", "numbers": "A9123", "reason": ""})
    assert no_reason.status_code == 400
    assert (
        page.post(url, {"form": "withdraw", "numbers": "A9123", "reason": "留作警用号段"}).status_code == 302
    )
    assert PoolNumber.objects.get(number="豫QA9123").state == "withdrawn"
    again = page.post(url, {"form": "withdraw", "numbers": "A9123", "reason": "留作警用号段"})
    assert again.status_code == 409 and "不能收回" in again.content.decode()
    shown = page.get(url).content.decode()
    assert f'id="batch-{imported.pk}"' in shown and "clerk-plates" in shown
    listing = page.get(POOLS).content.decode()
    assert '<td data-label="已收回" class="count-withdrawn">1</td>' in listing
    assert "A9ddd" in listing


def test_counts_treat_an_ended_hold_as_free(pool, buyer, preregister, plates_clerk):
    user = buyer()
    car = preregister(user)
    services.selection_start(actor=user, vin=car.vin, mode="self", number="A8123")
    listing = logged_in(plates_clerk).get(POOLS).content.decode()
    assert '<td data-label="保留中" class="count-held">1</td>' in listing
    PoolNumber.objects.filter(number="豫QA8123").update(available_at=timezone.now() - timedelta(seconds=1))
    listing = logged_in(plates_clerk).get(POOLS).content.decode()
    assert '<td data-label="保留中" class="count-held">0</td>' in listing


def _chosen(user, car):
    selection = services.selection_start(actor=user, vin=car.vin, mode="random")
    return services.selection_choose(actor=user, selection_id=selection.pk, number=selection.candidates[0])


def test_clerk_registers_a_chosen_number(pool, buyer, preregister, plates_clerk):
    user = buyer()
    car = preregister(user)
    selection = _chosen(user, car)
    page = logged_in(plates_clerk)
    found = page.get(REGISTRATIONS, {"vin": car.vin.lower()})
    text = found.content.decode()
    assert found.status_code == 200 and selection.chosen in text and 'id="register"' in text
    assert user.person.name not in text and user.person.id_number not in text  # masked
    assert AuditEntry.objects.filter(action="view", subject_id=str(selection.pk)).exists()
    done = page.post(REGISTRATIONS, {"vin": car.vin, "selection": selection.pk, "colour": "黑"})
    assert done.status_code == 302
    vehicle = Vehicle.objects.get(vin=car.vin)
    assert vehicle.plate_number == selection.chosen and vehicle.colour == "黑"
    outbox_dispatch()  # the registry's change reaches the credentials app through the outbox
    assert Credential.objects.filter(vehicle=vehicle, kind=Credential.Kind.INSPECTION_MARK).exists()
    after = page.get(done["Location"]).content.decode()
    assert 'id="registered"' in after and 'id="register"' not in after
    # Registering again is refused in the form, not a 500.
    twice = page.post(REGISTRATIONS, {"vin": car.vin, "selection": selection.pk})
    assert twice.status_code == 409


def test_a_lapsed_selection_says_so_and_is_listed(pool, buyer, preregister, plates_clerk):
    user = buyer()
    car = preregister(user)
    selection = _chosen(user, car)
    # The pool's log only moves forward in time, so the deadline is moved back instead (issue 17 §6).
    PlateSelection.objects.filter(pk=selection.pk).update(
        register_by=timezone.localdate() - timedelta(days=1)
    )
    found = logged_in(plates_clerk).get(REGISTRATIONS, {"vin": car.vin}).content.decode()
    assert 'id="lapsed"' in found and 'id="register"' not in found
    refused = logged_in(plates_clerk).post(REGISTRATIONS, {"vin": car.vin, "selection": selection.pk})
    assert refused.status_code == 409 and not Vehicle.objects.filter(vin=car.vin).exists()
    monitoring = logged_in(plates_clerk).get(MONITORING).content.decode()
    assert f'id="lapsed-{selection.pk}"' in monitoring and car.vin in monitoring
    assert user.person.id_number not in monitoring


def test_unknown_vin_is_said_in_the_form(pool, plates_clerk):
    page = logged_in(plates_clerk).get(REGISTRATIONS, {"vin": "LFV2A21K5N0000000"})
    assert page.status_code == 200 and 'id="id_vin_error"' in page.content.decode()


def test_number_history_and_day_seeds(pool, buyer, preregister, plates_clerk):
    user = buyer()
    car = preregister(user)
    selection = services.selection_start(actor=user, vin=car.vin, mode="self", number="A8123")
    services.selection_choose(actor=user, selection_id=selection.pk, number="豫QA8123")
    services.pool_numbers_withdraw(
        actor=plates_clerk, pool_id=pool.pk, numbers=["A8124"], reason="留作警用号段"
    )
    page = logged_in(plates_clerk)
    text = page.get(MONITORING, {"number": "A8123"}).content.decode()
    for words in ("号码入库", "自编自选（保留号码）", "选定号码", selection.number, selection.masked_user):
        assert words in text
    withdrawn = page.get(MONITORING, {"number": "豫QA8124"}).content.decode()
    assert "收回" in withdrawn and "留作警用号段" in withdrawn and "clerk-plates" in withdrawn
    today = timezone.localdate().isoformat()
    assert f'id="day-{today}"' in text and f"/plate-draws/{today}/" in text
    assert AuditEntry.objects.filter(action="view", summary__contains="number history").exists()


def test_staff_of_another_jurisdiction_and_citizens_are_refused(
    pool, buyer, preregister, make_staff, make_person, citizen
):
    other = logged_in(make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou"))
    listing = other.get(POOLS)
    assert listing.status_code == 200 and f'id="pool-{pool.pk}"' not in listing.content.decode()
    assert other.get(f"/counter/plates/pools/{pool.pk}/").status_code == 404
    assert other.post(f"/counter/plates/pools/{pool.pk}/", {"form": "generate"}).status_code == 404
    made = other.post(POOLS, _pool_data())
    assert made.status_code == 403 and PlatePool.objects.count() == 1
    user = buyer()
    car = preregister(user)
    selection = _chosen(user, car)
    assert 'id="selection"' not in other.get(REGISTRATIONS, {"vin": car.vin}).content.decode()
    assert other.post(REGISTRATIONS, {"vin": car.vin, "selection": selection.pk}).status_code == 404
    assert selection.number not in other.get(MONITORING, {"number": selection.chosen}).content.decode()
    person = logged_in(citizen(make_person()))
    for url in (POOLS, REGISTRATIONS, MONITORING, f"/counter/plates/pools/{pool.pk}/"):
        assert person.get(url).status_code == 403
        answer = Client().get(url)
        assert answer.status_code == 302 and "/login" in answer["Location"]


def test_the_menu_tiles(plates_clerk, make_staff):
    menu = logged_in(plates_clerk).get("/counter/").content.decode()
    for url in (POOLS, REGISTRATIONS, MONITORING):
        assert url in menu
    auditor = logged_in(make_staff(role="auditor", jurisdiction="411700", username="auditor-plates"))
    menu = auditor.get("/counter/").content.decode()
    assert MONITORING in menu and POOLS not in menu


def test_number_history_includes_the_import_of_the_number(pool, plates_clerk):
    """An import lists its numbers by position, not in ``numbers``: the number's batch finds it (§7)."""
    from jiaoguan.plates import selectors

    kinds = [e.kind for e in selectors.number_history(actor=plates_clerk, number="豫QA8123")]
    assert kinds == ["import"]
    assert list(selectors.number_history(actor=plates_clerk, number="豫QB0000")) == []
