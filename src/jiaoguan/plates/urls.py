from django.urls import path

from . import views

app_name = "plates"
urlpatterns: list = [
    # buyers (B19, P1-P5)
    # dealers (P2)
    # public draw log and seeds
    path("plate-draws/", views.public_draws_list, name="draws"),
    path("plate-draws/<str:day>/", views.public_draw_day, name="draw_day"),
    # counter: pools, registration, monitoring
]
