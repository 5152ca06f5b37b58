from django.urls import path

from . import views

app_name = "inspections"
urlpatterns = [
    # owners (B4, issue 14)
    path("inspections/", views.my_bookings, name="mine"),
    path("inspections/book/<int:vehicle_id>/", views.book, name="book"),
    path("inspections/bookings/<int:booking_id>/cancel/", views.cancel, name="cancel"),
    # a station's own staff
    path("inspections/station/", views.station_today, name="station_today"),
    # counter
    path("counter/inspections/stations/", views.counter_stations, name="counter_stations"),
    path("counter/inspections/stations/<int:station_id>/", views.counter_station, name="counter_station"),
]
