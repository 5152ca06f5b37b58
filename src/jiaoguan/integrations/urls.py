from django.urls import path

from . import views

app_name = "integrations"
urlpatterns = [
    path("sms/", views.sms_inbox, name="sms_inbox"),
]
