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
    # ------------------------------------------------------------ filed vehicles (U7)
    # ------------------------------------------------------------ counter (O5 checks)
    path("counter/entrustments/", views.counter_entrustments, name="counter_entrustments"),
]
