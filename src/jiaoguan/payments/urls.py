from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    # the payer's browser comes back here from the gateway's pay page
    path("payments/return/", views.payment_return, name="return"),
    # counter: daily reconciliation against the gateway's statement
    path("counter/payments/reconciliation/", views.reconciliation, name="reconciliation"),
]
