from django.urls import path  # noqa: F401

app_name = "points_study"
urlpatterns: list = []
