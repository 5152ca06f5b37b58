from django.urls import path

from . import views

app_name = "military_exchange"

urlpatterns = [
    path("military-exchange/", views.mine, name="mine"),
    path("counter/military-exchanges/", views.counter, name="counter"),
    path("counter/military-exchanges/accept", views.counter_accept, name="counter_accept"),
    path("counter/military-exchanges/reject", views.counter_reject, name="counter_reject"),
    path("counter/military-exchanges/suspects/", views.counter_suspects, name="counter_suspects"),
    path("counter/military-exchanges/suspects/clear", views.suspect_clear, name="suspect_clear"),
    path("counter/military-exchanges/suspects/reject", views.suspect_reject, name="suspect_reject"),
]
