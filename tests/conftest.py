"""Shared fixtures: data made through the same services the platform uses."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

os.environ.setdefault("JIAOGUAN_DEMO", "1")

SHANGHAI = ZoneInfo("Asia/Shanghai")
CITIZEN_PASSWORD = "Citizen#2026x"


@pytest.fixture(scope="session")
def chinese_font():
    """Stamped images draw Chinese text with a system font (fonts-wqy-zenhei); without one the
    text is missing. Skipped with a note on a developer's machine, a failure in CI."""
    import shutil
    import subprocess

    found = ""
    if shutil.which("fc-list"):
        found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout
    if not found.strip():
        if os.environ.get("CI"):
            pytest.fail("no Chinese font installed: apt-get install fonts-wqy-zenhei")
        pytest.skip("no Chinese font installed (apt-get install fonts-wqy-zenhei); stamp text tests skipped")


@pytest.fixture
def make_person(db):
    """Create a registry person with a valid Zhumadian ID number."""
    from jiaoguan.core.identifiers import make_citizen_id
    from jiaoguan.registry.models import Person

    counter = {"n": 0}

    def make(
        *,
        name: str = "张伟",
        birth_date: date = date(1985, 6, 15),
        area: str = "411702",
        sequence: int | None = None,
        mobile: str = "13800138000",
    ) -> Person:
        counter["n"] += 1
        seq = sequence if sequence is not None else 100 + counter["n"] * 2 + 1
        number = make_citizen_id(area, birth_date, seq)
        return Person.objects.create(
            id_number=number,
            name=name,
            sex="M" if seq % 2 else "F",
            birth_date=birth_date,
            residence_division=area,
            mobile=mobile,
        )

    return make


@pytest.fixture
def make_vehicle(db):
    from jiaoguan.core.identifiers import make_vin
    from jiaoguan.registry.models import Vehicle

    counter = {"n": 0}

    def make(*, owner, registered_on=date(2020, 5, 13), last_inspected_on=None, plate=None, **kw):
        counter["n"] += 1
        n = counter["n"]
        vin = make_vin(f"LSVAB4BR0M{n:07d}")
        return Vehicle.objects.create(
            plate_number=plate or f"豫Q{n:05d}",
            plate_type=kw.pop("plate_type", "02"),
            vin=vin,
            kind=kw.pop("kind", "small_passenger"),
            use_nature=kw.pop("use_nature", "private"),
            brand_model=kw.pop("brand_model", "大众牌 SVW71612"),
            owner_person=owner if not hasattr(owner, "uscc") else None,
            owner_organisation=owner if hasattr(owner, "uscc") else None,
            registered_on=registered_on,
            last_inspected_on=last_inspected_on,
            division=kw.pop("division", "411702"),
            **kw,
        )

    return make


@pytest.fixture
def make_licence(db):
    from jiaoguan.registry.models import DrivingLicence

    counter = {"n": 0}

    def make(*, holder, classes="C1", first_issued_on=date(2015, 3, 5), valid_from=None, term="10y", **kw):
        counter["n"] += 1
        return DrivingLicence.objects.create(
            holder=holder,
            archive_number=f"4117{counter['n']:08d}",
            classes=classes,
            first_issued_on=first_issued_on,
            valid_from=valid_from or first_issued_on,
            validity_term=term,
            division=kw.pop("division", "411702"),
            **kw,
        )

    return make


@pytest.fixture
def make_staff(db):
    from jiaoguan.accounts.services import staff_create

    def make(*, role: str = "counter_clerk", jurisdiction: str = "411700", username: str | None = None):
        return staff_create(
            username=username or f"{role}-{jurisdiction}",
            password="Counter#2026x",
            role=role,
            jurisdiction=jurisdiction,
        )

    return make


@pytest.fixture
def sms_inbox(db):
    """Read the newest code the fake SMS gateway delivered to a number."""
    import re

    from jiaoguan.core.outbox import outbox_dispatch
    from jiaoguan.integrations.models import FakeSmsMessage

    def latest_code(mobile: str) -> str:
        # Inside a test transaction nothing commits, so deliver what the outbox holds now.
        outbox_dispatch()
        message = FakeSmsMessage.objects.filter(mobile=mobile).order_by("-id").first()
        assert message is not None, f"no SMS delivered to {mobile}"
        match = re.search(r"(\d{6})", message.text)
        assert match
        return match.group(1)

    return latest_code


# ==============================================================================================
# Fake payment gateway (模拟支付平台): a real subprocess shared by the test session.
#
#   payment_gateway              per test: gateway reset, settings pointed at it; yields a
#                                PaymentGatewayHandle (.url .configure() .pay() .callbacks()
#                                .wait_for_callbacks() .client())
#   fake_payment_gateway_server  the session's gateway process (FakePaymentGatewayProcess)
#   start_fake_payment_gateway   start another gateway process (own key, state file, options)
# ==============================================================================================


class FakePaymentGatewayProcess:
    """``python -m jiaoguan.integrations.fake_payment_gateway`` on a free port, output kept quiet."""

    def __init__(self, workdir, *, key: str, merchant_id: str, extra_args: tuple[str, ...] = ()) -> None:
        import subprocess
        import sys
        import time
        from pathlib import Path

        from jiaoguan.integrations.fake_payment_gateway import GatewayControl

        self.key = key
        self.merchant_id = merchant_id
        self.log_path = workdir / "gateway.log"
        port_file = workdir / "port"
        port_file.unlink(missing_ok=True)
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parent.parent / "src")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
        argv = [
            sys.executable, "-m", "jiaoguan.integrations.fake_payment_gateway",
            "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file),
            "--key", key, "--merchant-id", merchant_id, *extra_args,
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                self.fail(f"exited with {self.process.returncode} while starting")
            if port_file.exists():
                self.url = f"http://127.0.0.1:{int(port_file.read_text())}"
                self.control = GatewayControl(base_url=self.url, merchant_id=merchant_id, key=key)
                if self.control.healthy():
                    return
            if time.monotonic() > deadline:
                self.stop()
                self.fail("did not answer within 15 s")
            time.sleep(0.05)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            self.fail(f"died with exit code {self.process.returncode}")

    def fail(self, why: str) -> None:
        log = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        pytest.fail(f"fake payment gateway {why}; its output:\n{log}")

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def start_fake_payment_gateway(tmp_path_factory):
    """Start a fake gateway process: ``start(*extra_args, key=..., merchant_id=...)``; all stop at the end."""
    import secrets

    started: list[FakePaymentGatewayProcess] = []

    def start(*extra_args: str, key: str | None = None, merchant_id: str = "test-merchant"):
        workdir = tmp_path_factory.mktemp("fake-payment-gateway")
        process = FakePaymentGatewayProcess(
            workdir, key=key or secrets.token_hex(32), merchant_id=merchant_id, extra_args=extra_args
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def fake_payment_gateway_server(start_fake_payment_gateway):
    return start_fake_payment_gateway()


class PaymentGatewayHandle:
    """One test's view of the session's fake gateway."""

    def __init__(self, server: FakePaymentGatewayProcess) -> None:
        self.server = server
        self.url = server.url
        self.merchant_id = server.merchant_id
        self.key = server.key
        self.control = server.control

    def configure(self, **behaviour):
        """Change misbehaviour (latency_ms, callback_delay_ms, callback_drop_rate, callback_duplicates,
        timeout_rate, timeout_sleep_ms, error_rate, duplicate_charge, seed); returns all of it."""
        return self.control.configure(**behaviour)

    def pay(self, out_trade_no: str):
        """Pay as the payer's button does; returns the GatewayTrade afterwards."""
        return self.control.pay(out_trade_no)

    def callbacks(self) -> list[dict]:
        """Callback deliveries so far: notify_id, out_trade_no, trade_no, copy, attempt, status, error, at."""
        return self.control.callbacks()

    def wait_for_callbacks(self, count: int, *, timeout: float = 5.0, **match) -> list[dict]:
        """Wait until at least ``count`` logged deliveries match (e.g. ``out_trade_no=...``)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.callbacks() if all(c.get(k) == v for k, v in match.items())]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"expected {count} callback deliveries, got {found}"
                return found
            time.sleep(0.05)

    def client(self):
        """The platform's own client, built from the settings this fixture set."""
        from jiaoguan.integrations.payment_gateway import get_payment_gateway

        return get_payment_gateway()


@pytest.fixture
def payment_gateway(settings, fake_payment_gateway_server):
    """The fake gateway, reset, with settings.PAYMENT_GATEWAY_* pointing at it."""
    server = fake_payment_gateway_server
    server.check_alive()
    server.control.reset()
    settings.PAYMENT_GATEWAY_URL = server.url
    settings.PAYMENT_MERCHANT_ID = server.merchant_id
    settings.PAYMENT_GATEWAY_KEY = server.key
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 1.0
    settings.PAYMENT_GATEWAY_RETRIES = 2
    yield PaymentGatewayHandle(server)
    # Pending callbacks of this test must not reach the next test's (shared) live server.
    if server.process.poll() is None:
        server.control.reset()


# ==============================================================================================
# Fake postal service (模拟邮政, issue 13): a real subprocess shared by the test session.
#
#   postal_service               per test: service reset, settings.POSTAL_* pointed at it; yields a
#                                PostalServiceHandle (.url .configure() .advance() .callbacks() .client())
#   fake_postal_service_server   the session's postal process (FakePostalServiceProcess)
# ==============================================================================================


class FakeServiceProcess:
    """A fake outside system (``python -m jiaoguan.integrations.<module>``) on a free port, its
    output kept in ``<label>.log``: started, waited for until its control endpoint answers, stopped."""

    module = ""
    label = ""  # the system's name in failure messages and its log's name
    id_option = "--client-id"  # how the fake is told our account number with it

    def __init__(self, workdir, *, key: str, account_id: str, extra_args: tuple[str, ...] = ()) -> None:
        import subprocess
        import sys
        import time
        from pathlib import Path

        self.key = key
        self.log_path = workdir / f"{self.label}.log"
        port_file = workdir / "port"
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parent.parent / "src")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
        argv = [
            sys.executable, "-m", f"jiaoguan.integrations.{self.module}",
            "--host", "127.0.0.1", "--port", "0", "--port-file", str(port_file),
            "--key", key, self.id_option, account_id, *extra_args,
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                self.fail(f"exited with {self.process.returncode} while starting")
            if port_file.exists():
                self.url = f"http://127.0.0.1:{int(port_file.read_text())}"
                self.control = self.make_control(self.url, account_id, key)
                if self.control.healthy():
                    return
            if time.monotonic() > deadline:
                self.stop()
                self.fail("did not answer within 15 s")
            time.sleep(0.05)

    def make_control(self, url: str, account_id: str, key: str):
        raise NotImplementedError

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            self.fail(f"died with exit code {self.process.returncode}")

    def fail(self, why: str) -> None:
        log = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        pytest.fail(f"fake {self.label} service {why}; its output:\n{log}")

    def stop(self) -> None:
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class FakePostalServiceProcess(FakeServiceProcess):
    """The fake postal service (``fake_postal_service``); our account there is a customer number."""

    module, label, id_option = "fake_postal_service", "postal", "--customer-id"

    def __init__(self, workdir, *, key: str, customer_id: str, extra_args: tuple[str, ...] = ()) -> None:
        self.customer_id = customer_id
        super().__init__(workdir, key=key, account_id=customer_id, extra_args=extra_args)

    def make_control(self, url: str, account_id: str, key: str):
        from jiaoguan.integrations.fake_postal_service import PostalControl

        return PostalControl(base_url=url, customer_id=account_id, key=key)


@pytest.fixture(scope="session")
def fake_postal_service_server(tmp_path_factory):
    import secrets

    process = FakePostalServiceProcess(
        tmp_path_factory.mktemp("fake-postal-service"), key=secrets.token_hex(32), customer_id="test-customer"
    )
    yield process
    process.stop()


class PostalServiceHandle:
    """One test's view of the session's fake postal service."""

    def __init__(self, server: FakePostalServiceProcess) -> None:
        self.server = server
        self.url = server.url
        self.customer_id = server.customer_id
        self.key = server.key
        self.control = server.control

    def configure(self, **behaviour):
        """Change misbehaviour (speed, latency_ms, error_rate, timeout_rate, timeout_sleep_ms,
        callback_delay_ms, callback_drop_rate, callback_duplicates, loss_rate, seed)."""
        return self.control.configure(**behaviour)

    def advance(self, number: str, kind: str):
        """Move a parcel to ``kind`` now; returns all its TrackingEvents."""
        return self.control.advance(number, kind)

    def callbacks(self) -> list[dict]:
        """Callback deliveries: event_id, waybill_number, kind, copy, attempt, status, error, at."""
        return self.control.callbacks()

    def client(self):
        """The platform's own adapter, built from the settings this fixture set."""
        from jiaoguan.integrations.postal import get_postal_service

        return get_postal_service()


@pytest.fixture
def postal_service(settings, fake_postal_service_server):
    """The fake postal service, reset, with settings.POSTAL_* pointing at it."""
    server = fake_postal_service_server
    server.check_alive()
    server.control.reset()
    settings.POSTAL_URL = server.url
    settings.POSTAL_CUSTOMER_ID = server.customer_id
    settings.POSTAL_KEY = server.key
    settings.POSTAL_TIMEOUT_SECONDS = 1.0
    settings.POSTAL_RETRIES = 2
    yield PostalServiceHandle(server)
    # Events of this test must not reach the next test's callback receiver.
    if server.process.poll() is None:
        server.control.reset()


# ---------------------------------------------------------------- violations and payments


@pytest.fixture
def citizen(db):
    from jiaoguan.accounts.models import User

    def make(person, *, level: str = "online") -> User:
        return User.objects.create_user(
            username=person.id_number, password=CITIZEN_PASSWORD, person=person, registration_level=level
        )

    return make


@pytest.fixture
def organisation_user(db):
    from jiaoguan.accounts.models import User
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.registry.models import Organisation

    def make(
        *, name: str = "驻马店市天中客运有限公司", kind: str = "transport_company", suffix: str = "0ABCD7"
    ):
        organisation = Organisation.objects.create(
            uscc=make_uscc("91411702MA4" + suffix), name=name, kind=kind, division="411702"
        )
        return User.objects.create_user(
            username=organisation.uscc, password=CITIZEN_PASSWORD, kind="organisation", organisation=organisation,
            registration_level="counter",
        )  # fmt: skip

    return make


@pytest.fixture
def record(db):
    """Keep a violation record through violation_record, as a camera delivery would."""
    from jiaoguan.violations.services import RecordInput, violation_record

    counter = {"n": 0}

    def make(
        vehicle=None,
        *,
        plate: str | None = None,
        code: str = "1625",
        occurred_at: datetime | None = None,
        source: str = "monitoring",
        division: str = "411702",
        on_expressway: bool = False,
        fine_fen: int | None = None,
    ):
        counter["n"] += 1
        data = RecordInput(
            plate_number=plate or vehicle.plate_number,
            plate_type=vehicle.plate_type if vehicle is not None else "02",
            occurred_at=occurred_at or datetime.now(SHANGHAI) - timedelta(days=3, minutes=counter["n"]),
            place="驻马店市驿城区解放路与交通路交叉口",
            code=code,
            recording_division=division,
            source=source,
            device_id="CAM-411702-0001" if source == "monitoring" else "",
            on_expressway=on_expressway,
            fine_fen=fine_fen,
        )
        violation, created = violation_record(actor=None, data=data)
        assert created
        return violation

    return make


@pytest.fixture
def owner_driver(make_person, make_vehicle, make_licence, citizen):
    """A citizen who owns a private car and holds a C1 licence: (user, person, vehicle, licence)."""

    def make(**person_kw):
        person = make_person(**person_kw)
        vehicle = make_vehicle(owner=person)
        licence = make_licence(holder=person, valid_from=date(2021, 3, 5))
        return citizen(person), person, vehicle, licence

    return make


@pytest.fixture
def run_together():
    """Start every call at the same moment, each in its own thread and database connection."""
    import threading

    from django.db import connections

    def run(*calls):
        barrier = threading.Barrier(len(calls))
        results: list[object] = [None] * len(calls)

        def runner(i, fn):
            try:
                barrier.wait()
                results[i] = fn()
            except Exception as exc:
                results[i] = exc
            finally:
                connections.close_all()

        threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return results

    return run


# ==============================================================================================
# Access-table matrix (core/access.py): every action x role x own/other, through pages, API and
# the back office. Staff work in 411700 (Zhumadian); "own" records of staff lie in 411702 and
# "other" ones in 411602 (Zhoukou, the same province, outside the jurisdiction). For a citizen
# or an organisation "own" records are theirs and "other" ones somebody else's in 411702.
# ==============================================================================================

MATRIX_HOME = "411700"
MATRIX_INSIDE = "411702"
MATRIX_OUTSIDE = "411602"
MATRIX_WHERE = ("own", "other")


def access_expected(name: str, role: str, where: str) -> bool:
    """What the table says: may ``role`` do ``name`` on an "own" or "other" record?"""
    from jiaoguan.core.access import ACTIONS, Role, Scope

    scope = ACTIONS[name].scope_for(Role(role))
    if scope is None:
        return False
    if scope in (Scope.ANY, Scope.PROVINCE):
        return True  # "other" is in the same province
    return where == "own"


class AccessWorld:
    """Actors of every role and records on each side of the line, made through the services."""

    def __init__(self, *, make_person, make_vehicle, make_licence, make_staff, citizen, organisation_user):
        from jiaoguan.core.identifiers import make_uscc
        from jiaoguan.registry.models import Organisation

        self.make_staff = make_staff
        self._citizen = citizen
        self._actors: dict[str, object] = {}
        self.person_a = make_person(name="王芳", area=MATRIX_INSIDE, mobile="13800138001")
        self.vehicle_a = make_vehicle(owner=self.person_a, division=MATRIX_INSIDE)
        self.licence_a = make_licence(
            holder=self.person_a, division=MATRIX_INSIDE, valid_from=date(2021, 3, 5)
        )
        self.organisation = Organisation.objects.create(
            uscc=make_uscc("91411702MA40DKQ71"), name="驻马店市天中客运有限公司", kind="transport_company",
            division=MATRIX_INSIDE,
        )  # fmt: skip
        self.vehicle_o = make_vehicle(owner=self.organisation, division=MATRIX_INSIDE)
        self.person_c = make_person(name="李强", area=MATRIX_INSIDE, mobile="13800138003")
        self.vehicle_c = make_vehicle(owner=self.person_c, division=MATRIX_INSIDE)
        self.licence_c = make_licence(
            holder=self.person_c, division=MATRIX_INSIDE, valid_from=date(2021, 3, 5)
        )
        self.person_b = make_person(name="赵敏", area=MATRIX_OUTSIDE, mobile="13800138002")
        self.vehicle_b = make_vehicle(owner=self.person_b, division=MATRIX_OUTSIDE)
        self.licence_b = make_licence(
            holder=self.person_b, division=MATRIX_OUTSIDE, valid_from=date(2021, 3, 5)
        )
        self.organisation_b = Organisation.objects.create(
            uscc=make_uscc("91411602MA40BKQ77"), name="周口市川汇物流有限公司", kind="transport_company",
            division=MATRIX_OUTSIDE,
        )  # fmt: skip

    # Logins are made only when a test asks for them: hashing a password is the slow part.
    @property
    def citizen_user(self):
        return self.actor("citizen")

    @property
    def organisation_user(self):
        return self.actor("organisation")

    def actor(self, role: str):
        """The user of a role (None for anonymous); staff of 411700."""
        if role not in self._actors:
            if role == "anonymous":
                self._actors[role] = None
            elif role == "citizen":
                self._actors[role] = self._citizen(self.person_a, level="counter")
            elif role == "organisation":
                from jiaoguan.accounts.models import User

                self._actors[role] = User.objects.create_user(
                    username=self.organisation.uscc, password=CITIZEN_PASSWORD, kind="organisation",
                    organisation=self.organisation, registration_level="counter",
                )  # fmt: skip
            else:
                self._actors[role] = self.make_staff(
                    role=role, jurisdiction=MATRIX_HOME, username=f"m-{role}"
                )
        return self._actors[role]

    def records(self, role: str, where: str):
        """person, vehicle, licence, organisation, division: the actor's own side or the other."""
        from types import SimpleNamespace

        if role == "organisation":
            if where == "own":
                return SimpleNamespace(
                    person=self.person_a, vehicle=self.vehicle_o, licence=self.licence_a,
                    organisation=self.organisation, division=MATRIX_INSIDE,
                )  # fmt: skip
            return SimpleNamespace(
                person=self.person_c, vehicle=self.vehicle_c, licence=self.licence_c,
                organisation=self.organisation_b, division=MATRIX_INSIDE,
            )  # fmt: skip
        if role in ("citizen", "anonymous"):
            if where == "own":
                return SimpleNamespace(
                    person=self.person_a, vehicle=self.vehicle_a, licence=self.licence_a,
                    organisation=self.organisation, division=MATRIX_INSIDE,
                )  # fmt: skip
            return SimpleNamespace(
                person=self.person_c, vehicle=self.vehicle_c, licence=self.licence_c,
                organisation=self.organisation_b, division=MATRIX_INSIDE,
            )  # fmt: skip
        if where == "own":
            return SimpleNamespace(
                person=self.person_a, vehicle=self.vehicle_a, licence=self.licence_a,
                organisation=self.organisation, division=MATRIX_INSIDE,
            )  # fmt: skip
        return SimpleNamespace(
            person=self.person_b, vehicle=self.vehicle_b, licence=self.licence_b,
            organisation=self.organisation_b, division=MATRIX_OUTSIDE,
        )  # fmt: skip

    def client(self, role: str):
        """A browser session of the role (not logged in for anonymous)."""
        from django.test import Client

        client = Client()
        user = self.actor(role)
        if user is not None:
            client.force_login(user)
        return client

    def api(self, role: str):
        """An API client with the role's bearer token (none for anonymous)."""
        from django.test import Client

        user = self.actor(role)
        if user is None:
            return Client()
        from jiaoguan.accounts.models import ApiToken
        from jiaoguan.accounts.services import _token_hash

        raw = f"matrix-{role}-{user.pk}"
        ApiToken.objects.get_or_create(
            token_hash=_token_hash(raw),
            defaults={"user": user, "expires_at": datetime.now(SHANGHAI) + timedelta(hours=1)},
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def access_outcome(response) -> str:
    """'allowed' for a success (2xx, or a redirect that is not to the login page), else 'refused'."""
    if response.status_code in (401, 403, 404):
        return "refused"
    if response.status_code in (301, 302, 303):
        return "refused" if "/login" in response.get("Location", "") else "allowed"
    if 200 <= response.status_code < 300:
        return "allowed"
    raise AssertionError(f"unexpected answer {response.status_code}: {response.content[:300]!r}")


@pytest.fixture
def access_world(settings, make_person, make_vehicle, make_licence, make_staff, citizen, organisation_user):
    # Every matrix case makes its actor's login; Argon2 would spend most of the matrix's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return AccessWorld(
        make_person=make_person, make_vehicle=make_vehicle, make_licence=make_licence, make_staff=make_staff,
        citizen=citizen, organisation_user=organisation_user,
    )  # fmt: skip


@pytest.fixture
def access_check():
    """(access_expected, access_outcome) for matrix tests."""
    return access_expected, access_outcome


# The test installation serves Zhumadian (411700): Henan is in neither of the seeds' rollout lists
# (A9a), so tests open its online accident services with the same local setting as the demo.
TEST_ACCIDENT_LOCAL_ROLLOUT = "online_query=2020-06-01,evidence_review=2021-07-01"


@pytest.fixture(autouse=True)
def _accident_local_rollout(settings):
    settings.ACCIDENT_LOCAL_ROLLOUT = TEST_ACCIDENT_LOCAL_ROLLOUT


# ==============================================================================================
# Fake insurer exchange (模拟保险信息平台, issue 14 / O7): a real subprocess shared by the session.
#
#   insurer_service              per test: exchange reset, settings.INSURER_* pointed at it; yields
#                                an InsurerServiceHandle (.set_policy() .set_uninsured() .set_tax()
#                                .configure() .timeout() .outage() .requests() .client())
#   fake_insurer_service_server  the session's insurer process (FakeInsurerServiceProcess)
#
# Without seeding, a VIN is insured for months ahead with its tax paid, except VINs ending in
# "0" (no policy) and in "9" (tax unpaid); see jiaoguan.integrations.fake_insurer_service.
# ==============================================================================================


class FakeInsurerServiceProcess(FakeServiceProcess):
    """The fake insurer exchange (``fake_insurer_service``)."""

    module, label = "fake_insurer_service", "insurer"

    def __init__(self, workdir, *, key: str, client_id: str) -> None:
        self.client_id = client_id
        super().__init__(workdir, key=key, account_id=client_id)

    def make_control(self, url: str, account_id: str, key: str):
        from jiaoguan.integrations.fake_insurer_service import InsurerControl

        return InsurerControl(base_url=url, client_id=account_id, key=key)


@pytest.fixture(scope="session")
def fake_insurer_service_server(tmp_path_factory):
    import secrets

    process = FakeInsurerServiceProcess(
        tmp_path_factory.mktemp("fake-insurer-service"), key=secrets.token_hex(32), client_id="test-client"
    )
    yield process
    process.stop()


class InsurerServiceHandle:
    """One test's view of the session's fake insurer exchange."""

    def __init__(self, server: FakeInsurerServiceProcess) -> None:
        self.server = server
        self.url = server.url
        self.client_id = server.client_id
        self.key = server.key
        self.control = server.control

    def set_policy(
        self, vin: str, *, start: date, end: date, insurer_name: str = "中国人民财产保险股份有限公司驻马店市分公司",
        policy_number: str = "PDZA202641170000000001", tax_paid_years=None,
    ):  # fmt: skip
        """Seed one compulsory insurance policy (start to end, both days covered) for the VIN;
        tax_paid_years None means the tax is paid every year."""
        from jiaoguan.integrations.insurer import Policy

        policy = Policy(policy_number=policy_number, insurer_name=insurer_name, start=start, end=end)
        return self.control.set_vehicle(vin, policies=[policy], tax_paid_years=tax_paid_years)

    def set_uninsured(self, vin: str, *, tax_paid_years=None):
        """Seed a VIN the insurers have no policy for."""
        return self.control.set_vehicle(vin, policies=[], tax_paid_years=tax_paid_years)

    def set_tax(self, vin: str, *, paid_years, policies=None):
        """Seed the years a VIN's tax is paid ([] for never), with its policies (Policy objects;
        None keeps one policy covering today plus and minus a year)."""
        from django.utils import timezone

        from jiaoguan.integrations.insurer import Policy

        if policies is None:
            today = timezone.localdate()
            policies = [
                Policy("PDZA202641170000000002", "中国人民财产保险股份有限公司驻马店市分公司",
                       today - timedelta(days=365), today + timedelta(days=365))
            ]  # fmt: skip
        return self.control.set_vehicle(vin, policies=policies, tax_paid_years=list(paid_years))

    def configure(self, **behaviour):
        """Change misbehaviour (latency_ms, error_rate, timeout_rate, timeout_sleep_ms,
        duplicate_rate, bad_signature_rate, seed)."""
        return self.control.configure(**behaviour)

    def timeout(self):
        """Every answer arrives after the client stopped waiting."""
        return self.configure(timeout_rate=1.0, timeout_sleep_ms=2500)

    def outage(self):
        """Every check answers 503."""
        return self.configure(error_rate=1.0)

    def requests(self) -> list[dict]:
        """Status requests received: vin, on, status, fault."""
        return self.control.requests()

    def client(self):
        """The platform's own adapter, built from the settings this fixture set."""
        from jiaoguan.integrations.insurer import get_insurer_service

        return get_insurer_service()


@pytest.fixture
def insurer_service(settings, fake_insurer_service_server):
    """The fake insurer exchange, reset, with settings.INSURER_* pointing at it."""
    server = fake_insurer_service_server
    server.check_alive()
    server.control.reset()
    settings.INSURER_URL = server.url
    settings.INSURER_CLIENT_ID = server.client_id
    settings.INSURER_KEY = server.key
    settings.INSURER_TIMEOUT_SECONDS = 1.0
    settings.INSURER_RETRIES = 1
    yield InsurerServiceHandle(server)
    if server.process.poll() is None:
        server.control.reset()


# ==============================================================================================
# Fake bank interconnection (模拟银行, issue 14 mortgages, O6): a real subprocess shared by the
# test session, like the postal service's.
#
#   bank_service               per test: service reset, settings.BANK_* pointed at it; yields a
#                              BankServiceHandle (.url .configure() .put_contract() .checks() .client())
#   fake_bank_service_server   the session's bank process (FakeBankServiceProcess)
# ==============================================================================================


class FakeBankServiceProcess(FakeServiceProcess):
    """The fake bank interconnection (``fake_bank_service``)."""

    module, label = "fake_bank_service", "bank"

    def __init__(self, workdir, *, key: str, client_id: str, extra_args: tuple[str, ...] = ()) -> None:
        self.client_id = client_id
        super().__init__(workdir, key=key, account_id=client_id, extra_args=extra_args)

    def make_control(self, url: str, account_id: str, key: str):
        from jiaoguan.integrations.fake_bank_service import BankControl

        return BankControl(base_url=url, client_id=account_id, key=key)


@pytest.fixture(scope="session")
def fake_bank_service_server(tmp_path_factory):
    import secrets

    process = FakeBankServiceProcess(
        tmp_path_factory.mktemp("fake-bank-service"), key=secrets.token_hex(32), client_id="test-client"
    )
    yield process
    process.stop()


class BankServiceHandle:
    """One test's view of the session's fake bank."""

    def __init__(self, server: FakeBankServiceProcess) -> None:
        self.server = server
        self.url = server.url
        self.client_id = server.client_id
        self.key = server.key
        self.control = server.control

    def configure(self, **behaviour):
        """Change misbehaviour (latency_ms, error_rate, timeout_rate, timeout_sleep_ms, duplicate_rate, seed)."""
        return self.control.configure(**behaviour)

    def put_contract(self, **contract):
        """Add or replace a loan contract (bank_uscc, contract_number, vin, borrower_id_number,
        principal_fen, state active|settled)."""
        return self.control.put_contract(**contract)

    def checks(self) -> list[dict]:
        """The checks answered so far: check_id, confirmed, repeat, at."""
        return self.control.checks()

    def client(self):
        """The platform's own adapter, built from the settings this fixture set."""
        from jiaoguan.integrations.bank import get_bank_service

        return get_bank_service()


@pytest.fixture
def bank_service(settings, fake_bank_service_server):
    """The fake bank, reset, with settings.BANK_* pointing at it."""
    server = fake_bank_service_server
    server.check_alive()
    server.control.reset()
    settings.BANK_URL = server.url
    settings.BANK_CLIENT_ID = server.client_id
    settings.BANK_KEY = server.key
    settings.BANK_TIMEOUT_SECONDS = 1.0
    settings.BANK_RETRIES = 2
    yield BankServiceHandle(server)
    if server.process.poll() is None:
        server.control.reset()


# ---------------------------------------------------------------- password hashing in tests


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """Passwords are hashed with MD5 in tests: Argon2 costs about a tenth of a second per login made
    or checked, which the suite pays thousands of times. The installation's own hashers stay
    listed after it, so a stored Argon2 hash still verifies; a test of the real hashing says so
    with ``@pytest.mark.real_password_hashing``."""
    if request.node.get_closest_marker("real_password_hashing") is None:
        settings.PASSWORD_HASHERS = [
            "django.contrib.auth.hashers.MD5PasswordHasher",
            *settings.PASSWORD_HASHERS,
        ]


@pytest.fixture
def exam_results(db, make_person):
    """Bookings of a driving school's learners ended on a day with passes and fails, rows straight in
    the exam tables (the figures of publications P01, P06, P07, P08, P11 and report R06):
    ``make(school, passes=, fails=, on=, subject=, examiner=)``."""
    import itertools
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.exams.models import ExamApplication, ExamCentre, ExamPlan, ExamResult, LearnerPermit
    from jiaoguan.registry.models import Organisation

    n = itertools.count(1)
    centre: list[ExamCentre] = []

    def make(school, *, passes: int, fails: int, on: date, subject: int = 2, examiner: str = "K001"):
        if not centre:
            organisation = Organisation.objects.create(
                uscc=make_uscc("12411700MB0000017"), name="驻马店市机动车驾驶人考试中心", kind="exam_centre",
                division="411702",
            )  # fmt: skip
            centre.append(ExamCentre.objects.create(
                organisation=organisation, division="411702", address="驿城区雪松大道18号", subjects=",1,2,3,4,",
                vehicle_classes=",C1,",
            ))  # fmt: skip
        moment = timezone.make_aware(datetime.combine(on - timedelta(days=10), time(9, 0)))
        plan = ExamPlan.objects.create(
            centre=centre[0], division="411702", subject=subject, vehicle_class="C1", exam_date=on, starts_at=time(8, 30),
            places=passes + fails, taken=passes + fails, window_opens_at=moment, window_closes_at=moment + timedelta(days=1),
            cancel_until=moment + timedelta(days=5), state="finished",
        )  # fmt: skip
        for i in range(passes + fails):
            k = next(n)
            person = make_person(name=f"学员{k}")
            permit = LearnerPermit.objects.create(
                number=f"XJR{k:010d}", person=person, school=school, vehicle_class="C1", kind="first",
                division=school.division, test_division="411702", enrolled_on=on - timedelta(days=90),
                issued_on=on - timedelta(days=60), valid_until=on + timedelta(days=1000), state="learning",
            )  # fmt: skip
            passed = i < passes
            application = ExamApplication.objects.create(
                number=f"KSR{k:010d}", plan=plan, permit=permit, person=person, subject=subject,
                state="passed" if passed else "failed", ended_on=on,
            )  # fmt: skip
            ExamResult.objects.create(
                application=application, attempt=1, outcome="passed" if passed else "failed",
                score=90 if passed else 60, examiner=examiner, taken_on=on,
            )  # fmt: skip
        return plan

    return make


@pytest.fixture
def offline_business(monkeypatch):
    """A business of the seed's list that is not online here (issue 11, item 2). Issue 17 put B19,
    the last of the "next-step" ones, online; the pages and answers for a business nobody can do
    online are still checked with B19 announced as not live yet."""
    import dataclasses

    from jiaoguan.accounts import rules, views

    monkeypatch.setitem(
        rules.BUSINESSES, "B19", dataclasses.replace(rules.BUSINESSES["B19"], online_now=False)
    )
    monkeypatch.setattr(views, "_GRID_HTML", {})
    return "B19"


# ==============================================================================================
# Fake record systems (模拟核查服务, issue 18: U6, O4, O3): one real subprocess shared by the test
# session plays real-person authentication, the exit and entry records and the military licence
# registry. Each per-test fixture resets its system, points the settings at the process and
# yields that system's RecordsControl:
#
#   real_person_service       .person(id, "pass"|"fail"|None)
#   exit_entry_service        .travel(id, [Movement(...)])
#   military_licence_service  .licence(MilitaryLicence(...))
#   each also                 .behaviour(unavailable=..., latency_ms=...) .configure(error_rate=...,
#                             timeout_rate=..., duplicate_rate=..., bad_signature_rate=...)
#                             .requests() .reset()
# ==============================================================================================


class FakeRecordsServiceProcess(FakeServiceProcess):
    """The fake record systems (``fake_records_service``)."""

    module, label = "fake_records_service", "records"

    def __init__(self, workdir, *, key: str, client_id: str) -> None:
        self.client_id = client_id
        super().__init__(workdir, key=key, account_id=client_id)

    def make_control(self, url: str, account_id: str, key: str):
        from jiaoguan.integrations.fake_records_service import RecordsControl

        return RecordsControl(base_url=url, client_id=account_id, key=key, system="real-person")

    def system(self, name: str):
        from jiaoguan.integrations.fake_records_service import RecordsControl

        return RecordsControl(base_url=self.url, client_id=self.client_id, key=self.key, system=name)


@pytest.fixture(scope="session")
def fake_records_service_server(tmp_path_factory):
    import secrets

    process = FakeRecordsServiceProcess(
        tmp_path_factory.mktemp("fake-records-service"), key=secrets.token_hex(32), client_id="test-client"
    )
    yield process
    process.stop()


def _records_system(settings, server, name: str, prefix: str):
    server.check_alive()
    control = server.system(name)
    control.reset()
    setattr(settings, f"{prefix}_URL", server.url)
    setattr(settings, f"{prefix}_CLIENT_ID", server.client_id)
    setattr(settings, f"{prefix}_KEY", server.key)
    settings.RECORDS_TIMEOUT_SECONDS = 1.0
    settings.RECORDS_RETRIES = 1
    return control


@pytest.fixture
def real_person_service(settings, fake_records_service_server):
    control = _records_system(settings, fake_records_service_server, "real-person", "REAL_PERSON")
    yield control
    if fake_records_service_server.process.poll() is None:
        control.reset()


@pytest.fixture
def exit_entry_service(settings, fake_records_service_server):
    control = _records_system(settings, fake_records_service_server, "exit-entry", "EXIT_ENTRY")
    yield control
    if fake_records_service_server.process.poll() is None:
        control.reset()


@pytest.fixture
def military_licence_service(settings, fake_records_service_server):
    control = _records_system(settings, fake_records_service_server, "military", "MILITARY_LICENCE")
    yield control
    if fake_records_service_server.process.poll() is None:
        control.reset()
