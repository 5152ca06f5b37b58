from django.urls import path, re_path

from . import views

app_name = "reports"
urlpatterns = [
    # organisations: the reports sent to them (N2)
    path("org/reports/", views.org_runs, name="org_runs"),
    re_path(r"^org/reports/(?P<run_id>[0-9]+)\.(?P<kind>csv|pdf)$", views.org_run_file, name="org_run_file"),
    # counter: what was sent when to whom, and "generate now"
    path("counter/reports/", views.counter_runs, name="counter_runs"),
    path("counter/reports/generate", views.counter_generate, name="counter_generate"),
    re_path(
        r"^counter/reports/(?P<run_id>[0-9]+)\.(?P<kind>csv|pdf)$",
        views.counter_run_file,
        name="counter_run_file",
    ),
]
