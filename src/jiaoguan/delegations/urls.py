from django.urls import path

from . import views

app_name = "delegations"

urlpatterns = [
    # ------------------------------------------------------------ the principal's page
    path("me/delegations/", views.mine, name="mine"),
    path("me/delegations/revocation", views.revoke, name="revoke"),
    # ------------------------------------------------------------ online entrustment (O5)
    path("me/entrustments/", views.entrustments, name="entrustments"),
    path("me/entrustments/revocation", views.entrustment_revoke, name="entrustment_revoke"),
    path("me/entrustments/<int:entrustment_id>/print", views.entrustment_print, name="entrustment_print"),
    # ------------------------------------------------------------ elderly proxy (O2, U6)
    path("me/elder-proxy/", views.proxies, name="proxies"),
    path("me/elder-proxy/<int:proxy_id>/", views.proxy, name="proxy"),
    path(
        "me/elder-proxy/<int:proxy_id>/authentication",
        views.proxy_authentication,
        name="proxy_authentication",
    ),
    path("me/elder-proxy/<int:proxy_id>/application", views.proxy_application, name="proxy_application"),
    path("counter/elder-proxies/", views.counter_proxies, name="counter_proxies"),
    # ------------------------------------------------------------ filed vehicles (U7)
    path("me/filings/", views.filings, name="filings"),
    path("me/filings/request", views.filing_request, name="filing_request"),
    path("me/filings/code", views.filing_code, name="filing_code"),
    path("me/filings/consent", views.filing_consent, name="filing_consent"),
    path("me/filings/withdrawal", views.filing_withdraw, name="filing_withdraw"),
    # ------------------------------------------------------------ counter (O5 checks)
    path("counter/entrustments/", views.counter_entrustments, name="counter_entrustments"),
]
