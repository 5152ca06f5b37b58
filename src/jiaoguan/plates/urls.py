from django.urls import path

from . import views

app_name = "plates"
urlpatterns: list = [
    # buyers (B19, P1-P5)
    path("plates/", views.mine, name="mine"),
    path("plates/start/", views.start, name="start"),
    path("plates/choose/", views.choose, name="choose"),
    path("plates/abandon/", views.abandon, name="abandon"),
    # dealers (P2)
    path("org/plates/preregistrations/", views.dealer_preregistrations, name="dealer_preregistrations"),
    path(
        "org/plates/preregistrations/<int:preregistration_id>/withdraw/",
        views.dealer_preregistration_withdraw,
        name="dealer_preregistration_withdraw",
    ),
    # public draw log and seeds
    path("plate-draws/", views.public_draws_list, name="draws"),
    path("plate-draws/<str:day>/", views.public_draw_day, name="draw_day"),
    # counter: pools, registration, monitoring
    path("counter/plates/pools/", views.counter_pools, name="counter_pools"),
    path("counter/plates/pools/<int:pool_id>/", views.counter_pool, name="counter_pool"),
    path("counter/plates/registrations/", views.counter_registrations, name="counter_registrations"),
    path("counter/plates/monitoring/", views.counter_monitoring, name="counter_monitoring"),
]
