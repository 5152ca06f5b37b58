"""The ``jiaoguan`` command.

jiaoguan up [--port N] [--host H] [--data-dir DIR]   migrate, load demo data, serve
jiaoguan demo --persons N --seed S                   add deterministic demo data
jiaoguan test [pytest args]                          run the test suite
jiaoguan dispatch_outbox                             retry unsent notifications
jiaoguan <manage.py command> ...                     any Django management command
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent.parent


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
        path.write_text("Jg-" + secrets.token_urlsafe(9), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _outbox_loop(stop: threading.Event) -> None:
    from django.db import close_old_connections

    from jiaoguan.core.outbox import outbox_dispatch

    while not stop.wait(5):
        try:
            outbox_dispatch()
        except Exception as exc:  # the loop must survive a locked or restarting database
            print(f"outbox: {exc}", file=sys.stderr)
        finally:
            close_old_connections()


def up(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="jiaoguan up", description="Serve the platform with demo data.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("JIAOGUAN_PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("JIAOGUAN_HOST", "127.0.0.1"))
    parser.add_argument("--data-dir", default=os.environ.get("JIAOGUAN_DATA_DIR") or str(CHECKOUT / "var"))
    parser.add_argument("--persons", type=int, default=300, help="demo persons on first start")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _django(str(data_dir), demo=True)
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from jiaoguan.demo import ensure_demo_logins, generate_demo
    from jiaoguan.registry.models import Person

    print(f"jiaoguan: data in {data_dir}", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    today = timezone.localdate()
    if not Person.objects.exists():
        print(f"jiaoguan: generating demo data ({args.persons} persons, seed {args.seed}) ...", flush=True)
        generate_demo(persons=args.persons, seed=args.seed, today=today)
    logins = ensure_demo_logins(today=today, password=_demo_password(data_dir))
    from jiaoguan.credentials.services import credential_status_sync, inspection_marks_bulk_issue

    issued = inspection_marks_bulk_issue(today=today)
    credential_status_sync(today=today)
    if issued:
        print(f"jiaoguan: issued {issued} electronic inspection marks", flush=True)

    url = f"http://{args.host}:{args.port}/"
    print("\n交管互联网服务平台 jiaoguan is starting at " + url)
    print(f"  back office {url}admin/   API docs {url}api/v1/docs   demo SMS inbox {url}demo/sms/")
    print(
        f"  verify a credential {url}verify/   offline: jiaoguan verify FILE --keys keys.json --status status.json"
    )
    print("  demo logins (all with password " + logins[0]["password"] + "):" if logins else "")
    for row in logins:
        print(f"    {row['role']:<22} {row['username']:<20} {row['note_zh']} / {row['note_en']}")
    if settings.DEMO_MODE:
        free = Person.objects.filter(account__isnull=True, vehicles__isnull=False, id_type="resident_id")
        print("  demo persons you can register online as (ID number, name; SMS code in the inbox):")
        for person in free.order_by("pk").distinct()[:3]:
            print(f"    {person.id_number}  {person.name}")
    print(flush=True)

    env = dict(os.environ, JIAOGUAN_DATA_DIR=str(data_dir), JIAOGUAN_DEMO="1" if settings.DEMO_MODE else "0")
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
    stop = threading.Event()
    worker = threading.Thread(target=_outbox_loop, args=(stop,), daemon=True)
    worker.start()

    def shutdown(*_: object) -> None:
        stop.set()
        if server.poll() is None:
            server.terminate()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        return server.wait()
    finally:
        shutdown()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


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
    if command == "test":
        sys.exit(test(rest))
    if command == "demo":
        sys.exit(demo(rest))
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["jiaoguan", command, *rest])


if __name__ == "__main__":
    main()
