from django.urls import path

from . import views

app_name = "parking"
urlpatterns = [
    # everyone (O8)
    path("parking/", views.index, name="index"),
    path("parking/<int:segment_id>/", views.detail, name="detail"),
    # counter: staff of the district draft, publish, change and withdraw
    path("counter/parking/", views.counter, name="counter"),
    path("counter/parking/new/", views.counter_new, name="counter_new"),
    path("counter/parking/<int:segment_id>/", views.counter_segment, name="counter_segment"),
    path("counter/parking/<int:segment_id>/decision", views.counter_decide, name="decide"),
]
