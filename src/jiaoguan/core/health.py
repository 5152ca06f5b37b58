"""Readiness (就绪检查): whether this process may be sent traffic.

Liveness stays ``/api/v1/health`` (the process answers and reaches its database). Readiness
also fails while the code expects migrations the database has not had, or while Redis (cache,
sessions) is unreachable: a load balancer keeps such a process out of rotation instead of
letting every citizen see a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

# Once every migration this code knows is applied it stays applied for the life of the process
# (a rollback ships older code), so the plan is computed until it is first found empty.
_migrations_seen_applied = False


@dataclass(frozen=True)
class Readiness:
    database: str  # "ok" | "unreachable"
    migrations: str  # "ok" | "pending" | "unknown"
    redis: str  # "ok" | "unreachable" | "not_configured"

    @property
    def ready(self) -> bool:
        return self.database == "ok" and self.migrations == "ok" and self.redis in {"ok", "not_configured"}


def pending_migrations() -> list[str]:
    """The migrations this code has that the database has not applied, as app.name."""
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    return [f"{migration.app_label}.{migration.name}" for migration, _ in executor.migration_plan(targets)]


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "unreachable"
    return "ok"


def _migration_state() -> str:
    global _migrations_seen_applied
    if _migrations_seen_applied:
        return "ok"
    try:
        pending = pending_migrations()
    except DatabaseError:
        return "unknown"
    if pending:
        return "pending"
    _migrations_seen_applied = True
    return "ok"


def _redis_state() -> str:
    if not settings.REDIS_URL:
        return "not_configured"
    from django_redis import get_redis_connection

    try:
        get_redis_connection("default").ping()
    except Exception:  # any client error (refused, timeout, auth) means not ready
        return "unreachable"
    return "ok"


def readiness() -> Readiness:
    database = _database_state()
    return Readiness(
        database=database,
        migrations=_migration_state() if database == "ok" else "unknown",
        redis=_redis_state(),
    )
