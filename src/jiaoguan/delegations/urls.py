from django.urls import path

from . import views

app_name = "delegations"

urlpatterns = [
    # ------------------------------------------------------------ the principal's page
    path("me/delegations/", views.mine, name="mine"),
    path("me/delegations/revocation", views.revoke, name="revoke"),
    # ------------------------------------------------------------ online entrustment (O5)
    # ------------------------------------------------------------ elderly proxy (O2, U6)
    # ------------------------------------------------------------ filed vehicles (U7)
    # ------------------------------------------------------------ counter (O5 checks)
]
