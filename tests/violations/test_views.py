"""Violation and fine pages through the test client: my violations (Q3), online handling (B16),
disputes, paying (B17) with the payment result page, the counter pages, and the access matrix."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.models import AuditEntry
from jiaoguan.payments import services as payment_services
from jiaoguan.payments.models import PaymentOrder, ReconciliationRun, Refund
from jiaoguan.violations import services, views
from jiaoguan.violations.models import Fine, Violation

from .conftest import SHANGHAI

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- helpers


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def plain(response) -> str:
    """The page's words without markup."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.content.decode())))


def handle(user, violation, **kw) -> Fine:
    kw.setdefault("no_dispute", True)
    kw.setdefault("drove_self", True)
    return services.violation_handle_online(actor=user, violation_id=violation.pk, **kw)


def form_error(response, field: str) -> str:
    """The error shown next to a field (includes/field.html gives it the id id_<field>_error)."""
    match = re.search(rf'id="id_{field}_error">([^<]*)<', response.content.decode())
    return html.unescape(match.group(1)) if match else ""


@pytest.fixture
def gateway(payment_gateway, settings):
    """The fake gateway; its callbacks go nowhere here, so every result comes from asking it."""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    return payment_gateway


@pytest.fixture
def unpaid(owner_driver, record):
    """A citizen with a handled red-light violation: (user, person, violation, fine)."""
    user, person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    fine = handle(user, violation)
    return user, person, violation, fine


def start_payment(client, user, fine) -> PaymentOrder:
    client.force_login(user)
    response = client.post(f"/fines/{fine.pk}/pay/")
    assert response.status_code == 303, text_of(response)
    return PaymentOrder.objects.get(payable_id=fine.payable_id, state="pending")


# ---------------------------------------------------------------- my violations (Q3)


def test_list_shows_every_q3_field(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    local = record(vehicle, code="1625")
    elsewhere = record(vehicle, code="1344", division="320102")
    handled = record(vehicle, code="1101")
    fine = handle(user, handled)
    client.force_login(user)
    response = client.get("/violations/")
    assert response.status_code == 200
    page = text_of(response)
    assert "我的违法" in page
    assert "异地违法记分可能存在同步延迟，以公安交管部门记录为准" in page
    for violation in (local, elsewhere, handled):
        assert f'href="/violations/{violation.pk}/"' in page
    assert "6 分" in page and "¥200.00" in page and "¥100.00" in page
    assert "电子监控" in page and "未处理" in page and "已处理未缴款" in page
    assert vehicle.plate_number in page
    assert timezone.localtime(local.occurred_at).strftime("%Y-%m-%d %H:%M") in page
    assert "驻马店市驿城区解放路与交通路交叉口" in page
    assert page.count("异地</span>") == 1  # the Jiangsu record only
    assert fine.decision_number in page
    assert "1625 驾驶机动车违反道路交通信号灯通行" in plain(response)


def test_list_tabs_filter_by_status(client, owner_driver, record, make_staff):
    user, _person, vehicle, _licence = owner_driver()
    open_one = record(vehicle, code="1039")
    unpaid = record(vehicle, code="1101")
    paid = record(vehicle, code="1101")
    handle(user, unpaid)
    paid_fine = handle(user, paid)
    payment_services.payable_pay_at_counter(
        reason="当事人现场缴款",
        actor=make_staff(role="counter_clerk"),
        payable_id=paid_fine.payable_id,
        receipt_number="HN2026-000777",
    )
    client.force_login(user)

    def shown(status: str) -> set[int]:
        page = client.get("/violations/", {"status": status} if status else {}).content.decode()
        return {int(n) for n in re.findall(r'href="/violations/(\d+)/"', page)}

    assert shown("") == {open_one.pk, unpaid.pk, paid.pk}
    assert shown("unhandled") == {open_one.pk}
    assert shown("unpaid") == {unpaid.pk}
    assert shown("paid") == {paid.pk}
    page = text_of(client.get("/violations/", {"status": "paid"}))
    assert 'aria-current="page">已缴款<' in page and "已缴款" in page


def test_list_pages_with_a_keyset_cursor(client, owner_driver, record, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    user, _person, vehicle, _licence = owner_driver()
    made = [record(vehicle, code="1039") for _ in range(3)]
    client.force_login(user)
    first = client.get("/violations/").content.decode()
    first_ids = [int(n) for n in dict.fromkeys(re.findall(r'href="/violations/(\d+)/"', first))]
    assert len(first_ids) == 2
    more = re.search(r'href="(/violations/\?cursor=[^"]+)"', first)
    assert more, "a 更多 link with the cursor"
    second = client.get(html.unescape(more.group(1))).content.decode()
    second_ids = [int(n) for n in dict.fromkeys(re.findall(r'href="/violations/(\d+)/"', second))]
    assert sorted(first_ids + second_ids) == sorted(v.pk for v in made)
    assert 'id="more"' not in second and "没有更多" not in second
    # a damaged cursor starts again from the first page
    assert client.get("/violations/", {"cursor": "nonsense"}).status_code == 200


def test_pages_ask_anonymous_visitors_to_log_in(client):
    for path in (
        "/violations/",
        "/violations/1/",
        "/payments/return/?out_trade_no=X",
        "/counter/violations/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), path


def test_home_tiles_open_the_violation_pages(client, owner_driver):
    user, _person, _vehicle, _licence = owner_driver()
    client.force_login(user)
    page = client.get("/").content.decode()
    assert 'href="/violations/"' in page and 'href="/violations/?status=unpaid"' in page
    response = client.get("/services/B16/")
    assert response.status_code == 302 and response["Location"] == "/violations/"


# ---------------------------------------------------------------- detail and online handling (B16)


def test_detail_shows_the_facts_and_the_handling_form(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    client.force_login(user)
    response = client.get(f"/violations/{violation.pk}/")
    assert response.status_code == 200
    page = text_of(response)
    assert violation.record_number in page and "河南省驻马店市驿城区（411702）" in page
    assert "本记分周期已记 0 分" in plain(response) and "处理后 6 / 12 分" in plain(response)
    assert 'name="expected_points" value="0"' in page
    assert "对违法事实无异议" in page and "本人驾驶" in page and "提出异议" in page
    assert response["Cache-Control"].startswith("private")


def test_handling_online_shows_the_decision(client, owner_driver, record):
    user, _person, vehicle, licence = owner_driver()
    violation = record(vehicle)
    client.force_login(user)
    response = client.post(
        f"/violations/{violation.pk}/handle/",
        {"no_dispute": "on", "drove_self": "on", "expected_points": "0"},
    )
    assert response.status_code == 302 and response["Location"] == f"/violations/{violation.pk}/#fine"
    fine = Fine.objects.get(violation=violation)
    page = text_of(client.get(response["Location"]))
    assert f"处罚决定书编号 {fine.decision_number}" in page  # the message
    assert 'id="decision-number">' + fine.decision_number in page
    assert "缴纳罚款 ¥200.00" in page and "今日应缴" in page
    violation.refresh_from_db()
    assert violation.status == "handled" and violation.licence_id == licence.pk


def test_a_second_submit_says_it_is_already_handled(client, unpaid):
    user, _person, violation, fine = unpaid
    client.force_login(user)
    response = client.post(
        f"/violations/{violation.pk}/handle/",
        {"no_dispute": "on", "drove_self": "on", "expected_points": "6"},
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "该违法记录已处理" in page and fine.decision_number in page
    assert Fine.objects.filter(violation=violation).count() == 1


def test_a_missing_checkbox_is_shown_next_to_it(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    client.force_login(user)
    response = client.post(
        f"/violations/{violation.pk}/handle/", {"no_dispute": "on", "expected_points": "0"}
    )
    assert response.status_code == 200
    assert "非本人驾驶的，请携带驾驶人的驾驶证到违法处理窗口处理" in form_error(response, "drove_self")
    assert form_error(response, "no_dispute") == ""
    assert Violation.objects.get(pk=violation.pk).status == "unhandled"


def test_points_limit_refusal_is_shown_up_front_with_the_form_disabled(client, owner_driver, record):
    """Issue 11 item 3: the 12-point refusal is known before the form; the form is not active."""
    user, _person, vehicle, _licence = owner_driver()
    handle(user, record(vehicle, code="1625"))  # 6
    handle(user, record(vehicle, code="1223"))  # 9
    last = record(vehicle, code="1223")  # would reach 12
    client.force_login(user)
    response = client.get(f"/violations/{last.pk}/")
    page, words = text_of(response), plain(response)
    assert "处理后 12 / 12 分" in words
    assert 'id="handle-refusal" data-reason="violations.points_limit"' in page
    assert "请携带驾驶证到违法处理窗口处理" in words
    assert re.search(r"<fieldset disabled>", page) and re.search(r'id="handle-submit" disabled', page)
    # A forced submission is refused by the service and the reason is still shown once only.
    response = client.post(
        f"/violations/{last.pk}/handle/", {"no_dispute": "on", "drove_self": "on", "expected_points": "9"}
    )
    assert response.status_code == 200
    assert plain(response).count("（满分12分），不能网上处理") == 1
    assert 'class="error-summary"' not in text_of(response)
    assert Violation.objects.get(pk=last.pk).status == "unhandled"


def test_allowed_handling_has_an_active_form(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle, code="1101")
    client.force_login(user)
    page = text_of(client.get(f"/violations/{violation.pk}/"))
    assert 'id="handle-refusal"' not in page and "<fieldset disabled>" not in page
    assert re.search(r'id="handle-submit">', page)


def test_changed_points_are_shown_again_before_handling(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    first, second = record(vehicle, code="1101"), record(vehicle, code="1101")
    client.force_login(user)
    client.get(f"/violations/{second.pk}/")  # shown with 0 points
    handle(user, first)  # 1 point meanwhile
    response = client.post(
        f"/violations/{second.pk}/handle/", {"no_dispute": "on", "drove_self": "on", "expected_points": "0"}
    )
    page = text_of(response)
    assert "驾驶证记分已更新为 1 分" in page
    assert 'name="expected_points" value="1"' in page  # the next submit confirms the new figure
    response = client.post(
        f"/violations/{second.pk}/handle/", {"no_dispute": "on", "drove_self": "on", "expected_points": "1"}
    )
    assert response.status_code == 302


def test_organisation_names_the_driver(
    client, organisation_user, make_vehicle, make_person, make_licence, record
):
    company = organisation_user()
    coach = make_vehicle(
        owner=company.organisation, kind="large_passenger", use_nature="commercial_passenger", plate_type="01"
    )
    driver = make_person(name="王强")
    driver_licence = make_licence(holder=driver, classes="A1", valid_from=date(2021, 3, 5))
    violation = record(coach)
    client.force_login(company)
    page = text_of(client.get(f"/violations/{violation.pk}/"))
    assert "驾驶证号码" in page and "档案编号" in page and "该驾驶人驾驶" in page
    assert 'name="expected_points"' not in page
    data = {
        "licence_number": driver.id_number,
        "archive_number": "000000000000",
        "no_dispute": "on",
        "drove_self": "on",
    }
    response = client.post(f"/violations/{violation.pk}/handle/", data)
    assert "驾驶证号码与档案编号不匹配" in form_error(response, "licence_number")
    data["archive_number"] = driver_licence.archive_number
    response = client.post(f"/violations/{violation.pk}/handle/", data)
    assert response.status_code == 302
    assert Violation.objects.get(pk=violation.pk).licence_id == driver_licence.pk


def test_dispute_sends_the_record_to_the_counter(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    client.force_login(user)
    response = client.post(f"/violations/{violation.pk}/dispute/", {"dispute-reason": "不对"})
    assert response.status_code == 200 and "5至500个字" in form_error(response, "dispute-reason")
    response = client.post(
        f"/violations/{violation.pk}/dispute/", {"dispute-reason": "当时车辆停放在小区内，并未上路行驶"}
    )
    assert response.status_code == 302
    assert Violation.objects.get(pk=violation.pk).status == "disputed"
    page = text_of(client.get(f"/violations/{violation.pk}/"))
    assert "有异议待窗口处理" in page and "当时车辆停放在小区内，并未上路行驶" in page
    assert "请携带驾驶证到违法处理窗口处理" in page and 'id="handle-submit" disabled' in page


def test_on_site_record_is_not_handled_online(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle, source="on_site")
    client.force_login(user)
    page = text_of(client.get(f"/violations/{violation.pk}/"))
    assert "现场违法请到违法处理窗口" in page and 'id="handle-submit" disabled' in page
    assert 'data-reason="violations.not_monitoring"' in page and "<fieldset disabled>" in page


# ---------------------------------------------------------------- paying (B17) and the result page


def test_pay_button_sends_the_payer_to_the_gateway(client, gateway, unpaid):
    user, _person, _violation, fine = unpaid
    client.force_login(user)
    response = client.post(f"/fines/{fine.pk}/pay/")
    assert response.status_code == 303
    order = PaymentOrder.objects.get(payable_id=fine.payable_id)
    assert response["Location"] == order.pay_url and order.pay_url.startswith(gateway.url)
    # a double click resumes the same order
    assert client.post(f"/fines/{fine.pk}/pay/")["Location"] == order.pay_url
    assert PaymentOrder.objects.count() == 1


def test_return_page_says_paid_once_the_gateway_has_the_money(client, gateway, unpaid):
    user, _person, violation, fine = unpaid
    order = start_payment(client, user, fine)
    gateway.pay(order.order_number)
    response = client.get("/payments/return/", {"out_trade_no": order.order_number})
    assert response.status_code == 200
    page = text_of(response)
    assert 'data-state="paid"' in page and "缴款成功" in page and fine.decision_number in page
    assert f'href="/violations/{violation.pk}/"' in page
    assert Fine.objects.get(pk=fine.pk).status == "paid"
    listed = client.get("/violations/", {"status": "paid"}).content.decode()
    assert f'href="/violations/{violation.pk}/"' in listed


def test_return_page_while_the_result_is_unknown(client, gateway, unpaid):
    user, _person, violation, fine = unpaid
    order = start_payment(client, user, fine)
    page = text_of(client.get("/payments/return/", {"out_trade_no": order.order_number}))
    assert 'data-state="pending"' in page and "支付结果确认中" in page
    assert "不能在其他渠道缴纳" in page and 'id="refresh"' in page
    detail = text_of(client.get(f"/violations/{violation.pk}/"))
    assert "结果还在确认中" in detail and f"out_trade_no={order.order_number}" in detail
    # paid meanwhile: 刷新结果 asks again
    gateway.pay(order.order_number)
    page = text_of(client.get("/payments/return/", {"out_trade_no": order.order_number}))
    assert 'data-state="paid"' in page


def test_return_page_after_cancel_closes_the_order(client, gateway, unpaid):
    user, _person, _violation, fine = unpaid
    order = start_payment(client, user, fine)
    page = text_of(client.get("/payments/return/", {"out_trade_no": order.order_number, "result": "cancel"}))
    assert 'data-state="closed"' in page and "未支付" in page
    assert PaymentOrder.objects.get(pk=order.pk).state == "closed"
    assert Fine.objects.get(pk=fine.pk).status == "unpaid"


def test_return_page_of_someone_elses_order_is_not_found(client, gateway, unpaid, owner_driver):
    user, _person, _violation, fine = unpaid
    order = start_payment(client, user, fine)
    other, *_rest = owner_driver(name="李娜")
    client.force_login(other)
    assert client.get("/payments/return/", {"out_trade_no": order.order_number}).status_code == 404
    assert client.get("/payments/return/").status_code == 404


def test_refund_of_a_duplicate_charge_is_shown(client, gateway, unpaid):
    user, _person, violation, fine = unpaid
    order = start_payment(client, user, fine)
    gateway.configure(duplicate_charge=True)
    gateway.pay(order.order_number)  # the gateway takes the money twice
    page = text_of(client.get("/payments/return/", {"out_trade_no": order.order_number}))
    assert 'data-state="paid"' in page
    assert Refund.objects.get().amount_fen == 20000
    page = text_of(client.get(f"/violations/{violation.pk}/"))
    assert "重复扣款已自动退款 ¥200.00" in page and "已缴款" in page


def test_paying_a_paid_fine_shows_why_on_the_detail_page(client, gateway, unpaid, make_staff):
    user, _person, _violation, fine = unpaid
    payment_services.payable_pay_at_counter(
        reason="当事人现场缴款",
        actor=make_staff(role="counter_clerk"),
        payable_id=fine.payable_id,
        receipt_number="HN2026-000778",
    )
    client.force_login(user)
    response = client.post(f"/fines/{fine.pk}/pay/")
    assert response.status_code == 409
    assert "已缴纳，无需重复缴款" in text_of(response) and 'id="pay-error"' in text_of(response)


def test_gateway_down_is_explained_on_the_detail_page(client, gateway, unpaid):
    user, _person, _violation, fine = unpaid
    gateway.configure(error_rate=1.0)
    client.force_login(user)
    response = client.post(f"/fines/{fine.pk}/pay/")
    assert response.status_code == 503 and "支付平台暂时无法连接" in text_of(response)


# ---------------------------------------------------------------- counter pages


def test_counter_search_by_plate_record_and_decision_number(client, unpaid, make_staff):
    _user, _person, violation, fine = unpaid
    clerk = make_staff(role="counter_clerk")
    client.force_login(clerk)
    assert client.get("/counter/violations/").status_code == 200
    for query in (violation.plate_number, violation.record_number, fine.decision_number):
        page = client.get("/counter/violations/", {"q": query}).content.decode()
        assert f'href="/counter/violations/{violation.pk}/"' in page, query
    page = text_of(client.get("/counter/violations/", {"q": "豫Q99999"}))
    assert "没有与“豫Q99999”相符的违法记录" in page
    assert AuditEntry.objects.filter(actor=clerk, action="list", subject_id=str(violation.pk)).exists()


def test_counter_records_an_on_site_violation(client, owner_driver, make_staff):
    _user, person, vehicle, _licence = owner_driver()
    client.force_login(make_staff(role="violation_officer"))
    occurred = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "onsite-plate_number": vehicle.plate_number,
        "onsite-plate_type": "02",
        "onsite-licence_number": person.id_number,
        "onsite-code": "1017",
        "onsite-occurred_at": occurred,
        "onsite-place": "驻马店市开源大道",
        "onsite-fine_yuan": "",
    }
    response = client.post("/counter/violations/on-site/", data)
    assert response.status_code == 200
    assert "须由民警在法定幅度内确定" in form_error(response, "onsite-fine_yuan")
    data["onsite-fine_yuan"] = "1500"
    response = client.post("/counter/violations/on-site/", data)
    assert response.status_code == 302
    fine = Fine.objects.get()
    assert fine.amount_fen == 150000 and fine.violation.source == "on_site"
    assert response["Location"] == f"/counter/violations/{fine.violation_id}/"
    page = text_of(client.get(response["Location"]))
    assert fine.decision_number in page and "¥1500.00" in page


def test_counter_handles_a_disputed_record_with_masked_driver(client, owner_driver, record, make_staff):
    user, person, vehicle, _licence = owner_driver(name="赵敏")
    violation = record(vehicle)
    services.violation_dispute(
        actor=user, violation_id=violation.pk, reason="当时车辆借给朋友驾驶，本人不知情"
    )
    client.force_login(make_staff(role="violation_officer"))
    page = text_of(client.get(f"/counter/violations/{violation.pk}/"))
    assert "当时车辆借给朋友驾驶，本人不知情" in page and "窗口处理" in page
    assert "赵*" in page and person.id_number not in page and person.id_number[:3] in page
    response = client.post(
        f"/counter/violations/{violation.pk}/handle/", {"handle-licence_number": "41170219850615999X"}
    )
    assert response.status_code == 200 and "没有这本驾驶证" in form_error(response, "handle-licence_number")
    response = client.post(
        f"/counter/violations/{violation.pk}/handle/",
        {"handle-licence_number": person.id_number, "handle-note": "核实为本人驾驶"},
    )
    assert response.status_code == 302
    fine = Fine.objects.get(violation=violation)
    page = text_of(client.get(f"/counter/violations/{violation.pk}/"))
    assert fine.decision_number in page and "赵*" in page and person.id_number not in page


def test_counter_cancels_a_wrong_record(client, owner_driver, record, make_staff):
    _user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    client.force_login(make_staff(role="violation_officer"))
    page = text_of(client.get(f"/counter/violations/{violation.pk}/"))
    # Irreversible: a confirmation page says what will happen before the reason is asked for.
    assert f'href="/counter/violations/{violation.pk}/cancel/"' in page
    response = client.get(f"/counter/violations/{violation.pk}/cancel/")
    page = plain(response)
    assert "确认撤销违法记录" in page and "撤销不能恢复" in page and violation.record_number in page
    response = client.post(f"/counter/violations/{violation.pk}/cancel/", {"cancel-reason": "错了"})
    assert response.status_code == 200 and "至少4个字" in form_error(response, "cancel-reason")
    response = client.post(f"/counter/violations/{violation.pk}/cancel/", {"cancel-reason": ""})
    assert response.status_code == 200 and form_error(response, "cancel-reason")
    assert Violation.objects.get(pk=violation.pk).status == "unhandled"
    response = client.post(
        f"/counter/violations/{violation.pk}/cancel/", {"cancel-reason": "核实为套牌车辆，撤销记录"}
    )
    assert response.status_code == 302
    assert Violation.objects.get(pk=violation.pk).status == "cancelled"
    page = text_of(client.get(f"/counter/violations/{violation.pk}/"))
    assert "已撤销" in page and "处理并作出处罚决定" not in page


def test_counter_payment_waits_for_a_pending_online_payment(client, gateway, unpaid, make_staff):
    user, person, violation, fine = unpaid
    order = start_payment(client, user, fine)
    client.force_login(make_staff(role="counter_clerk"))
    page = text_of(client.get(f"/counter/violations/{violation.pk}/"))
    assert person.id_number not in page and "网上处理" in page  # handled online by the citizen: masked
    assert "有一笔网上缴款结果尚未确认" in page and "核实网上缴款" in page
    response = client.post(
        f"/counter/violations/{violation.pk}/pay/", {"pay-receipt_number": "HN2026-000901"}
    )
    assert response.status_code == 200
    assert "缴款结果尚未确认，确认前不能通过其他渠道缴款" in text_of(response)
    assert Fine.objects.get(pk=fine.pk).status == "unpaid"
    # 核实网上缴款: not paid at the gateway, so it is closed there and here
    response = client.post(f"/counter/violations/{violation.pk}/orders/{order.order_number}/refresh/")
    assert response.status_code == 302
    page = text_of(client.get(response["Location"]))
    assert "该订单未支付，已关闭；现在可以在窗口收款" in page
    assert PaymentOrder.objects.get(pk=order.pk).state == "closed"
    response = client.post(
        f"/counter/violations/{violation.pk}/pay/", {"pay-receipt_number": "HN2026-000901"}
    )
    # Irreversible: a confirmation page with the amount, what cannot be undone and the reason.
    assert response.status_code == 200
    page = plain(response)
    assert "确认窗口收款" in page and "HN2026-000901" in page and "收款不能在平台撤回" in page
    assert Fine.objects.get(pk=fine.pk).status == "unpaid"
    confirm = {"step": "confirm", "pay-receipt_number": "HN2026-000901"}
    response = client.post(f"/counter/violations/{violation.pk}/pay/", {**confirm, "pay-reason": "现金"})
    assert response.status_code == 200 and "至少4个字" in form_error(response, "pay-reason")
    assert Fine.objects.get(pk=fine.pk).status == "unpaid"
    response = client.post(
        f"/counter/violations/{violation.pk}/pay/", {**confirm, "pay-reason": "当事人现场现金缴纳"}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(summary__startswith="窗口收款").get()
    assert entry.reason == "当事人现场现金缴纳"
    fine.refresh_from_db()
    assert fine.status == "paid" and fine.paid_channel == "counter"
    page = text_of(client.get(f"/counter/violations/{violation.pk}/"))
    assert "已收款 ¥200.00" in page and "窗口缴款" in page


def test_counter_payment_of_a_paid_fine_is_refused(client, unpaid, make_staff):
    _user, _person, violation, fine = unpaid
    clerk = make_staff(role="counter_clerk")
    payment_services.payable_pay_at_counter(
        reason="当事人现场缴款", actor=clerk, payable_id=fine.payable_id, receipt_number="HN2026-000902"
    )
    client.force_login(clerk)
    response = client.post(
        f"/counter/violations/{violation.pk}/pay/", {"pay-receipt_number": "HN2026-000903"}
    )
    assert response.status_code == 200 and "已缴纳，无需重复缴款" in text_of(response)
    assert "确认窗口收款" not in text_of(response)
    assert PaymentOrder.objects.filter(payable_id=fine.payable_id).count() == 1


def test_counter_refresh_finds_an_online_payment(client, gateway, unpaid, make_staff):
    user, _person, violation, fine = unpaid
    order = start_payment(client, user, fine)
    gateway.pay(order.order_number)
    client.force_login(make_staff(role="counter_clerk"))
    response = client.post(f"/counter/violations/{violation.pk}/orders/{order.order_number}/refresh/")
    page = text_of(client.get(response["Location"]))
    assert "网上缴款已到账，罚款已缴纳" in page
    assert Fine.objects.get(pk=fine.pk).paid_channel == "online"
    assert client.post(f"/counter/violations/{violation.pk}/orders/NOSUCHORDER/refresh/").status_code == 404


def test_counter_records_a_payment_on_another_platform(client, unpaid, make_staff):
    _user, _person, violation, fine = unpaid
    client.force_login(make_staff(role="counter_clerk"))
    paid_at = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/counter/violations/{violation.pk}/paid-elsewhere/",
        {"other-platform": "中国工商银行", "other-reference": "ab", "other-paid_at": paid_at},
    )
    assert response.status_code == 200 and "6至32位" in form_error(response, "other-reference")
    response = client.post(
        f"/counter/violations/{violation.pk}/paid-elsewhere/",
        {"other-platform": "中国工商银行", "other-reference": "ICBC20261127001", "other-paid_at": paid_at},
    )
    assert response.status_code == 302
    assert Fine.objects.get(pk=fine.pk).paid_channel == "other_platform"


def test_reconciliation_page(client, gateway, unpaid, make_staff):
    user, _person, _violation, fine = unpaid
    start_payment(client, user, fine)
    admin = make_staff(role="administrator")
    client.force_login(admin)
    page = text_of(client.get("/counter/payments/reconciliation/"))
    assert "还没有对账记录" in page and "当前有 1 笔网上缴款结果待确认" in page
    response = client.post("/counter/payments/reconciliation/")
    assert response.status_code == 302
    run = ReconciliationRun.objects.get()
    assert run.day == timezone.localdate() and run.error == "" and run.finished_at is not None
    page = text_of(client.get("/counter/payments/reconciliation/"))
    assert "对账完成" in page and run.day.strftime("%Y-%m-%d") in page and "完成" in page


def test_counter_home_links_the_new_pages(client, make_staff):
    client.force_login(make_staff(role="counter_clerk"))
    page = client.get("/counter/").content.decode()
    assert 'href="/counter/violations/"' in page and 'href="/counter/payments/reconciliation/"' in page
    client.force_login(make_staff(role="violation_officer"))
    page = client.get("/counter/").content.decode()
    assert 'href="/counter/violations/"' in page and "/counter/payments/reconciliation/" not in page


# ---------------------------------------------------------------- access matrix


def test_another_citizen_gets_not_found(client, unpaid, owner_driver, record):
    user, _person, violation, fine = unpaid
    other, _p, other_vehicle, _l = owner_driver(name="李娜")
    open_one = record(other_vehicle)
    client.force_login(user)
    assert client.get(f"/violations/{open_one.pk}/").status_code == 404
    assert (
        client.post(
            f"/violations/{open_one.pk}/handle/", {"no_dispute": "on", "drove_self": "on"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/violations/{open_one.pk}/dispute/", {"dispute-reason": "不是我的车辆不是我"}
        ).status_code
        == 404
    )
    client.force_login(other)
    assert client.get(f"/violations/{violation.pk}/").status_code == 404
    assert client.post(f"/fines/{fine.pk}/pay/").status_code == 404
    assert Violation.objects.get(pk=open_one.pk).status == "unhandled"
    assert not PaymentOrder.objects.exists()


def test_staff_of_another_jurisdiction_gets_not_found(client, unpaid, make_staff):
    _user, _person, violation, _fine = unpaid
    client.force_login(make_staff(role="violation_officer", jurisdiction="410100"))
    assert client.get(f"/counter/violations/{violation.pk}/").status_code == 404
    assert (
        client.post(
            f"/counter/violations/{violation.pk}/pay/", {"pay-receipt_number": "HN2026-000901"}
        ).status_code
        == 404
    )
    assert client.get("/counter/violations/999999/").status_code == 404
    page = client.get("/counter/violations/", {"q": violation.plate_number}).content.decode()
    assert f"/counter/violations/{violation.pk}/" not in page


def test_staff_see_a_local_vehicles_violation_from_another_province(client, owner_driver, record, make_staff):
    """V6: recorded in Jiangsu, the vehicle registered here."""
    _user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle, division="320102")
    client.force_login(make_staff(role="violation_officer"))
    response = client.get(f"/counter/violations/{violation.pk}/")
    assert response.status_code == 200
    page = text_of(response)
    assert "江苏省南京市玄武区（320102）" in page and "异地" in page


def test_citizens_and_other_roles_get_forbidden_on_counter_pages(client, unpaid, make_staff):
    user, _person, violation, _fine = unpaid
    client.force_login(user)
    for path in (
        "/counter/violations/",
        f"/counter/violations/{violation.pk}/",
        "/counter/payments/reconciliation/",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post("/counter/violations/on-site/", {}).status_code == 403
    client.force_login(make_staff(role="accident_officer", jurisdiction="411700", username="acc"))
    response = client.get("/counter/violations/")
    assert response.status_code == 403 and "您的岗位无权查询交通违法记录" in text_of(response)
    assert client.get(f"/counter/violations/{violation.pk}/").status_code == 403
    assert client.post("/counter/violations/on-site/", {}).status_code == 403
    client.force_login(make_staff(role="violation_officer"))
    assert client.get("/counter/payments/reconciliation/").status_code == 403
    assert client.post("/counter/payments/reconciliation/").status_code == 403
    assert client.get("/violations/").status_code == 403  # staff use the counter pages
    # Counter clerks look records up, handle them and take payments, but only violation
    # officers and administrators record on-site offences or cancel a record.
    client.force_login(make_staff(role="counter_clerk"))
    page = text_of(client.get(f"/counter/violations/{violation.pk}/"))
    assert "撤销记录" not in page
    assert "录入现场违法" not in text_of(client.get("/counter/violations/"))
    response = client.post(
        f"/counter/violations/{violation.pk}/cancel/",
        {"cancel-reason": "核实为套牌车辆，撤销记录", "cancel-confirm": "on"},
    )
    assert response.status_code == 403 and "您的岗位无权撤销交通违法记录" in text_of(response)
    assert client.post("/counter/violations/on-site/", {}).status_code == 403


# ---------------------------------------------------------------- language


def test_pages_in_english(client, unpaid):
    user, _person, violation, fine = unpaid
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = text_of(client.get("/violations/"))
    assert "My violations" in page and "Running a red light" in page
    assert "Handled, fine unpaid" in page and "Camera" in page
    assert "我的违法" not in page and "未缴款" not in page
    page = text_of(client.get(f"/violations/{violation.pk}/"))
    assert "Penalty decision" in page and fine.decision_number in page and "Pay the fine ¥200.00" in page


def test_occurred_at_is_shown_in_shanghai_time(client, owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle, occurred_at=datetime(2026, 3, 1, 1, 30, tzinfo=SHANGHAI))
    client.force_login(user)
    assert "2026-03-01 01:30" in text_of(client.get(f"/violations/{violation.pk}/"))


def test_home_counts_unhandled_violations_and_unpaid_fines(client, owner_driver, record):
    from jiaoguan.violations.services import violation_handle_online

    user, _p, vehicle, _l = owner_driver()
    record(vehicle)
    violation_handle_online(
        actor=user, violation_id=record(vehicle, code="1101").pk, no_dispute=True, drove_self=True
    )
    client.force_login(user)
    body = client.get("/").content.decode()
    assert "您有 1 条交通违法未处理" in body and "您有 1 笔罚款未缴纳" in body
    assert "/violations/?status=unpaid" in body
