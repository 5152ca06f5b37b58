from django.urls import path

from . import views

app_name = "exams"
urlpatterns: list = [
    # public plans and allocation proof
    # learners (B22, B23)
    path("exams/", views.my_exams, name="mine"),
    path("exams/permits/<int:permit_id>/subjects/<int:subject>/", views.plans_for, name="plans_for"),
    path("exams/apply/", views.apply, name="apply"),
    path("exams/applications/<int:application_id>/cancel/", views.cancel, name="cancel"),
    path("exams/permits/<int:permit_id>/consent/", views.consent, name="consent"),
    path("exams/permits/<int:permit_id>/location/", views.location, name="location"),
    # driving schools
    path("org/exams/", views.school, name="school"),
    path("org/exams/apply/", views.school_apply, name="school_apply"),
    # counter: centres, plans, results, learners, monitoring (X6)
]
