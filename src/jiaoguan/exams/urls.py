from django.urls import path

from . import views

app_name = "exams"
urlpatterns: list = [
    # public plans and allocation proof
    path("exam-plans/", views.public_plans, name="plans"),
    path("exam-plans/<int:plan_id>/", views.public_plan, name="plan"),
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
    path("org/exams/applications/<int:application_id>/cancel/", views.school_cancel, name="school_cancel"),
    # counter: centres, plans, results, learners, monitoring (X6)
    path("counter/exams/centres/", views.counter_centres, name="counter_centres"),
    path("counter/exams/plans/", views.counter_plans, name="counter_plans"),
    path("counter/exams/plans/<int:plan_id>/", views.counter_plan, name="counter_plan"),
    path("counter/exams/results/", views.counter_results, name="counter_results"),
    path("counter/exams/learners/", views.counter_learners, name="counter_learners"),
    path("counter/exams/monitoring/", views.counter_monitoring, name="counter_monitoring"),
]
