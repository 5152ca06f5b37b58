from django.urls import path

from . import views

app_name = "truck_passes"

urlpatterns = [
    path("truck-rules/", views.truck_rules, name="rules"),
    path("truck-passes/", views.mine, name="mine"),
    path("truck-passes/application", views.apply, name="apply"),
    path("truck-passes/cancellation", views.cancel, name="cancel"),
    path("truck-passes/<int:pass_id>/print", views.print_pass, name="print"),
    path("counter/truck-rules/", views.counter_rules, name="counter_rules"),
    path("counter/truck-rules/state", views.counter_rule_state, name="counter_rule_state"),
    path("counter/truck-passes/", views.counter_check, name="counter_check"),
]
