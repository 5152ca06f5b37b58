from django.urls import path

from . import views

app_name = "violations"
urlpatterns = [
    # citizens and organisation users: my violations (Q3), handling (B16), paying (B17)
    path("violations/", views.violation_list, name="list"),
    path("violations/<int:violation_id>/", views.violation_detail, name="detail"),
    path("violations/<int:violation_id>/handle/", views.violation_handle, name="handle"),
    path("violations/<int:violation_id>/dispute/", views.violation_dispute, name="dispute"),
    path("fines/<int:fine_id>/pay/", views.fine_pay, name="fine_pay"),
    path("fines/<int:fine_id>/decision.pdf", views.fine_decision_pdf, name="fine_decision_pdf"),
    path("fines/<int:fine_id>/receipt.pdf", views.fine_receipt_pdf, name="fine_receipt_pdf"),
    # counter
    path("counter/violations/", views.counter_search, name="counter"),
    path("counter/violations/on-site/", views.counter_on_site, name="counter_on_site"),
    path("counter/violations/<int:violation_id>/", views.counter_detail, name="counter_detail"),
    path("counter/violations/<int:violation_id>/handle/", views.counter_handle, name="counter_handle"),
    path("counter/violations/<int:violation_id>/cancel/", views.counter_cancel, name="counter_cancel"),
    path("counter/violations/<int:violation_id>/pay/", views.counter_pay, name="counter_pay"),
    path(
        "counter/violations/<int:violation_id>/paid-elsewhere/",
        views.counter_paid_elsewhere,
        name="counter_paid_elsewhere",
    ),
    path(
        "counter/violations/<int:violation_id>/orders/<str:order_number>/refresh/",
        views.counter_order_refresh,
        name="counter_order_refresh",
    ),
]
