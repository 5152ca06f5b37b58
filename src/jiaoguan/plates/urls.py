from django.urls import path

from . import views

app_name = "plates"
urlpatterns: list = [
    # buyers (B19, P1-P5)
    # dealers (P2)
    # public draw log and seeds
    # counter: pools, registration, monitoring
    path("counter/plates/pools/", views.counter_pools, name="counter_pools"),
    path("counter/plates/pools/<int:pool_id>/", views.counter_pool, name="counter_pool"),
    path("counter/plates/registrations/", views.counter_registrations, name="counter_registrations"),
    path("counter/plates/monitoring/", views.counter_monitoring, name="counter_monitoring"),
]
