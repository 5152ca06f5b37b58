"""An accident case in real Chromium: the officer records it, the party queries it, an insurer applies,
the head approves an evidence review, the party downloads the stamped item and the officer closes the
case after confirming (A1-A9)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from jiaoguan.accidents.models import AccidentCase, EvidenceDownload, QueryApplication
from jiaoguan.credentials.keys import trust_cache_clear

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff
INSURER_PASSWORD = "Insurer#2026x"


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    """Sign with keys of this test only; the live server runs in this process and sees them."""
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def pdf_bytes(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def new_page(browser, live_server):
    context = browser.new_context(
        viewport={"width": 360, "height": 800},
        locale="zh-CN",
        base_url=live_server.url,
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def log_in(page, username: str, password: str, landing: str) -> None:
    page.goto("/login/")
    page.fill("#id_account", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(landing))


def download(page, locator) -> bytes:
    with page.expect_download() as info:
        locator.click()
    return Path(info.value.path()).read_bytes()


def fits(page) -> None:
    """Nothing wider than the 360 px screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width} px wide"


def shot(page, name: str) -> None:
    from django.conf import settings

    folder = settings.DATA_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-360.png"), full_page=True)


@pytest.fixture
def people(make_staff, make_person):
    from jiaoguan.accounts.services import organisation_register
    from jiaoguan.core.identifiers import make_uscc

    officer = make_staff(role="accident_officer", jurisdiction="411702", username="officer-411702")
    head = make_staff(role="accident_head", jurisdiction="411700", username="head-411700")
    party = make_person(name="马超")
    rep = make_person(name="钱进")
    insurer = organisation_register(
        actor=make_staff(), uscc=make_uscc("91411700MA9X00007"), name="某财产保险股份有限公司驻马店中心支公司",
        kind="insurer", division="411702", representative_id_type="resident_id",
        representative_id_number=rep.id_number, representative_name=rep.name,
        representative_role="legal_representative", mobile="13800009999", password=INSURER_PASSWORD,
    )  # fmt: skip
    return {"officer": officer, "head": head, "party": party, "insurer": insurer}


def test_accident_case_from_opening_to_evidence_download(page, browser, live_server, people):
    officer, head, person, insurer = people["officer"], people["head"], people["party"], people["insurer"]
    contexts = []
    try:
        # ---- the officer opens the case and adds the party
        log_in(page, officer.username, STAFF_PASSWORD, r"/counter/$")
        page.get_by_role("link", name="事故案件").click()
        page.wait_for_url(re.compile(r"/accidents/cases/$"))
        page.get_by_role("link", name="立案", exact=True).click()
        occurred = (timezone.localtime() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
        page.fill("#id_occurred_at", occurred)
        page.fill("#id_place", "驿城区解放大道与交通路交叉口")
        page.select_option("#id_weather", "晴")
        fits(page)
        page.get_by_role("button", name="立案并生成事故编号").click()
        page.wait_for_url(re.compile(r"/accidents/cases/\d+/$"))
        case = AccidentCase.objects.get()
        case_url = f"/accidents/cases/{case.pk}/"

        page.fill("#id_party-name", "马超")
        page.fill("#id_party-id_number", person.id_number)
        page.fill("#id_party-phone", "13800001111")
        page.get_by_role("button", name="添加并生成查询凭证").click()
        code = page.locator("#new-code").inner_text().strip()
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
        assert "请立即打印查询凭证" in page.inner_text("main")
        assert "马*" in page.inner_text("main") and person.id_number not in page.inner_text("main")
        fits(page)

        # ---- stages, then the determination issued from the case data and delivered
        for stage in ["acceptance", "investigation", "determination"]:
            page.select_option("#id_stage-stage", stage)
            page.fill("#id_stage-public_note", f"{stage} 已办理")
            page.fill("#id_stage-internal_note", "内部：仅民警可见")
            page.get_by_role("button", name="登记", exact=True).click()
            page.wait_for_url(re.compile(rf"{case_url}#stages$"))
        page.get_by_text("制作道路交通事故认定书", exact=True).click()
        page.fill("#id_det-facts", "甲车沿解放大道由东向西行驶，闯红灯与乙车相撞，致乙车驾驶人受伤。")
        page.fill("#id_det-evidence", "现场图、现场照片、路口监控视频。")
        page.select_option("#id_det-resp_0", "全部责任")
        page.get_by_role("button", name="制作认定书").click()
        page.wait_for_url(re.compile(rf"{case_url}#documents$"))
        # Delivery cannot be undone: a confirmation page asks how the document was delivered.
        page.get_by_role("button", name=re.compile("^送达")).click()
        page.wait_for_url(re.compile(r"/documents/\d+/release/$"))
        assert page.inner_text("h1") == "确认送达文书"
        page.get_by_role("button", name="确认送达").click()
        assert "请填写此项" in page.inner_text("#id_reason_error")
        page.fill("#id_reason", "当面送达当事人甲，已签收。")
        page.check("#id_confirm")
        page.get_by_role("button", name="确认送达").click()
        page.wait_for_url(re.compile(rf"{case_url}#documents$"))
        assert "已送达" in page.inner_text("#documents")
        shot(page, "accident-case")
        fits(page)

        # ---- the party queries with number and code and downloads the determination
        party_context, party_page = new_page(browser, live_server)
        contexts.append(party_context)
        party_page.goto("/accidents/query/")
        party_page.fill("#id_accident_number", case.number)
        party_page.fill("#id_code", code)
        party_page.get_by_role("button", name="查询", exact=True).click()
        party_page.wait_for_url(re.compile(r"/accidents/query/progress/$"))
        assert "?" not in party_page.url and code not in party_page.url
        timeline = party_page.inner_text("#timeline")
        assert "案件受理" in timeline and "调查取证" in timeline and "事故认定" in timeline
        assert "determination 已办理" in timeline and "内部" not in party_page.inner_text("main")
        fits(party_page)
        shot(party_page, "accident-progress")
        pdf = download(party_page, party_page.locator("#documents a").first)
        assert pdf.startswith(b"%PDF")

        # ---- an insurer applies in writing, the officer approves, the insurer downloads the credential
        insurer_context, insurer_page = new_page(browser, live_server)
        contexts.append(insurer_context)
        log_in(insurer_page, insurer.username, INSURER_PASSWORD, r"/$")
        insurer_page.goto("/accidents/apply/")
        insurer_page.fill("#id_accident_number", case.number)
        assert insurer_page.locator('input[name="role"][value="insurer"]').is_checked()
        insurer_page.fill("#id_reason", "本公司承保甲车交强险和商业险，需了解事故处理进度以办理理赔。")
        insurer_page.set_input_files(
            "#id_document",
            files=[{"name": "委托书.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes("letter")}],
        )
        fits(insurer_page)
        insurer_page.get_by_role("button", name="提交申请").click()
        insurer_page.wait_for_url(re.compile(r"/accidents/my/$"))
        assert "待审核" in insurer_page.inner_text("main")

        page.goto(case_url)
        application = QueryApplication.objects.get()
        page.locator(f"#application-{application.pk}").get_by_role("button", name="批准", exact=True).click()
        page.wait_for_url(re.compile(rf"{case_url}#applications$"))
        assert "已批准" in page.inner_text(f"#application-{application.pk}")

        insurer_page.goto("/accidents/my/")
        credential_pdf = download(insurer_page, insurer_page.get_by_role("link", name="下载查询凭证"))
        assert credential_pdf.startswith(b"%PDF")

        # ---- evidence: one normal item, one a witness asked to keep confidential
        for title, secrecy in [("现场图", "none"), ("证人询问笔录", "witness")]:
            page.goto(case_url)
            page.get_by_text("上传证据材料", exact=True).click()
            page.select_option("#id_item-kind", "scene_diagram")
            page.fill("#id_item-title", title)
            page.select_option("#id_item-confidentiality", secrecy)
            page.set_input_files(
                "#id_item-file",
                files=[{"name": f"{title}.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(title)}],
            )
            page.get_by_role("button", name="上传材料").click()
            page.wait_for_url(re.compile(rf"{case_url}#evidence$"))
        normal = case.evidence.get(title="现场图")
        witness = case.evidence.get(title="证人询问笔录")

        page.get_by_text("登记查阅申请人", exact=True).click()
        page.select_option("#id_review-person_type", "当事人")
        page.fill("#id_review-id_number", person.id_number)
        page.fill("#id_review-phone", "13800001111")
        page.get_by_role("button", name="登记并生成查阅码").click()
        review_code = page.locator("#new-review-code").inner_text().strip()
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", review_code)

        witness_box = page.locator(f'input[name="items"][value="{witness.pk}"]')
        assert witness_box.is_disabled()
        assert "证人要求保密，不能网上查阅" in page.inner_text("#evidence")
        page.locator(f'input[name="items"][value="{normal.pk}"]').check()
        page.get_by_role("button", name="提交负责人审批").click()
        page.wait_for_url(re.compile(rf"{case_url}#evidence$"))
        assert "待负责人审批" in page.inner_text("#evidence")
        shot(page, "accident-evidence")

        # ---- the head of the accident unit approves
        head_context, head_page = new_page(browser, live_server)
        contexts.append(head_context)
        log_in(head_page, head.username, STAFF_PASSWORD, r"/counter/$")
        head_page.get_by_role("link", name="证据查阅审批").click()
        head_page.wait_for_url(re.compile(r"/accidents/approvals/$"))
        approvals = head_page.inner_text("main")
        assert case.number in approvals and "证人询问笔录" not in approvals
        fits(head_page)
        shot(head_page, "accident-approvals")
        head_page.get_by_role("button", name="批准", exact=True).click()
        head_page.wait_for_url(re.compile(r"/accidents/approvals/$"))

        # ---- the party reviews the evidence online and downloads the stamped item
        party_page.goto("/accidents/evidence/")
        party_page.fill("#id_accident_number", case.number)
        party_page.fill("#id_code", review_code)
        party_page.get_by_role("button", name="查阅", exact=True).click()
        party_page.wait_for_url(re.compile(r"/accidents/evidence/items/$"))
        listing = party_page.inner_text("#items")
        assert "现场图" in listing and "证人询问笔录" not in party_page.inner_text("main")
        fits(party_page)
        shot(party_page, "accident-evidence-items")
        stamped = download(party_page, party_page.locator("#items a").first)
        from pypdf import PdfReader

        text = PdfReader(io.BytesIO(stamped)).pages[0].extract_text()
        assert "仅供本事故查阅" in text and "马*" in text
        assert EvidenceDownload.objects.filter(item=normal).count() == 1

        # ---- the officer closes the case: a summary, then a confirmation; nothing is recorded afterwards
        page.goto(case_url)
        page.get_by_role("link", name="结案…").click()
        page.wait_for_url(re.compile(rf"{case_url}close/$"))
        assert "此操作不能恢复" in page.inner_text("main")
        page.fill("#id_summary", "双方达成损害赔偿调解协议，赔偿已履行。")
        page.fill("#id_public_note", "双方已达成调解协议")
        page.get_by_role("button", name="确认结案").click()
        assert "请勾选确认后再提交" in page.inner_text("#field-confirm")
        case.refresh_from_db()
        assert case.closed_at is None
        fits(page)
        shot(page, "accident-close")
        page.check("#id_confirm")
        page.get_by_role("button", name="确认结案").click()
        page.wait_for_url(re.compile(rf"{case_url}#stages$"))
        main = page.inner_text("main")
        assert "已结案" in main and "双方达成损害赔偿调解协议" in main
        assert page.locator("#id_stage-stage").count() == 0 and page.locator("#id_party-name").count() == 0
        party_page.goto("/accidents/query/progress/")
        assert "事故结案" in party_page.inner_text("#timeline")
        assert "双方已达成调解协议" in party_page.inner_text("#timeline")
    finally:
        for context in contexts:
            context.close()


def test_the_party_gets_in_while_the_number_is_being_guessed_at(page, people):
    """A5: after many wrong codes on the number from many addresses, the page's script proves the work
    and the party with the right code sees the progress; nobody is locked out."""
    from jiaoguan.accidents import rules, services
    from jiaoguan.core.errors import NotFound

    officer, person = people["officer"], people["party"]
    case = services.case_open(
        actor=officer, occurred_at=timezone.now() - timedelta(hours=5), place="驿城区解放大道与交通路交叉口"
    )
    _party, _credential, code = services.party_add(
        actor=officer, case_id=case.pk, label="甲", name="马超", id_type="resident_id",
        id_number=person.id_number, phone="13800001111",
    )  # fmt: skip
    for n in range(rules.QUERY_CHALLENGE_AFTER):
        with pytest.raises(NotFound):
            services.progress_query(accident_number=case.number, code="ABCDEFGHJKMN", client=f"ip:10.4.0.{n}")

    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/accidents/query/") else None)
    page.goto("/accidents/query/")
    page.fill("#id_accident_number", case.number)
    page.fill("#id_code", rules.code_display(code).lower())  # typed as it comes
    page.get_by_role("button", name="查询", exact=True).click()
    # The first answer asks for the proof; the script does it and sends the form again by itself.
    page.wait_for_url(re.compile(r"/accidents/query/progress/$"), timeout=60000)
    assert answers == [200, 429, 302], answers
    assert case.number in page.inner_text("main")
    fits(page)


# ---------------------------------------------------------------- a party's own account; the desk layout


def sized_page(browser, live_server, width: int, height: int = 900):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        base_url=live_server.url,
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def shots(page, name: str) -> None:
    """The page at phone (390 px) and desk (1366 px) width, saved for review."""
    from django.conf import settings

    folder = settings.DATA_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def delivered_case(officer, people_by_label: dict, *, deliver: bool = True):
    from jiaoguan.accidents import services

    case = services.case_open(
        actor=officer, occurred_at=timezone.now() - timedelta(days=2), place="驿城区雪松大道与开源路交叉口"
    )
    for label, person in people_by_label.items():
        services.party_add(
            actor=officer, case_id=case.pk, label=label, name=person.name, id_type="resident_id",
            id_number=person.id_number, phone="13800001111",
        )  # fmt: skip
    for stage in ["acceptance", "investigation", "determination"]:
        services.stage_record(
            actor=officer,
            case_id=case.pk,
            stage=stage,
            happened_on=timezone.localdate(),
            public_note=f"{stage}已办理",
        )
    document = services.document_issue(
        actor=officer, case_id=case.pk, kind="determination", facts="甲车闯红灯与乙车相撞。", evidence="现场图。",
        responsibility=[("甲", "全部责任"), ("乙", "无责任")],
    )  # fmt: skip
    if deliver:
        services.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人甲、乙。")
    return case, document


def test_a_logged_in_party_follows_their_case_without_the_code(
    browser, live_server, people, make_person, settings
):
    from jiaoguan.accounts.models import User

    settings.PUBLIC_BASE_URL = live_server.url
    person, other = people["party"], make_person(name="黄忠")
    case, _document = delivered_case(people["officer"], {"甲": person, "乙": other})
    User.objects.create_user(username=person.id_number, password=INSURER_PASSWORD, person=person)
    context, page = sized_page(browser, live_server, 390)
    try:
        log_in(page, person.id_number, INSURER_PASSWORD, r"/$")
        page.goto("/accidents/query/")
        page.get_by_role("link", name="在“我的事故”中查看").click()
        page.wait_for_url(re.compile(r"/accidents/mine/$"))
        card = page.locator(f"#case-{case.number}")
        assert "当事人甲" in card.inner_text()
        fits_width = page.evaluate("document.documentElement.scrollWidth")
        assert fits_width <= 390, fits_width
        shots(page, "accident-mine")
        page.set_viewport_size({"width": 390, "height": 900})

        card.get_by_role("link", name="查看处理进度和文书").click()
        page.wait_for_url(re.compile(rf"/accidents/mine/{case.number}/$"))
        assert "determination已办理" in page.inner_text("#timeline")
        determination = pdf_text(download(page, page.locator("#documents a").first))
        assert "马超" in determination and person.id_number in determination and "居民身份证" in determination
        assert "第三方" not in determination
        credential = pdf_text(download(page, page.locator("#credential-pdf")))
        assert case.number in credential and f"{live_server.url}/accidents/query/" in credential
        shots(page, "accident-mine-case")
    finally:
        context.close()


def test_officer_case_page_puts_the_actions_beside_the_case_on_a_desk(
    browser, live_server, people, make_person
):
    officer = people["officer"]
    case, document = delivered_case(
        officer, {"甲": people["party"], "乙": make_person(name="黄忠")}, deliver=False
    )
    context, page = sized_page(browser, live_server, 1366)
    try:
        log_in(page, officer.username, STAFF_PASSWORD, r"/counter/$")
        page.goto(f"/accidents/cases/{case.pk}/")
        timeline, actions = page.locator("#stages").bounding_box(), page.locator("#actions").bounding_box()
        assert timeline is not None and actions is not None
        assert actions["x"] >= timeline["x"] + timeline["width"]  # beside, not below
        assert actions["y"] < timeline["y"] + timeline["height"]
        shots(page, "accident-case-desk")
        page.set_viewport_size({"width": 1366, "height": 900})

        # Delivering asks first, with the reason next to its field when it is missing.
        page.locator(f"#document-{document.pk}").get_by_role("button", name=re.compile("^送达")).click()
        page.wait_for_url(re.compile(rf"/documents/{document.pk}/release/$"))
        assert page.inner_text("h1") == "确认送达文书"
        page.check("#id_confirm")
        page.get_by_role("button", name="确认送达").click()
        assert "请填写此项" in page.inner_text("#id_reason_error")
        document.refresh_from_db()
        assert not document.released
        page.fill("#id_reason", "当面送达当事人甲、乙，已签收。")
        page.get_by_role("button", name="确认送达").click()
        page.wait_for_url(re.compile(rf"/accidents/cases/{case.pk}/#documents$"))
        document.refresh_from_db()
        assert document.released
    finally:
        context.close()
