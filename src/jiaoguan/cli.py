"""The ``jiaoguan`` command.

jiaoguan up [--port N] [--host H] [--data-dir DIR]   migrate, load demo data, serve (the demo)
jiaoguan serve [--bind H:P] [--workers N]            production web server (PostgreSQL, Redis)
jiaoguan worker                                      production background worker and schedule
jiaoguan demo --persons N --seed S                   add deterministic demo data
jiaoguan test [pytest args]                          run the test suite
jiaoguan dispatch_outbox                             retry unsent notifications
jiaoguan import-violations FILE                      import camera records (JSON lines or CSV)
jiaoguan reconcile-payments [--day YYYY-MM-DD]       reconcile fine payments with the gateway
jiaoguan check-data                                  list stored rows today's validators refuse
jiaoguan purge [--dry-run]                           purge short-lived tables past retention (daily in the worker)
jiaoguan verify-allocation FILE_OR_URL [--commitment HEX]  recompute an exam plan's published allocation (X4)
jiaoguan verify-draws DATE|FILE|URL [--commitment HEX]  replay a day of plate draws (issue 17)
jiaoguan staff add NAME --role R --jurisdiction C    a staff login (the first administrator)
jiaoguan <manage.py command> ...                     any Django management command
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent.parent


# The demo detachment's own opening dates of the online accident services (not from the seeds).
DEMO_ACCIDENT_LOCAL_ROLLOUT = "online_query=2020-06-01,evidence_review=2021-07-01"


def _django(data_dir: str | None = None, *, demo: bool | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")
    if data_dir:
        os.environ["JIAOGUAN_DATA_DIR"] = str(Path(data_dir).resolve())
    if demo is not None:
        os.environ.setdefault("JIAOGUAN_DEMO", "1" if demo else "0")
    import django

    django.setup()


def _demo_password(data_dir: Path) -> str:
    """One password for every demo login of this installation, kept in its data folder."""
    path = data_dir / "demo_password"
    if not path.exists():
        from jiaoguan.demo.generate import demo_password  # the same logins on every fresh set-up

        path.write_text(demo_password(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


RECONCILE_EVERY_SECONDS = 600


def _outbox_loop(stop: threading.Event) -> None:
    """Retry the outbox every 5 s and reconcile payments with the gateway every 10 minutes.

    The demo only: a deployment runs ``jiaoguan worker`` instead (jiaoguan.worker), which does
    this work as tasks with its own schedule; the daily statement of the previous day is
    reconciled and the short-lived tables are purged after midnight in both.
    """
    import time

    from django.db import close_old_connections
    from django.utils import timezone

    from jiaoguan.core.outbox import outbox_dispatch
    from jiaoguan.core.purges import run_purges
    from jiaoguan.exams.tasks import exams_due
    from jiaoguan.notices.delivery import deliveries_send_due
    from jiaoguan.notices.scan import notices_scan
    from jiaoguan.payments.services import payments_reconcile
    from jiaoguan.plates.tasks import plates_due

    last_reconciled = time.monotonic()
    reconciled_day = timezone.localdate()
    while not stop.wait(5):
        try:
            exams_due(daily=False)  # plans whose window closed are allocated here too (issue 16, X4)
            plates_due()  # draw seeds committed and revealed, ended holds swept (issue 17)
            outbox_dispatch()
            deliveries_send_due()
            if time.monotonic() - last_reconciled >= RECONCILE_EVERY_SECONDS:
                last_reconciled = time.monotonic()
                today = timezone.localdate()
                if today != reconciled_day:
                    payments_reconcile(day=reconciled_day)
                    reconciled_day = today
                    run_purges()
                    notices_scan(today=today)  # the new day's notices (issue 15, N1)
                    exams_due(daily=True)  # missed exams and expired permits (issue 16)
                payments_reconcile(day=today)
        except Exception as exc:  # the loop must survive a locked or restarting database or gateway
            print(f"background: {exc}", file=sys.stderr)
        finally:
            close_old_connections()


def _ports_in_use(host: str, ports: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (option, port) pairs another program already listens on.

    Checked before anything starts: otherwise the demo would talk to whatever answers on
    the gateway's port, or gunicorn would fail after the data had been prepared.
    """
    busy = []
    for option, port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "") else host, port)) == 0:  # noqa: S104
                busy.append((option, port))
    return busy


def _answers(process: subprocess.Popen[bytes], port: int, *, seconds: float = 180) -> bool:
    """Whether our own process came up listening on ``port`` (False if it exited first).

    A process that cannot bind exits at once; one that is still starting is waited for, since on
    a loaded machine an interpreter importing Django can take well over ten seconds.
    """
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def up(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="jiaoguan up", description="Serve the platform with demo data.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("JIAOGUAN_PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("JIAOGUAN_HOST", "127.0.0.1"))
    parser.add_argument("--data-dir", default=os.environ.get("JIAOGUAN_DATA_DIR") or str(CHECKOUT / "var"))
    parser.add_argument("--persons", type=int, default=300, help="demo persons on first start")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--gateway-port", type=int, default=int(os.environ.get("JIAOGUAN_GATEWAY_PORT", "8090")),
        help="port of the fake payment gateway started in demo mode",
    )  # fmt: skip
    parser.add_argument(
        "--postal-port", type=int, default=int(os.environ.get("JIAOGUAN_POSTAL_PORT", "8092")),
        help="port of the fake postal service started in demo mode",
    )  # fmt: skip
    parser.add_argument(
        "--insurer-port", type=int, default=int(os.environ.get("JIAOGUAN_INSURER_PORT", "8093")),
        help="port of the fake insurer data exchange started in demo mode",
    )  # fmt: skip
    parser.add_argument(
        "--bank-port", type=int, default=int(os.environ.get("JIAOGUAN_BANK_PORT", "8094")),
        help="port of the fake bank interconnection started in demo mode (mortgages, O6)",
    )  # fmt: skip
    parser.add_argument(
        "--records-port", type=int, default=int(os.environ.get("JIAOGUAN_RECORDS_PORT", "8095")),
        help="port of the fake record systems started in demo mode (real-person authentication, "
        "exit and entry records, military licences)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    fake_gateway = "JIAOGUAN_PAYMENT_GATEWAY_URL" not in os.environ
    fake_postal = "JIAOGUAN_POSTAL_URL" not in os.environ
    fake_insurer = "JIAOGUAN_INSURER_URL" not in os.environ
    fake_bank = "JIAOGUAN_BANK_URL" not in os.environ
    fake_records = "JIAOGUAN_RECORDS_URL" not in os.environ
    busy = _ports_in_use(
        args.host,
        [
            ("--port", args.port),
            *([("--gateway-port", args.gateway_port)] if fake_gateway else []),
            *([("--postal-port", args.postal_port)] if fake_postal else []),
            *([("--insurer-port", args.insurer_port)] if fake_insurer else []),
            *([("--bank-port", args.bank_port)] if fake_bank else []),
            *([("--records-port", args.records_port)] if fake_records else []),
        ],
    )
    if busy:
        for option, port in busy:
            print(
                f"jiaoguan: port {port} is already in use by another program; choose a free one with "
                f"{option} (e.g. {option} {port + 10}).",
                file=sys.stderr,
            )
        return 2

    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # The platform's own address (payment return and notice URLs) and the demo gateway's.
    os.environ.setdefault("JIAOGUAN_PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    # Henan is in neither of the seeds' rollout lists (A9a): the Zhumadian demo opens the online
    # accident services for its own province by the documented local setting.
    os.environ.setdefault("JIAOGUAN_ACCIDENT_LOCAL_ROLLOUT", DEMO_ACCIDENT_LOCAL_ROLLOUT)
    if fake_gateway:
        os.environ["JIAOGUAN_PAYMENT_GATEWAY_URL"] = f"http://127.0.0.1:{args.gateway_port}"
    if fake_postal:
        os.environ["JIAOGUAN_POSTAL_URL"] = f"http://127.0.0.1:{args.postal_port}"
    if fake_insurer:
        os.environ["JIAOGUAN_INSURER_URL"] = f"http://127.0.0.1:{args.insurer_port}"
    if fake_bank:
        os.environ["JIAOGUAN_BANK_URL"] = f"http://127.0.0.1:{args.bank_port}"
    if fake_records:
        os.environ["JIAOGUAN_RECORDS_URL"] = f"http://127.0.0.1:{args.records_port}"
    _django(str(data_dir), demo=True)
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from jiaoguan.demo.generate import ensure_demo_logins, generate_demo
    from jiaoguan.registry.models import Person

    print(f"jiaoguan: data in {data_dir}", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    from django.core.exceptions import ImproperlyConfigured

    from jiaoguan.credentials.keys import signing_key_ready

    try:  # before anything answers: the trust list must never be empty
        print(f"jiaoguan: credential signing key {signing_key_ready().kid}", flush=True)
    except ImproperlyConfigured as error:
        print(f"jiaoguan: {error}", file=sys.stderr)
        return 1
    today = timezone.localdate()
    if not Person.objects.exists():
        print(f"jiaoguan: generating demo data ({args.persons} persons, seed {args.seed}) ...", flush=True)
        generate_demo(persons=args.persons, seed=args.seed, today=today)
    logins = ensure_demo_logins(today=today, password=_demo_password(data_dir))
    from jiaoguan.core.counters import ensure_demo_counters

    ensure_demo_counters()  # where pages send people for businesses not online yet
    from jiaoguan.violations.demo import ensure_demo_violations

    ensure_demo_violations(today=today, usernames=[row["username"] for row in logins])
    from jiaoguan.inspections.demo import ensure_demo_stations

    stations = ensure_demo_stations(today=today)  # inspection booking (issue 14, B4)
    from jiaoguan.exams.demo import ensure_demo_exams

    online = next((row["username"] for row in logins if row["role"] == "citizen_online"), "")
    # Driving tests (issue 16): centres, a school, learners, plans in each state, results.
    logins += ensure_demo_exams(today=today, password=_demo_password(data_dir), citizen_username=online)
    from jiaoguan.plates.demo import ensure_demo_plates

    # Plate pre-selection (issue 17): the 豫Q pools and two new cars of the online citizen.
    logins += ensure_demo_plates(today=today, password=_demo_password(data_dir), citizen_username=online)
    from jiaoguan.demo.acting import ensure_demo_acting

    # Issue 18: an elderly father and his daughter (O2), a veteran (O3), a driver back from abroad
    # (O4); their side of the record systems goes to the fake record service's seed file.
    logins += ensure_demo_acting(today=today, password=_demo_password(data_dir), data_dir=data_dir)
    from jiaoguan.points_study.demo import ensure_demo_points_study

    # Issue 19 (V7): a driver at 10 points, an excluded driver and one in full-score education.
    logins += ensure_demo_points_study(today=today, password=_demo_password(data_dir))
    from jiaoguan.parking.demo import ensure_demo_parking

    # Issue 19 (O8): parking segments near old neighbourhoods of Zhumadian, one withdrawn.
    logins += ensure_demo_parking(today=today, password=_demo_password(data_dir))
    from jiaoguan.transfers.demo import ensure_demo_transfers

    # Issue 19 (T1-T5): a used car from Nanjing waiting for inspection, and a busy trader.
    logins += ensure_demo_transfers(today=today, password=_demo_password(data_dir))
    from jiaoguan.truck_passes.demo import ensure_demo_truck_passes

    # Issue 19 (O1, O1a): the city's published truck rules, a truck owner, a delivery company and a
    # blacklisted one.
    logins += ensure_demo_truck_passes(today=today, password=_demo_password(data_dir))
    from jiaoguan.demo.insurance import ensure_demo_insurance

    logins += ensure_demo_insurance(today=today, password=_demo_password(data_dir))  # O7 feedback
    from jiaoguan.demo.notice_facts import ensure_demo_notice_facts

    logins += ensure_demo_notice_facts(
        today=today, password=_demo_password(data_dir)
    )  # N1-N3 facts, N2 reports
    from jiaoguan.announcements.demo import ensure_demo_announcements

    # N3; its head-of-unit login is one of the staff logins above, printed once.
    ensure_demo_announcements(today=today, password=_demo_password(data_dir))
    from jiaoguan.credentials.services import credential_status_sync, inspection_marks_bulk_issue

    issued = inspection_marks_bulk_issue(today=today)
    credential_status_sync(today=today)
    if issued:
        print(f"jiaoguan: issued {issued} electronic inspection marks", flush=True)
    from jiaoguan.notices.scan import notices_scan

    notices_scan(today=today)  # the notices of the day (issue 15, N1, N4, N5)
    bank_demo_lines: list[str] = []
    if settings.DEMO_MODE:
        from jiaoguan.demo.mortgages import ensure_demo_bank

        # A bank with its seal key (the private key under the data folder) and loan contracts the
        # fake bank confirms, so a person can sign and file a mortgage (issue 14, O6).
        bank_demo_lines = ensure_demo_bank(data_dir=data_dir, password=_demo_password(data_dir))

    url = f"http://{args.host}:{args.port}/"
    print("\n交管互联网服务平台 jiaoguan is starting at " + url)
    print(f"  back office {url}admin/   API docs {url}api/v1/docs   demo SMS inbox {url}demo/sms/")
    if fake_gateway and settings.DEMO_MODE:
        print(f"  fake payment gateway {settings.PAYMENT_GATEWAY_URL}/  (pay fines at {url}violations/)")
    if fake_postal and settings.DEMO_MODE:
        print(f"  fake postal service {settings.POSTAL_URL}/  (posts certificates, reports tracking)")
    if fake_insurer and settings.DEMO_MODE:
        print(
            f"  fake insurer exchange {settings.INSURER_URL}/  (compulsory insurance and vehicle tax;"
            " VINs ending in 0 uninsured, in 9 tax unpaid)"
        )
    if fake_bank and settings.DEMO_MODE:
        print(f"  fake bank {settings.BANK_URL}/  (confirms mortgage contracts; POST {url}api/v1/mortgages)")
        for line in bank_demo_lines:
            print(f"    {line}")
    if fake_records and settings.DEMO_MODE:
        print(
            f"  fake record systems {settings.RECORDS_URL}/  (real-person authentication, exit and entry"
            " records, military licences)"
        )
    print(
        f"  verify a credential {url}verify/   offline: jiaoguan verify FILE --keys keys.json --status status.json"
    )
    print("  demo logins (all with password " + logins[0]["password"] + "):" if logins else "")
    for row in logins:
        print(f"    {row['role']:<22} {row['username']:<20} {row['note_zh']} / {row['note_en']}")
    if stations["client_id"]:
        print(
            f"  inspection stations: {'、'.join(stations['stations'])}; results API client of the first "
            f"(POST {url}api/v1/stations/inspections, HTTP Basic): {stations['client_id']} / {stations['secret']}"
        )
    if settings.DEMO_MODE:
        free = Person.objects.filter(account__isnull=True, vehicles__isnull=False, id_type="resident_id")
        print("  demo persons you can register online as (ID number, name; SMS code in the inbox):")
        for person in free.order_by("pk").distinct()[:3]:
            print(f"    {person.id_number}  {person.name}")
    print(flush=True)

    env = dict(os.environ, JIAOGUAN_DATA_DIR=str(data_dir), JIAOGUAN_DEMO="1" if settings.DEMO_MODE else "0")
    stop = threading.Event()
    processes: list[subprocess.Popen[bytes]] = []

    def shutdown(*_: object) -> None:
        stop.set()
        for process in processes:
            if process.poll() is None:
                process.terminate()

    # Installed before the first child starts: stopped while the fakes are still starting, the
    # children must go too, never be left running on their ports without us.
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    # Sync workers: on SQLite threaded writers give 1 s+ tail latency (ARCHITECTURE, Serving).
    server = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [
            sys.executable, "-m", "gunicorn", "jiaoguan.wsgi:application",
            "--bind", f"{args.host}:{args.port}",
            "--workers", str(args.workers),
            "--timeout", "60",
            "--access-logfile", "-",
        ],
        env=env,
    )  # fmt: skip
    processes.append(server)
    # The demo's outside systems are processes of their own, as real ones would be: the payment
    # gateway, the postal service (issue 13), the insurers' exchange (O7) and the banks (O6).
    fakes = [
        (command, port, option, name)
        for command, port, option, name, wanted in (
            (
                "fake_payment_gateway",
                args.gateway_port,
                "--gateway-port",
                "fake payment gateway",
                fake_gateway,
            ),
            ("fake_postal_service", args.postal_port, "--postal-port", "fake postal service", fake_postal),
            (
                "fake_insurer_service",
                args.insurer_port,
                "--insurer-port",
                "fake insurer exchange",
                fake_insurer,
            ),
            ("fake_bank_service", args.bank_port, "--bank-port", "fake bank", fake_bank),
            (
                "fake_records_service",
                args.records_port,
                "--records-port",
                "fake record systems",
                fake_records,
            ),
        )
        if wanted and settings.DEMO_MODE
    ]
    try:
        for command, port, option, name in fakes:
            if stop.is_set():
                return 0
            extra = (
                ["--seed-file", str(data_dir / "records_seeds.json")]
                if command == "fake_records_service"
                else []
            )
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [sys.executable, "-m", "jiaoguan.cli", command, "--port", str(port), *extra], env=env
            )
            processes.append(process)
            if not _answers(process, port):
                if stop.is_set():  # stopped meanwhile: the fake was ended by us
                    return 0
                # Lost the port after the check (another program took it): never run against a stranger.
                print(
                    f"jiaoguan: the {name} could not listen on port {port}; choose a free one with {option}.",
                    file=sys.stderr,
                )
                return 2
        worker = threading.Thread(target=_outbox_loop, args=(stop,), daemon=True)
        worker.start()
        return server.wait()
    finally:
        shutdown()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


WEB_SERVERS = ("granian", "gunicorn")


def _production_setup(command: str) -> int:
    """Load Django in the production profile; 0, or the exit status after saying what is wrong."""
    os.environ["JIAOGUAN_PROFILE"] = "production"
    from django.core.exceptions import ImproperlyConfigured

    try:
        _django()
    except ImproperlyConfigured as error:
        print(f"jiaoguan {command}: {error}", file=sys.stderr)
        print(f"jiaoguan {command}: see deploy/README.md; the demo runs with `jiaoguan up`.", file=sys.stderr)
        return 2
    return 0


def _server_argv(server: str, *, host: str, port: int, workers: int, threads: int) -> list[str]:
    """The WSGI server's command line (ARCHITECTURE, Serving; measured in the issue 12 note)."""
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "jiaoguan.wsgi:application",
            "--interface", "wsgi", "--host", host, "--port", str(port),
            "--workers", str(workers), "--blocking-threads", str(threads),
            "--no-ws", "--respawn-failed-workers", "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "jiaoguan.wsgi:application",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
        "--timeout", "30", "--log-level", "warning",
    ]  # fmt: skip


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="jiaoguan serve",
        description="Serve the platform in production: PostgreSQL and Redis required, no demo data, no fakes.",
    )
    parser.add_argument(
        "--bind", default=os.environ.get("JIAOGUAN_BIND") or "127.0.0.1:8000", help="HOST:PORT"
    )
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("JIAOGUAN_WEB_WORKERS") or "0") or (os.cpu_count() or 1),
        help="server processes (default: one per core)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, default=int(os.environ.get("JIAOGUAN_WEB_THREADS") or "1"),
        help="threads per process (default 1: sync views on PostgreSQL are fastest single-threaded here)",
    )  # fmt: skip
    parser.add_argument(
        "--server", choices=WEB_SERVERS, default=os.environ.get("JIAOGUAN_WEB_SERVER") or "granian"
    )
    parser.add_argument("--migrate", action="store_true", help="apply pending migrations first")
    args = parser.parse_args(argv)
    host, _, port_text = args.bind.rpartition(":")
    if not host or not port_text.isdigit():
        print(f"jiaoguan serve: --bind must be HOST:PORT, not {args.bind!r}", file=sys.stderr)
        return 2
    if args.workers < 1 or args.threads < 1:
        print("jiaoguan serve: --workers and --threads must be at least 1", file=sys.stderr)
        return 2
    if status := _production_setup("serve"):
        return status
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import call_command

    if args.migrate:
        call_command("migrate", interactive=False, verbosity=0)
    from jiaoguan.credentials.keys import signing_key_ready

    try:  # before anything answers: the trust list must never be empty
        signing_key_ready()
    except ImproperlyConfigured as error:
        print(f"jiaoguan serve: {error}", file=sys.stderr)
        return 1
    if settings.SMS_GATEWAY == "fake":
        print(
            "jiaoguan serve: warning: JIAOGUAN_SMS_GATEWAY is 'fake'; verification codes are not sent to phones.",
            file=sys.stderr,
        )
    # Every server process writes its metrics here and /metrics sums them; stale files of an
    # earlier run would be summed too, so the folder starts empty.
    metrics_dir = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.DATA_DIR / "prometheus")
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    command = _server_argv(
        args.server, host=host, port=int(port_text), workers=args.workers, threads=args.threads
    )
    sys.stdout.flush()
    os.execv(sys.executable, command)  # noqa: S606 - our own interpreter, fixed argv; signals reach the server


def worker(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="jiaoguan worker",
        description="Run background tasks (outbox, reconciliation, status sync) and their schedule.",
    )
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")
    args = parser.parse_args(argv)
    if status := _production_setup("worker"):
        return status
    import logging
    import time

    from django.db import DatabaseError

    from jiaoguan.core.health import pending_migrations

    log = logging.getLogger("jiaoguan.worker")
    while True:  # the one-shot migrate of a deployment may still be running
        try:
            pending = pending_migrations()
        except DatabaseError as error:
            pending = [f"(database unreachable: {error})"]
        if not pending:
            break
        log.warning("waiting for migrations: %s", ", ".join(pending[:5]))
        time.sleep(5)
    from jiaoguan.worker import run_worker

    run_worker(interval=args.interval)
    return 0


def test(argv: list[str]) -> int:
    os.chdir(CHECKOUT)
    os.environ.setdefault("JIAOGUAN_DATA_DIR", str(CHECKOUT / "var" / "test"))
    return subprocess.call([sys.executable, "-m", "pytest", *argv])  # noqa: S603 - our own interpreter


def demo(argv: list[str]) -> int:
    _django()
    from django.core.management import call_command

    call_command("demo_data", *argv)
    return 0


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        sys.exit(0)
    command, rest = argv[0], argv[1:]
    if command == "up":
        sys.exit(up(rest))
    if command == "serve":
        sys.exit(serve(rest))
    if command == "worker":
        sys.exit(worker(rest))
    if command == "test":
        sys.exit(test(rest))
    if command == "demo":
        sys.exit(demo(rest))
    _django()
    from django.core.management import execute_from_command_line

    # Commands are spelled with hyphens on the command line (import-violations), underscores in Django.
    execute_from_command_line(["jiaoguan", command.replace("-", "_"), *rest])


if __name__ == "__main__":
    main()
