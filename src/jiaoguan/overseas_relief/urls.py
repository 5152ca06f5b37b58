from django.urls import path

from . import views

app_name = "overseas_relief"
urlpatterns = [
    # drivers (O4)
    path("overseas-relief/", views.mine, name="mine"),
    path("overseas-relief/apply/", views.apply, name="apply"),
    # counter: clerks accept, heads of unit approve
    path("counter/overseas-reliefs/", views.counter, name="counter"),
    path("counter/overseas-reliefs/<int:case_id>/", views.counter_case, name="counter_case"),
    path("counter/overseas-reliefs/<int:case_id>/certificate", views.counter_certificate, name="certificate"),
    path("counter/overseas-reliefs/<int:case_id>/decision", views.counter_decide, name="decide"),
]
