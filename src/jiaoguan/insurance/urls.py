from django.urls import path

from . import views

app_name = "insurance"
urlpatterns = [
    # counter: the weekly feedback list of failed insurance checks (O7)
    path("counter/insurance/feedback/", views.feedback, name="feedback"),
]
