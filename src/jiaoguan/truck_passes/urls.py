from django.urls import path  # noqa: F401

app_name = "truck_passes"
urlpatterns: list = []
