"""The JSON API at /api/v1/: one NinjaAPI mounting each app's router."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest
from ninja import NinjaAPI, Schema

from jiaoguan.accidents.api import router as accidents_router
from jiaoguan.accounts.api import router as accounts_router
from jiaoguan.announcements.api import router as announcements_router
from jiaoguan.applications.api import router as applications_router
from jiaoguan.core.api import install_error_handlers
from jiaoguan.core.health import readiness
from jiaoguan.credentials.api import router as credentials_router
from jiaoguan.delegations.api import router as delegations_router
from jiaoguan.exams.api import router as exams_router
from jiaoguan.inspections.api import router as inspections_router
from jiaoguan.insurance.api import router as insurance_router
from jiaoguan.military_exchange.api import router as military_exchange_router
from jiaoguan.notices.api import router as notices_router
from jiaoguan.overseas_relief.api import router as overseas_relief_router
from jiaoguan.parking.api import router as parking_router
from jiaoguan.payments.api import router as payments_router
from jiaoguan.plates.api import router as plates_router
from jiaoguan.points_study.api import router as points_study_router
from jiaoguan.registry.api import router as registry_router
from jiaoguan.registry.mortgage_api import router as mortgages_router
from jiaoguan.reports.api import router as reports_router
from jiaoguan.transfers.api import router as transfers_router
from jiaoguan.truck_passes.api import router as truck_passes_router
from jiaoguan.violations.api import router as violations_router
from jiaoguan.violations.batch_api import router as violation_batches_router

api = NinjaAPI(
    title="jiaoguan API",
    version="1",
    description="交管互联网服务平台 JSON API. Errors are {code, message, detail}.",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)


class HealthOut(Schema):
    status: str
    database: str


@api.get("/health", response=HealthOut, tags=["platform"], auth=None)
def health(request: HttpRequest) -> HealthOut:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HealthOut(status="ok", database=connection.vendor)


class ReadyOut(Schema):
    status: str
    database: str
    migrations: str
    redis: str


@api.get("/ready", response={200: ReadyOut, 503: ReadyOut}, tags=["platform"], auth=None)
def ready(request: HttpRequest) -> tuple[int, ReadyOut]:
    """Readiness: 503 while migrations are pending or the database or Redis is unreachable."""
    state = readiness()
    body = ReadyOut(
        status="ready" if state.ready else "not_ready",
        database=state.database,
        migrations=state.migrations,
        redis=state.redis,
    )
    return (200 if state.ready else 503), body


api.add_router("/", accounts_router)
api.add_router("/", registry_router)
api.add_router("/", credentials_router)
api.add_router("/", accidents_router)
api.add_router("/", violations_router)
api.add_router("/", violation_batches_router)
api.add_router("/", payments_router)
api.add_router("/", applications_router)
api.add_router("/", inspections_router)
api.add_router("/", exams_router)
api.add_router("/", plates_router)  # plate pre-selection and its public draws (issue 17)
api.add_router("/", delegations_router)  # entrustments, elderly proxies, filed vehicles (issue 18)
api.add_router("/", military_exchange_router)  # military licence exchange (issue 18, O3)
api.add_router("/", overseas_relief_router)  # overseas relief (issue 18, O4)
api.add_router("/", transfers_router)  # cross-region transfer, buyer's side and inter-DMV (issue 19, T1-T5)
api.add_router("/", truck_passes_router)  # truck pass codes (issue 19, O1)
api.add_router("/", parking_router)  # old-neighbourhood parking segments (issue 19, O8)
api.add_router("/", points_study_router)  # study to reduce points (issue 19, V7)
api.add_router("/", insurance_router)
api.add_router("/", notices_router)
api.add_router("/", mortgages_router)  # banks file and release mortgages with e-seals (issue 14, O6)
api.add_router("/", announcements_router)  # announcements and publications, open data (N3)
api.add_router("/", reports_router)  # reports to authorities and companies (issue 15, N2)
