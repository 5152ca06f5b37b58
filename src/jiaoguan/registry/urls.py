from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("vehicles/", views.vehicle_list, name="vehicles"),
    path("vehicles/<int:vehicle_id>/", views.vehicle_detail, name="vehicle"),
    path("licences/", views.licence_list, name="licences"),
]
