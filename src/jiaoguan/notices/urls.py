from django.urls import path

from . import views

app_name = "notices"
urlpatterns = [
    path("messages/", views.message_list, name="messages"),
    path("messages/<int:message_id>/open/", views.message_open, name="message_open"),
    path("messages/read-all/", views.messages_read_all, name="read_all"),
    path("messages/preferences/", views.preferences, name="preferences"),
    path("messages/calendar/", views.calendar_page, name="calendar"),
    path("feeds/calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("safety/", views.education_list, name="education"),
    path("safety/<slug:slug>/", views.education_topic, name="education_topic"),
    path("counter/notices/deliveries/", views.counter_deliveries, name="counter_deliveries"),
]
