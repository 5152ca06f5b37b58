from django.urls import path

from . import views

app_name = "transfers"
urlpatterns = [
    # buyers at the destination (T2)
    path("transfers/", views.mine, name="mine"),
    path("transfers/apply/", views.apply, name="apply"),
    # counter: inspect and register, problems, archive return (T2-T4)
    path("counter/transfers/", views.counter, name="counter"),
    path("counter/transfers/<int:transfer_id>/", views.counter_transfer, name="counter_transfer"),
    path("counter/transfers/<int:transfer_id>/inspect", views.counter_inspect, name="inspect"),
    path("counter/transfers/<int:transfer_id>/register", views.counter_register, name="register"),
    path("counter/transfers/<int:transfer_id>/return", views.counter_return, name="return"),
    path("counter/transfers/out/<int:release_id>/", views.counter_release, name="counter_release"),
    path("counter/transfers/problems", views.counter_problem, name="problem"),
    path("counter/transfers/problems/<int:problem_id>/answer", views.counter_answer, name="answer"),
    path("counter/transfer-anomalies/", views.anomalies, name="anomalies"),
]
