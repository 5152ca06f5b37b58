from django.urls import path

from . import views

app_name = "exams"
urlpatterns: list = [
    # public plans and allocation proof
    # learners (B22, B23)
    # driving schools
    # counter: centres, plans, results, learners, monitoring (X6)
    path("counter/exams/monitoring/", views.counter_monitoring, name="counter_monitoring"),
]
