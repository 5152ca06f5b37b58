from django.urls import path

from . import views

app_name = "applications"
urlpatterns = [
    # citizens and organisation users (issue 13)
    path("applications/", views.my_list, name="list"),
    path("applications/businesses/<str:code>/", views.business, name="business"),
    path("applications/<int:application_id>/", views.detail, name="detail"),
    path("applications/<int:application_id>/withdraw/", views.withdraw, name="withdraw"),
    path("applications/<int:application_id>/supplement/", views.supplement, name="supplement"),
    path("applications/<int:application_id>/pay/", views.pay, name="pay"),
    # counter
    path("counter/applications/", views.counter_queue, name="counter"),
    path("counter/applications/<int:application_id>/", views.counter_detail, name="counter_detail"),
    path("counter/applications/<int:application_id>/slip.pdf", views.counter_slip, name="counter_slip"),
    path(
        "counter/applications/<int:application_id>/archive-photo/",
        views.counter_archive_photo,
        name="counter_archive_photo",
    ),
    path(
        "counter/applications/<int:application_id>/materials/<int:material_id>/",
        views.counter_material,
        name="counter_material",
    ),
    path("counter/applications/<int:application_id>/<str:step>/", views.counter_step, name="counter_step"),
]
