"""Site routes: citizen pages, counter pages, back office, demo inbox, JSON API."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from .api import api
from .applications.callbacks import postal_tracking_callback
from .core.metrics import metrics_view

urlpatterns = [
    # First: the API answers most requests, and Django tries the patterns in order.
    path("api/v1/", api.urls),
    path("callbacks/postal/tracking", postal_tracking_callback, name="postal_tracking_callback"),
    path("", include("jiaoguan.accounts.urls")),
    path("", include("jiaoguan.registry.urls")),
    path("", include("jiaoguan.credentials.urls")),
    path("", include("jiaoguan.accidents.urls")),
    path("", include("jiaoguan.violations.urls")),
    path("", include("jiaoguan.payments.urls")),
    path("", include("jiaoguan.applications.urls")),
    path("", include("jiaoguan.inspections.urls")),
    path("", include("jiaoguan.exams.urls")),  # driving tests (B22, B23, X1-X7)
    path("", include("jiaoguan.plates.urls")),  # plate pre-selection (B19, P1-P5)
    path("", include("jiaoguan.delegations.urls")),  # acting for others (issue 18, O2-O5, U6, U7)
    path("", include("jiaoguan.military_exchange.urls")),  # military licence exchange (O3)
    path("", include("jiaoguan.overseas_relief.urls")),  # licences cancelled while abroad (issue 18, O4)
    path("", include("jiaoguan.transfers.urls")),  # cross-region used-car transfer (issue 19, T1-T5)
    path("", include("jiaoguan.truck_passes.urls")),  # truck pass codes (issue 19, O1, O1a)
    path("", include("jiaoguan.parking.urls")),  # old-neighbourhood parking (issue 19, O8)
    path("", include("jiaoguan.points_study.urls")),  # study to reduce points (issue 19, V7)
    path("", include("jiaoguan.insurance.urls")),
    path("", include("jiaoguan.notices.urls")),
    path("", include("jiaoguan.announcements.urls")),  # announcements and publications (N3)
    path("", include("jiaoguan.reports.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
]

if settings.DEMO_MODE:
    urlpatterns.append(path("demo/", include("jiaoguan.integrations.urls")))

admin.site.site_header = "交管互联网服务平台 · 后台 Back office"
admin.site.site_title = "交管后台"
admin.site.index_title = "业务数据 Records"
