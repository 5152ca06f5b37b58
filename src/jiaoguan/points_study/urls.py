from django.urls import path

from . import views

app_name = "points_study"
urlpatterns = [
    # drivers (V7)
    path("points-study/", views.home, name="home"),
    path("points-study/full-score/day", views.full_score_day, name="full_score_day"),
    path("points-study/sessions/<int:session_id>/book", views.book, name="book"),
    path("points-study/<slug:code>/", views.course, name="course"),
    path("points-study/<slug:code>/start", views.course_start, name="start"),
    path("points-study/<slug:code>/submit", views.course_submit, name="submit"),
    # study centres
    path("counter/points-study/", views.counter, name="counter"),
    path("counter/points-study/bookings/<int:booking_id>/result", views.counter_record, name="record"),
    path(
        "counter/points-study/full-score/<int:case_id>/day",
        views.counter_full_score_day,
        name="full_score_record",
    ),
]
