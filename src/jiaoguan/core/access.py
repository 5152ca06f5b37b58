"""Who may do what (权限表): the one table of actions, the roles allowed and the scope of each.

Every business action has a stable name (``registry.vehicle.change``) and, per role,
the scope inside which that role may do it:

- ``own``: only the actor's own records (a citizen's vehicles, violations, fines);
- ``jurisdiction``: records whose division lies inside the staff member's GB/T 2260
  jurisdiction (a county office sees its county, a city detachment its counties);
- ``province``: anywhere in the staff member's province;
- ``any``: not bound to a place (public verification, the audit of the whole platform).

Services call :func:`require` before they change anything, giving the divisions of the
record before and after the change; pages and API handlers use :func:`access_required`;
the staff menu, the citizen tiles and the back office ask :func:`can`. A role that is not
listed for an action may not do it, and nothing else in the code decides that.

The table lives in the bottom layer (core) and names roles as plain strings, so every
app can read it without importing the accounts app.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from .divisions import division_prefix, is_within
from .errors import NotAllowed, Unauthenticated


class Role(StrEnum):
    """The roles an actor can have. Staff roles are the posts (岗位) of accounts.StaffRole."""

    ANONYMOUS = "anonymous"
    CITIZEN = "citizen"  # individual user (个人用户)
    ORGANISATION = "organisation"  # organisation user (单位用户)
    COUNTER_CLERK = "counter_clerk"
    VIOLATION_OFFICER = "violation_officer"
    ACCIDENT_OFFICER = "accident_officer"
    ACCIDENT_HEAD = "accident_head"
    UNIT_HEAD = "unit_head"  # head of a DMV or traffic-police unit: approves announcements (N3)
    EXAM_OFFICER = "exam_officer"  # the DMV's exam section: centres, plans, results (issue 16)
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"


STAFF_ROLES: frozenset[Role] = frozenset(
    {
        Role.COUNTER_CLERK,
        Role.VIOLATION_OFFICER,
        Role.ACCIDENT_OFFICER,
        Role.ACCIDENT_HEAD,
        Role.UNIT_HEAD,
        Role.EXAM_OFFICER,
        Role.AUDITOR,
        Role.ADMINISTRATOR,
    }
)
PUBLIC_ROLES: frozenset[Role] = frozenset({Role.CITIZEN, Role.ORGANISATION})

ROLE_WORDS: dict[Role, str] = {
    Role.ANONYMOUS: "未登录 anonymous",
    Role.CITIZEN: "个人用户 citizen",
    Role.ORGANISATION: "单位用户 organisation",
    Role.COUNTER_CLERK: "窗口业务员 counter clerk",
    Role.VIOLATION_OFFICER: "违法处理民警 violation officer",
    Role.ACCIDENT_OFFICER: "事故处理民警 accident officer",
    Role.ACCIDENT_HEAD: "事故处理部门负责人 head of accident unit",
    Role.UNIT_HEAD: "部门负责人 head of unit",
    Role.EXAM_OFFICER: "考试科民警 exam officer",
    Role.AUDITOR: "审计员 auditor",
    Role.ADMINISTRATOR: "系统管理员 administrator",
}


class Scope(StrEnum):
    OWN = "own"
    JURISDICTION = "jurisdiction"
    PROVINCE = "province"
    ANY = "any"


@dataclass(frozen=True)
class MenuEntry:
    """A tile of the staff menu (窗口业务) that opens the page of an action."""

    url_name: str
    icon: str
    label_zh: str
    label_en: str
    order: int


@dataclass(frozen=True)
class Action:
    """One business action: what it is called, who may do it and where."""

    name: str
    zh: str  # what the action is, as it completes "无权…" ("您的岗位无权" + zh)
    en: str
    grants: Mapping[Role, Scope]
    menu: MenuEntry | None = None
    requirement: str = ""  # the requirement ID the rule comes from, where there is one

    def scope_for(self, role: Role) -> Scope | None:
        return self.grants.get(role)


@dataclass
class _Table:
    actions: dict[str, Action] = field(default_factory=dict)

    def add(
        self,
        name: str,
        zh: str,
        en: str,
        grants: Mapping[Role, Scope],
        *,
        menu: MenuEntry | None = None,
        requirement: str = "",
    ) -> None:
        if name in self.actions:
            raise ValueError(f"action {name} listed twice")
        self.actions[name] = Action(name, zh, en, dict(grants), menu, requirement)


def _grant(scope: Scope, *roles: Role) -> dict[Role, Scope]:
    return {role: scope for role in roles}


OWN, JURISDICTION, PROVINCE, ANY = Scope.OWN, Scope.JURISDICTION, Scope.PROVINCE, Scope.ANY
CITIZEN, ORGANISATION = Role.CITIZEN, Role.ORGANISATION
CLERK, VIOLATION, ACCIDENT = Role.COUNTER_CLERK, Role.VIOLATION_OFFICER, Role.ACCIDENT_OFFICER
HEAD, AUDITOR, ADMIN = Role.ACCIDENT_HEAD, Role.AUDITOR, Role.ADMINISTRATOR
UNIT_HEAD, EXAM_OFFICER = Role.UNIT_HEAD, Role.EXAM_OFFICER
EVERYONE = (Role.ANONYMOUS, *PUBLIC_ROLES, *sorted(STAFF_ROLES))
POLICE = (CLERK, VIOLATION, ACCIDENT, HEAD, ADMIN)  # every post that works on registry records


def _menu(url_name: str, icon: str, zh: str, en: str, order: int) -> MenuEntry:
    return MenuEntry(url_name, icon, zh, en, order)


_table = _Table()
add = _table.add

# ---------------------------------------------------------------- platform and audit (core)

add(
    "core.counter.enter", "进入窗口业务", "open the staff pages", _grant(ANY, *sorted(STAFF_ROLES)),
)  # fmt: skip
add(
    "core.back_office.enter", "进入后台管理", "open the back office", _grant(ANY, *sorted(STAFF_ROLES)),
    menu=_menu("admin:index", "gear", "后台管理", "Back office", 90),
)  # fmt: skip
add(
    "core.audit.view", "查阅审计日志", "read the audit trail",
    {AUDITOR: JURISDICTION, ADMIN: JURISDICTION},
    menu=_menu("admin:core_auditentry_changelist", "shield", "审计日志", "Audit trail", 80),
)  # fmt: skip

# The counters pages name where a business is done in person (issue 11): public facts every
# clerk may look up, kept up to date by the administrator of the jurisdiction.
add(
    "core.service_counter.view", "查看业务窗口信息", "view service counters", _grant(JURISDICTION, CLERK, ADMIN),
    menu=_menu("admin:core_servicecounter_changelist", "building", "业务窗口信息", "Service counters", 85),
)  # fmt: skip
add(
    "core.service_counter.change", "维护业务窗口信息", "maintain service counters", {ADMIN: JURISDICTION},
)  # fmt: skip

# The working-day calendar deadlines are counted on (issue 13, REQUIREMENTS S1) is national, a
# record of no place: every clerk may read it, administrators enter the yearly notice. It is
# reached from the back office, not the staff menu.
add(
    "core.calendar.view", "查看工作日历", "view the working-day calendar", _grant(ANY, CLERK, ADMIN),
)  # fmt: skip
add(
    "core.calendar.change", "维护工作日历", "maintain the working-day calendar", {ADMIN: ANY},
)  # fmt: skip

# ---------------------------------------------------------------- accounts (U1-U5)

add(
    "accounts.individual.register_at_counter", "办理个人用户窗口注册", "register individuals at the counter",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="U2",
    menu=_menu("accounts:counter_register", "user-plus", "个人用户窗口注册", "Counter registration", 10),
)  # fmt: skip
add(
    "accounts.individual.upgrade", "办理互联网用户转窗口用户", "upgrade online users to counter level",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="U5",
    menu=_menu("accounts:counter_upgrade", "arrow-up", "互联网用户转窗口用户", "Upgrade online users", 11),
)  # fmt: skip
add(
    "accounts.individual.recover", "办理窗口找回密码（变更预留手机号）", "recover accounts at the counter",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="U2",
    menu=_menu("accounts:counter_recover", "licence", "找回密码（预留手机号）", "Account recovery", 14),
)  # fmt: skip
add(
    "accounts.account.lookup", "在窗口查询用户", "look up accounts at the counter",
    _grant(JURISDICTION, CLERK, ADMIN),
)  # fmt: skip
add(
    "accounts.organisation.register", "办理单位用户注册", "register organisations",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="U1",
    menu=_menu("accounts:counter_organisation_new", "building", "单位用户注册", "Register organisation", 12),
)  # fmt: skip
add(
    "accounts.organisation.members", "管理单位人员", "manage organisation members",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="U1",
    menu=_menu("accounts:counter_organisations", "people", "单位人员管理", "Organisation members", 13),
)  # fmt: skip
add(
    "accounts.staff.manage", "管理工作人员账号", "manage staff accounts", {ADMIN: JURISDICTION},
)  # fmt: skip
add(
    "accounts.account.view", "在后台查看用户账号", "view accounts in the back office", {ADMIN: JURISDICTION},
)  # fmt: skip
add(
    "accounts.contact.change", "变更联系方式", "change contact details", {CITIZEN: OWN}, requirement="B5",
)  # fmt: skip
add(
    "accounts.access_log.view", "查看谁访问了我的信息", "see who accessed my data",
    _grant(OWN, CITIZEN, ORGANISATION),
)  # fmt: skip
add(
    "accounts.business.open", "办理网上业务", "use online businesses", _grant(OWN, CITIZEN, ORGANISATION),
    requirement="U5",
)  # fmt: skip

# ---------------------------------------------------------------- registry (Q1, Q2 and the back office)

add(
    "registry.own.view", "查看本人车辆和驾驶证", "see my vehicles and licences",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="Q1",
)  # fmt: skip
add("registry.person.view", "查看自然人信息", "view persons", _grant(JURISDICTION, *POLICE))
add("registry.person.create", "新增自然人", "add persons", _grant(JURISDICTION, CLERK, ADMIN))
add("registry.person.change", "修改自然人信息", "change persons", _grant(JURISDICTION, CLERK, ADMIN))
add("registry.organisation.view", "查看单位信息", "view organisations", _grant(JURISDICTION, *POLICE))
add(
    "registry.organisation.create", "新增单位", "add organisations", _grant(JURISDICTION, CLERK, ADMIN),
)  # fmt: skip
add(
    "registry.organisation.change", "修改单位信息", "change organisations", _grant(JURISDICTION, CLERK, ADMIN),
)  # fmt: skip
add("registry.vehicle.view", "查看机动车信息", "view vehicles", _grant(JURISDICTION, *POLICE))
add("registry.vehicle.create", "新增机动车", "add vehicles", _grant(JURISDICTION, CLERK, ADMIN))
add("registry.vehicle.change", "修改机动车信息", "change vehicles", _grant(JURISDICTION, CLERK, ADMIN))
add(
    "registry.vehicle.inspection_pass", "登记检验合格", "record inspections",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="E1",
)  # fmt: skip
add("registry.licence.view", "查看驾驶证信息", "view driving licences", _grant(JURISDICTION, *POLICE))
add("registry.licence.create", "新增驾驶证", "add driving licences", _grant(JURISDICTION, CLERK, ADMIN))
add(
    "registry.licence.change", "修改驾驶证信息", "change driving licences", _grant(JURISDICTION, CLERK, ADMIN),
)  # fmt: skip

# ---------------------------------------------------------------- credentials (E1-E6, D1-D4)

add(
    "credentials.own.view", "查看本人电子证照", "see my electronic credentials",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="E2",
)  # fmt: skip
# Vehicles in an organisation's name get their label at the counter (see credentials.services).
add(
    "credentials.mark.apply_exempt", "申领免检车辆检验标志", "apply for the inspection label",
    {CITIZEN: OWN}, requirement="E2",
)  # fmt: skip
add(
    "credentials.licence.apply", "申领电子驾驶证", "apply for the electronic driving licence",
    {CITIZEN: OWN}, requirement="D1",
)  # fmt: skip
add(
    "credentials.photo.review", "审核电子驾驶证照片", "review e-licence photos",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="D1",
    menu=_menu("credentials:counter_photos", "card", "电子驾驶证照片审核", "E-licence photo review", 30),
)  # fmt: skip
add(
    "credentials.plate.check", "按号牌核验检验状态", "check a vehicle's inspection status by plate",
    _grant(JURISDICTION, *POLICE), requirement="E4",
    menu=_menu("credentials:verify_plate", "plate", "按号牌核验检验状态", "Check by plate", 31),
)  # fmt: skip
add(
    "credentials.verify", "核验电子凭证", "verify a credential", _grant(ANY, *EVERYONE), requirement="E4",
)  # fmt: skip
add(
    "credentials.credential.view", "查看电子凭证记录", "view electronic credential records",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="E4",
    menu=_menu("admin:credentials_credential_changelist", "card", "电子凭证管理", "Electronic credentials", 32),
)  # fmt: skip
add(
    "credentials.credential.revoke", "撤销电子凭证", "revoke electronic credentials",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="E4",
)  # fmt: skip

# ---------------------------------------------------------------- violations and fines (B16, B17, V1-V6)

add(
    "violations.own.view", "查看本人交通违法", "see my violations", _grant(OWN, CITIZEN, ORGANISATION),
    requirement="Q3",
)  # fmt: skip
add(
    "violations.own.handle", "网上处理交通违法", "handle violations online",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="B16",
)  # fmt: skip
add(
    "violations.own.dispute", "对交通违法提出异议", "dispute a violation", _grant(OWN, CITIZEN, ORGANISATION),
    requirement="V3",
)  # fmt: skip
add(
    "violations.counter.view", "查询交通违法记录", "look up violation records",
    _grant(JURISDICTION, VIOLATION, CLERK, ADMIN),
    menu=_menu("violations:counter", "camera", "违法处理", "Violations", 20),
)  # fmt: skip
add(
    "violations.handle_at_counter", "在窗口处理交通违法", "handle violations at the counter",
    _grant(JURISDICTION, VIOLATION, CLERK, ADMIN), requirement="B16",
)  # fmt: skip
add(
    "violations.record_on_site", "录入现场违法", "record on-site violations",
    _grant(JURISDICTION, VIOLATION, ADMIN),
)  # fmt: skip
add(
    "violations.cancel", "撤销交通违法记录", "cancel violation records", _grant(JURISDICTION, VIOLATION, ADMIN),
)  # fmt: skip
add(
    # Camera deliveries are the platform's, not a division's (like the gateway's notices).
    "violations.batch.view", "查看违法数据导入批次", "view violation import batches", {ADMIN: ANY},
)  # fmt: skip

# ---------------------------------------------------------------- payments (B17, V5)

add(
    "payments.fine.pay_online", "网上缴纳罚款", "pay fines online", _grant(OWN, CITIZEN, ORGANISATION),
    requirement="B17",
)  # fmt: skip
add(
    "payments.fine.pay_at_counter", "窗口收取罚款", "take fine payments at the counter",
    _grant(JURISDICTION, CLERK, VIOLATION, ADMIN), requirement="V5",
)  # fmt: skip
add(
    "payments.fine.record_elsewhere", "登记其他渠道缴款", "record payments made elsewhere",
    _grant(JURISDICTION, CLERK, VIOLATION, ADMIN), requirement="V5",
)  # fmt: skip
add(
    "payments.order.refresh", "向支付平台核实缴款", "ask the gateway about a payment",
    _grant(JURISDICTION, CLERK, VIOLATION, ADMIN), requirement="V5",
)  # fmt: skip
add(
    "payments.order.view", "查看缴款订单", "view payment orders",
    {**_grant(OWN, CITIZEN, ORGANISATION), **_grant(JURISDICTION, CLERK, VIOLATION, ADMIN)},
)  # fmt: skip
add(
    "payments.gateway_log.view", "查看支付平台通知和扣款记录", "view gateway charges and notices",
    {ADMIN: ANY},
)  # fmt: skip
add(
    "payments.reconcile", "缴款对账", "run payment reconciliation", _grant(ANY, CLERK, ADMIN),
    requirement="V5",
    menu=_menu("payments:reconciliation", "yuan", "缴款对账", "Reconciliation", 21),
)  # fmt: skip

# ---------------------------------------------------------------- accidents (A1-A9)

_CASE_OFFICERS = (ACCIDENT, HEAD, ADMIN)
add(
    "accidents.case.view", "查看事故案件", "view accident cases", _grant(JURISDICTION, *_CASE_OFFICERS),
    menu=_menu("accidents:cases", "clipboard", "事故案件", "Accident cases", 40),
)  # fmt: skip
add("accidents.case.open", "受理事故案件", "open accident cases", _grant(JURISDICTION, *_CASE_OFFICERS))
add(
    "accidents.case.record_stage", "登记案件办理环节", "record case stages",
    _grant(JURISDICTION, *_CASE_OFFICERS), requirement="A2",
)  # fmt: skip
add(
    "accidents.case.close", "事故结案", "close accident cases", _grant(JURISDICTION, *_CASE_OFFICERS),
    requirement="A2",
)  # fmt: skip
add(
    "accidents.party.add",
    "登记当事人",
    "add parties",
    _grant(JURISDICTION, *_CASE_OFFICERS),
    requirement="A4",
)
add(
    "accidents.document.issue", "制作和送达事故文书", "issue and deliver case documents",
    _grant(JURISDICTION, *_CASE_OFFICERS), requirement="A5",
)  # fmt: skip
add(
    "accidents.query_credential.revoke", "撤销查询凭证", "revoke query credentials",
    _grant(JURISDICTION, *_CASE_OFFICERS), requirement="A4",
)  # fmt: skip
add(
    "accidents.application.review", "审核查询申请", "review written applications",
    _grant(JURISDICTION, *_CASE_OFFICERS), requirement="A4",
)  # fmt: skip
add(
    "accidents.evidence.manage", "管理证据材料和查阅登记", "manage evidence and review requests",
    _grant(JURISDICTION, *_CASE_OFFICERS), requirement="A7",
)  # fmt: skip
add(
    "accidents.evidence.approve", "审批证据材料查阅", "approve evidence reviews", _grant(JURISDICTION, HEAD, ADMIN),
    requirement="A7",
    menu=_menu("accidents:approvals", "shield", "证据查阅审批", "Evidence approvals", 41),
)  # fmt: skip
add(
    "accidents.application.submit", "提交事故查询书面申请", "apply in writing to follow a case",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="A4",
)  # fmt: skip
add(
    "accidents.case.party_view", "以当事人身份查看本人的事故", "follow my own accident cases as a party",
    {CITIZEN: OWN}, requirement="A4",
)  # fmt: skip
add(
    "accidents.progress.query", "查询事故处理进度", "follow an accident case", _grant(ANY, *EVERYONE),
    requirement="A3",
)  # fmt: skip
add(
    "accidents.evidence.review_online", "网上查阅证据材料", "review evidence online", _grant(ANY, *EVERYONE),
    requirement="A6",
)  # fmt: skip

# ---------------------------------------------------------------- business applications (issue 13)

add(
    "applications.own.apply", "网上申请办理业务", "apply for a business online",
    _grant(OWN, CITIZEN, ORGANISATION),
)  # fmt: skip
add(
    "applications.own.view", "查看本人的业务申请", "see my applications", _grant(OWN, CITIZEN, ORGANISATION),
)  # fmt: skip
add(
    "applications.counter.handle", "办理业务申请", "handle business applications",
    _grant(JURISDICTION, CLERK, ADMIN),
    menu=_menu("applications:counter", "clipboard", "业务申请", "Applications", 15),
)  # fmt: skip

# ---------------------------------------------------------------- hospital examinations (issue 13, B6/B7)

# A hospital's own examinations; the service also checks that the organisation is a hospital
# (U5, Requirement.HOSPITAL). Clerks read the certificates of licences issued in their area.
add(
    "registry.medical.record", "录入驾驶人体检信息", "record drivers' physical examinations",
    {ORGANISATION: OWN}, requirement="B6",
)  # fmt: skip
add(
    "registry.medical.submit", "提交身体条件证明", "submit physical-condition certificates",
    {ORGANISATION: OWN}, requirement="B7",
)  # fmt: skip
add(
    "registry.medical.view", "查看驾驶人体检信息和身体条件证明", "view physical examinations and certificates",
    {ORGANISATION: OWN, **_grant(JURISDICTION, CLERK, ADMIN)}, requirement="B7",
)  # fmt: skip

# ---------------------------------------------------------------- inspection booking (issue 14, B4)

add(
    "inspections.own.book", "预约机动车检验", "book vehicle inspections", _grant(OWN, CITIZEN, ORGANISATION),
    requirement="B4",
)  # fmt: skip
add(
    "inspections.own.view", "查看本人的检验预约", "see my inspection bookings",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="B4",
)  # fmt: skip
# Stations are registered at the counter (U1) and keep their calendar there; the stations'
# results come from their API client (scope inspections:results), not from a role.
add(
    "inspections.station.view", "查看检验机构", "view inspection stations", _grant(JURISDICTION, CLERK, ADMIN),
    requirement="B4",
    menu=_menu("inspections:counter_stations", "building", "检验机构", "Inspection stations", 16),
)  # fmt: skip
add(
    "inspections.station.manage", "登记检验机构和维护预约日历", "register inspection stations and their calendar",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="B4",
)  # fmt: skip
# A station's own staff (organisation users of the station) see the day's bookings there.
add(
    "inspections.station.bookings", "查看本检验机构的预约", "see the bookings at my station",
    {ORGANISATION: OWN}, requirement="B4",
)  # fmt: skip

# ---------------------------------------------------------------- insurance checks (issue 14, O7)

# The weekly feedback list of failed compulsory insurance and vehicle tax checks: clerks read the
# failures of their area; an insurer (an organisation of kind insurer) reads its own customers'
# failures and the "no policy found" ones of its city (the selector narrows "own" to that).
add(
    "insurance.feedback.view", "查看交强险和车船税核验失败反馈清单", "view the failed insurance check feedback list",
    {ORGANISATION: OWN, **_grant(JURISDICTION, CLERK, ADMIN)}, requirement="O7",
    menu=_menu("insurance:feedback", "shield", "交强险核验反馈", "Insurance check feedback", 35),
)  # fmt: skip

# ---------------------------------------------------------------- mortgages with e-seals (issue 14, O6)

# Banks and auto-finance companies file and release mortgages of vehicles with their own e-seal;
# the service also checks that the organisation is a bank. Their own filings only ("own": the
# mortgagee is the actor's organisation). Clerks register the banks' seal keys at the counter.
add(
    "registry.mortgage.file", "网上办理机动车抵押登记", "file vehicle mortgages online",
    {ORGANISATION: OWN}, requirement="O6",
)  # fmt: skip
add(
    "registry.mortgage.release", "网上办理解除机动车抵押登记", "release vehicle mortgages online",
    {ORGANISATION: OWN}, requirement="O6",
)  # fmt: skip
add(
    "registry.mortgage.view", "查看机动车抵押登记", "view vehicle mortgages",
    {ORGANISATION: OWN, **_grant(JURISDICTION, *POLICE)}, requirement="O6",
)  # fmt: skip
add(
    "registry.seal_key.register", "登记和注销单位电子印章密钥", "register and revoke organisations' seal keys",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="O6",
    menu=_menu("registry:counter_seal_keys", "shield", "电子印章密钥", "Seal keys", 95),
)  # fmt: skip

# ---------------------------------------------------------------- dealers' temporary plates (issue 14, B18)

# A car dealer's own plates; the service also checks that the organisation is a car dealer (U5,
# Requirement.CAR_DEALER). Staff see and revoke the plates issued to dealers of their jurisdiction.
add(
    "registry.temporary_plate.apply", "申领机动车临时号牌", "apply for temporary plates",
    {ORGANISATION: OWN}, requirement="B18",
)  # fmt: skip
add(
    "registry.temporary_plate.view", "查看临时号牌", "view temporary plates",
    {ORGANISATION: OWN, **_grant(JURISDICTION, *POLICE)}, requirement="B18",
    menu=_menu("credentials:counter_temporary_plates", "plate", "临时号牌", "Temporary plates", 33),
)  # fmt: skip
add(
    "registry.temporary_plate.revoke", "撤销临时号牌", "revoke temporary plates",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="B18",
)  # fmt: skip

# ---------------------------------------------------------------- notices and message centre (issue 15, N1, N4, N5)

# Messages are addressed to the person or organisation of the registry; a login sees those of its
# own person or organisation (N1, N5). Staff read the delivery log, the proof that a person was told.
add(
    "notices.own.view", "查看本人的消息", "read my messages", _grant(OWN, CITIZEN, ORGANISATION),
    requirement="N1",
)  # fmt: skip
add(
    "notices.own.calendar", "订阅本人的到期日历", "subscribe to my due-date calendar", _grant(OWN, CITIZEN),
    requirement="N1",
)  # fmt: skip
add(
    "notices.delivery.view", "查阅告知送达记录", "read the notice delivery log",
    _grant(JURISDICTION, CLERK, VIOLATION, ADMIN, AUDITOR), requirement="N1",
    menu=_menu("notices:counter_deliveries", "bell", "告知送达记录", "Notice deliveries", 60),
)  # fmt: skip


# ---------------------------------------------------------------- reports to government and companies (issue 15, N2)

# An organisation reads the reports sent to it (its own account); reading marks them read. Staff
# see what was sent when to whom for recipients of their jurisdiction; the administrator may make
# a report of a past period now, for the recipients of the jurisdiction.
add(
    "reports.own.view", "查看本单位收到的通报抄告", "read the reports sent to my organisation",
    {ORGANISATION: OWN}, requirement="N2",
)  # fmt: skip
add(
    "reports.run.view", "查看通报抄告发送记录", "see which reports were sent when to whom",
    _grant(JURISDICTION, CLERK, UNIT_HEAD, AUDITOR, ADMIN), requirement="N2",
    menu=_menu("reports:counter_runs", "clipboard", "通报抄告", "Reports sent", 50),
)  # fmt: skip
add(
    "reports.run.generate", "立即生成通报抄告", "generate reports now", {ADMIN: JURISDICTION},
    requirement="N2",
)  # fmt: skip


# ---------------------------------------------------------------- announcements and publications (issue 15, N3)

# Announcements are drawn from the registry by the clerks, officers and heads of the issuing
# office, approved by a head of unit who did not draft them (the service checks that), published
# with a number, and withdrawn only by a head of unit, with a reason. Everyone, logged in or
# not, reads what is published (N3).
add(
    "announcements.notice.view", "查看交通安全信息公告和公布", "read public announcements and publications",
    _grant(ANY, *EVERYONE), requirement="N3",
)  # fmt: skip
add(
    "announcements.announcement.view", "查看公告草稿和审批记录", "view announcement drafts and their history",
    _grant(JURISDICTION, CLERK, VIOLATION, UNIT_HEAD, ADMIN), requirement="N3",
    menu=_menu("announcements:counter", "bell", "公告管理", "Announcements", 50),
)  # fmt: skip
add(
    "announcements.announcement.draft", "起草公告", "draft announcements",
    _grant(JURISDICTION, CLERK, VIOLATION, UNIT_HEAD, ADMIN), requirement="N3",
)  # fmt: skip
add(
    "announcements.announcement.approve", "审批公告", "approve announcements", {UNIT_HEAD: JURISDICTION},
    requirement="N3",
)  # fmt: skip
add(
    "announcements.announcement.publish", "发布公告", "publish announcements",
    _grant(JURISDICTION, CLERK, VIOLATION, UNIT_HEAD, ADMIN), requirement="N3",
)  # fmt: skip
add(
    "announcements.announcement.withdraw", "撤回公告", "withdraw announcements", {UNIT_HEAD: JURISDICTION},
    requirement="N3",
)  # fmt: skip
# The lists publications P09 and P13 are made of (cloned-plate contacts, fixed cameras).
add(
    "announcements.reference.manage", "维护套牌案件联系表和监控设备设置地点", "maintain camera sites and cloned-plate contacts",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="N3",
)  # fmt: skip

# ---------------------------------------------------------------- driving tests (issue 16, B22, B23, X1-X7)

# A learner applies for and cancels their own exams (B22, B23: online registration is enough, U5)
# and moves their test location (X3).
add(
    "exams.own.apply", "预约和取消驾驶人考试", "apply for and cancel driving tests", {CITIZEN: OWN},
    requirement="B22",
)  # fmt: skip
add(
    "exams.own.view", "查看本人的考试预约和成绩", "see my driving tests and results", {CITIZEN: OWN},
    requirement="B22",
)  # fmt: skip
# A driving school (organisation of kind driving_school) applies for its own learners who consented,
# and reads their applications and results; the service narrows "own" to the school's learners.
add(
    "exams.school.apply", "为本校学员预约考试", "apply for exams for the school's learners", {ORGANISATION: OWN},
    requirement="B22",
)  # fmt: skip
add(
    "exams.school.view", "查看本校学员的考试", "see the school's learners and their exams", {ORGANISATION: OWN},
    requirement="B22",
)  # fmt: skip
# Centres are registered at the counter like every organisation (U1); the exam section keeps their
# plans, enrols learners (with the counter) and records results by hand when a centre's system
# cannot; centres' systems report through their API client (scope exams:results), not a role.
add(
    "exams.centre.manage", "登记考场和接入凭据", "register exam centres and their API clients",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="B22",
    menu=_menu("exams:counter_centres", "building", "考场", "Exam centres", 17),
)  # fmt: skip
add(
    "exams.plan.manage", "发布和分配考试计划", "publish and allocate exam plans",
    _grant(JURISDICTION, EXAM_OFFICER, ADMIN), requirement="X4",
    menu=_menu("exams:counter_plans", "calendar", "考试计划", "Exam plans", 18),
)  # fmt: skip
# Published plans and their allocation proof are public, so anyone can recompute the draw (X4).
add(
    "exams.plan.public", "查看考试计划和分配结果", "see exam plans and their allocation", _grant(ANY, *EVERYONE),
    requirement="X4",
)  # fmt: skip
add(
    "exams.learner.enrol", "受理驾驶证申请（学员登记）", "enrol learners for a licence", _grant(JURISDICTION, CLERK, EXAM_OFFICER, ADMIN),
    requirement="B22",
)  # fmt: skip
add(
    "exams.learner.view", "查看学员考试档案", "view learners' exam files",
    _grant(JURISDICTION, CLERK, EXAM_OFFICER, AUDITOR, ADMIN), requirement="B22",
)  # fmt: skip
add(
    "exams.result.record", "录入考试成绩", "record exam results", _grant(JURISDICTION, EXAM_OFFICER, ADMIN),
    requirement="B22",
)  # fmt: skip
add(
    "exams.monitoring.view", "考试业务监管", "monitor exam bookings and results",
    _grant(JURISDICTION, EXAM_OFFICER, UNIT_HEAD, AUDITOR, ADMIN), requirement="X6",
    menu=_menu("exams:counter_monitoring", "shield", "考试监管", "Exam monitoring", 19),
)  # fmt: skip

# ---------------------------------------------------------------- plate pre-selection (issue 17, B19, P1-P5)

# Individuals, and organisations for their local non-operating cars, select for a new small car
# recorded by its dealer (P1, P2); the service matches the VIN, ID number and mobile.
add(
    "plates.own.select", "网上预选机动车号牌", "pre-select plate numbers", _grant(OWN, CITIZEN, ORGANISATION),
    requirement="P1",
)  # fmt: skip
# Car dealers record the new cars they sold (the service checks the organisation is a dealer).
add(
    "plates.preregistration.create", "录入新车注册登记信息", "pre-register new vehicles", {ORGANISATION: OWN},
    requirement="P2",
)  # fmt: skip
# The day's seed commitment, its revealed seed and the masked log are public, so anyone can
# recompute every draw (issue 17 §3).
add(
    "plates.draws.public", "查看选号日志和随机种子", "see the plate draw log and seeds", _grant(ANY, *EVERYONE),
    requirement="P4",
)  # fmt: skip
add(
    "plates.pool.manage", "管理号源和号段规则", "manage plate pools and their rules",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="P5",
    menu=_menu("plates:counter_pools", "plate", "号源管理", "Plate pools", 22),
)  # fmt: skip
add(
    "plates.selection.register", "办理选号车辆注册登记", "register cars with their selected numbers",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="P3",
    menu=_menu("plates:counter_registrations", "plate", "选号登记", "Plate registration", 23),
)  # fmt: skip
add(
    "plates.selection.view", "选号监管（逾期、日志、号码轨迹）", "monitor plate selections",
    _grant(JURISDICTION, CLERK, UNIT_HEAD, AUDITOR, ADMIN), requirement="P5",
    menu=_menu("plates:counter_monitoring", "shield", "选号监管", "Plate monitoring", 24),
)  # fmt: skip


# ---------------------------------------------------------------- acting for others (issue 18, O2-O5, U6, U7)

# The principal's page: every entrustment, proxy and filing that concerns them, each action taken
# under it ("谁替我办理了业务"), and the revocation of any of them. Organisations see and withdraw
# the filings of their vehicles (U7).
add(
    "delegations.own.view", "查看委托、代办、备案及代办记录", "see who acted for me",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="O5",
)  # fmt: skip
add(
    "delegations.own.revoke", "撤销委托、代办授权或车辆备案", "revoke an entrustment, proxy or filing",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="O5",
)  # fmt: skip

# -------------------------------- online entrustment (O5)

# A citizen entrusts a named person with named businesses for at most 30 days (seed 004 §九).
add(
    "delegations.entrustment.create", "网上委托他人办理交管业务", "entrust someone with businesses online",
    {CITIZEN: OWN}, requirement="O5",
)  # fmt: skip
# The agent named in an entrustment sees it and shows its QR at the counter; only their own.
add(
    "delegations.entrustment.use", "查看和出示委托给本人的网上委托", "see and show entrustments naming you",
    {CITIZEN: OWN}, requirement="O5",
)  # fmt: skip
# The counter checks the agent standing there and the business against the entrustment, in the
# jurisdiction of the principal's residence (需重新委托 when either does not match).
add(
    "delegations.entrustment.check", "核查网上委托", "check online entrustments at the counter",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="O5",
    menu=_menu("delegations:counter_entrustments", "handshake", "网上委托核查", "Entrustment checks", 25),
)  # fmt: skip

# -------------------------------- elderly proxy (O2, U6)

# A relative's account asks to act for a person aged 60 or over and has the elderly person pass
# real-person authentication (U6); then it applies for the one business on their behalf.
add(
    "delegations.proxy.create", "申请老年人代办", "ask to act for an elderly person",
    _grant(OWN, CITIZEN), requirement="O2",
)  # fmt: skip
add(
    "delegations.proxy.act", "以老年人代办授权办理业务", "apply for a business as an elderly person's proxy",
    _grant(OWN, CITIZEN), requirement="O2",
)  # fmt: skip
# The DMV sees the proxies of the elderly people of its jurisdiction with their authentication
# outcomes (masked; every read audited).
add(
    "delegations.proxy.view", "查看老年人代办授权及实人认证结果", "see elderly proxies and their authentication",
    _grant(JURISDICTION, CLERK, UNIT_HEAD, AUDITOR, ADMIN), requirement="U6",
    menu=_menu("delegations:counter_proxies", "heart", "老年人代办", "Elderly proxies", 25),
)  # fmt: skip

# -------------------------------- filed vehicles (U7)

# A driver files (备案) a vehicle owned by someone else; the same action covers typing the code
# the owner received by SMS (the owner's consent, given to the driver).
add(
    "delegations.filing.request", "备案他人名下机动车", "file a vehicle owned by someone else",
    _grant(OWN, CITIZEN), requirement="U7",
)  # fmt: skip
# The owner (a person, or the organisation for a company car) agrees or refuses in their account.
add(
    "delegations.filing.consent", "同意或拒绝他人备案本人车辆", "consent to the filing of one's vehicle",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="U7",
)  # fmt: skip

# -------------------------------- military licence exchange (O3)

# A veteran applies online for their own exchange; the counter of the licence's office (or of the
# residence) accepts it; a case whose military licence check did not pass goes to the
# suspect-business review (嫌疑业务核查) of the head of the unit (seed 004 §七 一).
add(
    "military_exchange.own.apply", "申请军队（武警）驾驶证换领地方驾驶证", "apply to exchange a military licence",
    {CITIZEN: OWN}, requirement="O3",
)  # fmt: skip
add(
    "military_exchange.case.handle", "受理军队驾驶证换证业务", "accept military licence exchanges",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="O3",
    menu=_menu("military_exchange:counter", "licence", "军队驾驶证换证", "Military licence exchange", 25),
)  # fmt: skip
add(
    "military_exchange.suspect.review", "核查军队驾驶证换证嫌疑业务", "review suspect military licence exchanges",
    _grant(JURISDICTION, UNIT_HEAD, ADMIN), requirement="O3",
    menu=_menu("military_exchange:counter_suspects", "shield", "换证嫌疑业务核查", "Suspect exchanges", 26),
)  # fmt: skip

# -------------------------------- overseas relief (O4)

# A driver whose licence was cancelled while abroad applies for its restoration (seed 004 §八 二).
add(
    "overseas_relief.own.apply", "申请恢复出国（境）期间被注销的驾驶证", "apply to restore a licence cancelled while abroad",
    _grant(OWN, CITIZEN), requirement="O4",
)  # fmt: skip
# The counter's list and a case's file (documents, exit and entry records): clerks and heads read.
add(
    "overseas_relief.case.view", "查看出国（境）人员恢复驾驶资格申请", "see overseas relief cases",
    _grant(JURISDICTION, CLERK, UNIT_HEAD, ADMIN), requirement="O4",
    menu=_menu("overseas_relief:counter", "licence", "恢复驾驶资格", "Overseas relief", 25),
)  # fmt: skip
# 业务受理岗 reviews the documents and the records and accepts or rejects (§八 二 4) ...
add(
    "overseas_relief.case.accept", "受理出国（境）人员恢复驾驶资格申请", "accept overseas relief cases",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="O4",
)  # fmt: skip
# ... and the head of the unit (部门负责人) approves before the licence is restored (§八 二 5);
# the service refuses the clerk who accepted the same case (four eyes).
add(
    "overseas_relief.case.approve", "复核恢复驾驶资格", "approve overseas relief restorations",
    _grant(JURISDICTION, UNIT_HEAD, ADMIN), requirement="O4",
)  # fmt: skip


# ---------------------------------------------------------------- cross-region used-car transfer (issue 19, T1-T5)

# A non-operating small or mini passenger car bought by a resident of another DMV is inspected and
# registered once at the destination; its electronic archive travels between the two DMVs as a
# signed package (seed 004 §二). The inter-DMV endpoints answer a peer DMV's signed messages, not a
# role: they are not in this table.
add(
    "transfers.own.apply", "申请二手车异地交易登记", "apply for a cross-region used-car transfer",
    _grant(OWN, CITIZEN), requirement="T2",
)  # fmt: skip
# The counter's list of transfers in and out, a transfer's file and its archive package.
add(
    "transfers.transfer.view", "查看跨辖区转移登记", "see cross-region transfers",
    _grant(JURISDICTION, CLERK, UNIT_HEAD, ADMIN), requirement="T3",
    menu=_menu("transfers:counter", "car", "异地转移登记", "Cross-region transfers", 27),
)  # fmt: skip
# The destination inspects the car once and registers it (查验、登记一次办结).
add(
    "transfers.transfer.register", "办理跨辖区转移登记查验和登记", "inspect and register cross-region transfers",
    _grant(JURISDICTION, CLERK, ADMIN), requirement="T2",
)  # fmt: skip
# Problems are raised and answered between the two DMVs in the system, with a deadline.
add(
    "transfers.problem.handle", "提出和答复转移登记问题", "raise and answer problems about transfers",
    _grant(JURISDICTION, CLERK, UNIT_HEAD, ADMIN), requirement="T4",
)  # fmt: skip
# Returning an archive (退档) is for suspect vehicles only; the head of unit decides.
add(
    "transfers.archive.return", "退回转移登记档案", "return a transfer's archive",
    _grant(JURISDICTION, UNIT_HEAD, ADMIN), requirement="T4",
)  # fmt: skip
# One trader moving many cars in a short time is reviewed (异常业务研判, seed 004 §二 三 3).
add(
    "transfers.anomaly.view", "查看异地转移异常业务", "see unusual cross-region transfer patterns",
    _grant(JURISDICTION, UNIT_HEAD, ADMIN), requirement="T3",
    menu=_menu("transfers:anomalies", "shield", "转移异常研判", "Transfer anomalies", 28),
)  # fmt: skip


# ---------------------------------------------------------------- truck pass codes (issue 19, O1, O1a)

# Cities publish their truck restriction rules (O1a); truck owners, drivers and delivery companies
# apply online for electronic pass codes (O1); the blacklist shortens and reduces them.

# The owner of a truck, its driver (a truck filed to them, U7, with a licence class for it) or a
# delivery company for its fleet applies for codes, sees them with their QR and cancels them.
add(
    "truck_passes.own.apply", "申领货车通行码", "apply for truck pass codes",
    _grant(OWN, CITIZEN, ORGANISATION), requirement="O1",
)  # fmt: skip
# The city's traffic police set and publish the restriction zones and windows; the editor refuses
# a rule that breaches O1a (fewer than 6 open hours, a city-wide 24-hour ban).
add(
    "truck_passes.rules.manage", "制定和发布货车禁限行规则", "set and publish truck restriction rules",
    _grant(JURISDICTION, VIOLATION, UNIT_HEAD, ADMIN), requirement="O1a",
    menu=_menu("truck_passes:counter_rules", "shield", "货车禁限行规则", "Truck restrictions", 27),
)  # fmt: skip
# Police at the roadside check a code by its QR or the plate (audited) and see the blacklist.
add(
    "truck_passes.pass.check", "核查货车通行码及黑名单", "check truck pass codes and the blacklist",
    _grant(PROVINCE, VIOLATION, ACCIDENT, HEAD, UNIT_HEAD, ADMIN), requirement="O1",
    menu=_menu("truck_passes:counter_check", "camera", "货车通行码核查", "Truck pass checks", 28),
)  # fmt: skip


# ---------------------------------------------------------------- old-neighbourhood parking (issue 19, O8)

# Staff publish the road segments near old residential areas where residents may park at night,
# at weekends and on public holidays; everyone reads them (seed 004 §五).
add(
    "parking.segment.view", "查看允许停车路段", "see the parking segments", _grant(ANY, *EVERYONE),
    requirement="O8",
)  # fmt: skip
# Clerks, officers and heads of the district draft segments and correct drafts and withdrawn ones;
# what the public sees changes only by a publish, a change or a withdrawal, each with its reason.
add(
    "parking.segment.edit", "编辑允许停车路段", "draft and edit parking segments",
    _grant(JURISDICTION, CLERK, VIOLATION, UNIT_HEAD, ADMIN), requirement="O8",
    menu=_menu("parking:counter", "car", "老旧小区停车路段", "Parking segments", 27),
)  # fmt: skip
add(
    "parking.segment.publish", "发布、变更或撤销允许停车路段", "publish, change or withdraw parking segments",
    _grant(JURISDICTION, VIOLATION, UNIT_HEAD, ADMIN), requirement="O8",
)  # fmt: skip


# ---------------------------------------------------------------- study to reduce points (issue 19, V7)

# Drivers below 12 points study online or on site to reduce them (at most 6 a cycle); drivers at
# 12 follow the full-score education (满分学习) the same way.
add(
    "points_study.own.study", "学法减分和满分学习", "study to reduce points and full-score education",
    _grant(OWN, CITIZEN), requirement="V7",
)  # fmt: skip
# Study centres (the counters of the DMV and the violation-processing offices) record on-site
# attendance, test results and full-score study days of their jurisdiction.
add(
    "points_study.centre.record", "登记现场学习和考试结果", "record on-site study and test results",
    _grant(JURISDICTION, CLERK, VIOLATION, ADMIN), requirement="V7",
    menu=_menu("points_study:counter", "book", "学法减分现场学习", "On-site study", 40),
)  # fmt: skip


ACTIONS: Mapping[str, Action] = _table.actions


# ---------------------------------------------------------------- checks


def role_of(actor: Any) -> Role:
    """The actor's role: a staff post, citizen, organisation, or anonymous."""
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not getattr(actor, "is_active", True)
    ):
        return Role.ANONYMOUS
    kind = getattr(actor, "kind", "")
    if kind == "staff":
        try:
            return Role(getattr(actor, "staff_role", ""))
        except ValueError:
            return Role.ANONYMOUS  # a post the table does not know may do nothing
    if kind == "organisation":
        return Role.ORGANISATION
    if kind == "individual" and getattr(actor, "person_id", None):
        return Role.CITIZEN
    return Role.ANONYMOUS


def action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise LookupError(f"no action {name!r} in the access table") from None


def scope_of(actor: Any, name: str) -> Scope | None:
    """The scope inside which the actor may do the action, or None."""
    return action(name).scope_for(role_of(actor))


def granted(role: Role, name: str) -> bool:
    """Whether the table lists the role for the action (the landing page asks it for citizens)."""
    return action(name).scope_for(role) is not None


def can(actor: Any, name: str) -> bool:
    """Whether the actor's role may do the action at all (menus, tiles, the back office)."""
    return scope_of(actor, name) is not None


def _jurisdiction(actor: Any) -> str:
    return str(getattr(actor, "jurisdiction", "") or "")


def _inside(code: str, actor: Any, scope: Scope) -> bool:
    jurisdiction = _jurisdiction(actor)
    if not jurisdiction or not isinstance(code, str) or len(code) != 6 or not code.isdigit():
        return False
    if scope is Scope.PROVINCE:
        return code[:2] == jurisdiction[:2]
    try:
        return is_within(code, jurisdiction)
    except Exception:  # a malformed stored code is outside every jurisdiction
        return False


def _refusal(actor: Any, act: Action) -> NotAllowed | Unauthenticated:
    role = role_of(actor)
    if role is Role.ANONYMOUS:
        return Unauthenticated("auth.required", "请先登录。", "Log in first.", detail={"action": act.name})
    if role in PUBLIC_ROLES and not any(r in PUBLIC_ROLES for r in act.grants):
        return NotAllowed(
            "access.staff_only",
            f"{act.zh}仅限车管所和交警工作人员办理。",
            f"Only traffic police and DMV staff may {act.en}.",
            detail={"action": act.name},
        )
    if role in STAFF_ROLES and not any(r in STAFF_ROLES for r in act.grants):
        return NotAllowed(
            "access.citizens_only",
            f"工作人员不能{act.zh}，此项业务由群众本人办理。",
            f"Staff cannot {act.en}: citizens do this for themselves.",
            detail={"action": act.name},
        )
    return NotAllowed(
        "access.role_not_allowed",
        f"您的岗位无权{act.zh}。",
        f"Your role may not {act.en}.",
        detail={"action": act.name, "role": str(role)},
    )


def _outside(act: Action, code: str) -> NotAllowed:
    return NotAllowed(
        "access.outside_jurisdiction",
        f"该记录（行政区划 {code or '未填写'}）不在您的辖区范围内，无权{act.zh}。",
        f"This record (division {code or 'none'}) is outside your jurisdiction; you may not {act.en} there.",
        detail={"action": act.name, "division": code},
    )


def _not_own(act: Action) -> NotAllowed:
    return NotAllowed(
        "access.not_own",
        f"只能办理本人（本单位）的记录，无权{act.zh}。",
        f"You may only {act.en} for your own records.",
        detail={"action": act.name},
    )


def require(
    actor: Any,
    name: str,
    *,
    division: str | Iterable[str] | None = None,
    owner_person_id: int | None = None,
    owner_organisation_id: int | None = None,
) -> Scope:
    """Refuse unless the actor may do the action on a record in ``division`` (403; 401 when anonymous).

    ``division`` is the record's division, or every division it has before and after
    the change (a vehicle moved from one county to another needs both inside the
    jurisdiction). With a jurisdiction or province scope and no division, only the
    role is checked: the caller then reads through a selector scoped by
    :func:`division_prefix_for`. For the own scope, the owner ids given must be the
    actor's.
    """
    act = action(name)
    role = role_of(actor)
    scope = act.scope_for(role)
    if scope is None:
        raise _refusal(actor, act)
    if scope in (Scope.JURISDICTION, Scope.PROVINCE) and division is not None:
        codes = [division] if isinstance(division, str) else list(division)
        for code in codes:
            if not _inside(code, actor, scope):
                raise _outside(act, code if isinstance(code, str) else "")
    if scope is Scope.OWN:
        if owner_person_id is not None and owner_person_id != getattr(actor, "person_id", None):
            raise _not_own(act)
        if owner_organisation_id is not None and owner_organisation_id != getattr(
            actor, "organisation_id", None
        ):
            raise _not_own(act)
    return scope


def allowed(actor: Any, name: str, **where: Any) -> bool:
    """:func:`require` as a yes or no (to offer or hide a button)."""
    try:
        require(actor, name, **where)
    except (NotAllowed, Unauthenticated):
        return False
    return True


def division_prefix_for(actor: Any, name: str) -> str | None:
    """The division prefix a scoped read filters on: None when the role may not, "" for anywhere.

    The own scope returns None too: own records are found through the actor, not a place.
    """
    scope = scope_of(actor, name)
    if scope is None or scope is Scope.OWN:
        return None
    if scope is Scope.ANY:
        return ""
    jurisdiction = _jurisdiction(actor)
    if not jurisdiction:
        return None
    if scope is Scope.PROVINCE:
        return jurisdiction[:2]
    try:
        return division_prefix(jurisdiction)
    except Exception:
        return None


def menu_for(actor: Any) -> list[Action]:
    """The staff menu: every action with a menu entry that the actor's role may use, in order."""
    entries = [a for a in ACTIONS.values() if a.menu is not None and can(actor, a.name)]
    return sorted(entries, key=lambda a: a.menu.order if a.menu else 0)


# ---------------------------------------------------------------- pages and API handlers

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., Any])


def access_required(name: str) -> Callable[[ViewFunc], ViewFunc]:
    """Guard a page or an API handler with the table: anonymous visitors of a page are sent to
    log in, the API answers 401, and a role without the action gets 403 (the error page or the
    JSON error body). Place it below ``@router.get``/``@router.post`` on API handlers."""
    action(name)  # a misspelt action fails at import, not at the first request

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            user = getattr(request, "user", None)
            if not can(user, name):
                if role_of(user) is Role.ANONYMOUS and not request.path.startswith("/api/"):
                    from django.contrib.auth.views import redirect_to_login

                    return redirect_to_login(request.get_full_path())
                raise _refusal(user, ACTIONS[name])
            return view(request, *args, **kwargs)

        # django-ninja reads the handler's parameters from its signature; resolve the string
        # annotations in the handler's own module, since the wrapper lives in this one.
        try:
            wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
        except NameError:  # annotations only named under TYPE_CHECKING: pages do not need them
            wrapper.__signature__ = inspect.signature(view)  # type: ignore[attr-defined]
        wrapper.access_action = name  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
