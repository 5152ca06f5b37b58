from django.urls import path

from . import temporary_plate_views, views

app_name = "credentials"
urlpatterns = [
    path("credentials/", views.credential_list, name="list"),
    path("credentials/licence/apply/", views.licence_apply, name="licence_apply"),
    path("credentials/inspection/<int:vehicle_id>/exempt/", views.exempt_apply, name="exempt"),
    path("credentials/<uuid:public_id>/", views.credential_detail, name="detail"),
    path("credentials/<uuid:public_id>/qr/", views.credential_qr, name="qr"),
    path("credentials/<uuid:public_id>/offline.png", views.credential_offline_png, name="offline_png"),
    path("credentials/<uuid:public_id>/offline.txt", views.credential_offline_txt, name="offline_txt"),
    path("credentials/<uuid:public_id>/print.pdf", views.credential_print_pdf, name="print_pdf"),
    path("credentials/<uuid:public_id>/photo.png", views.credential_holder_photo, name="photo"),
    path("verify/", views.verify, name="verify"),
    path("verify/photo/<str:ticket>/", views.verified_photo, name="verified_photo"),
    path("verify/plate/", views.verify_plate, name="verify_plate"),
    path("counter/photos/", views.counter_photos, name="counter_photos"),
    path("counter/photos/<int:application_id>/", views.counter_photo, name="counter_photo"),
    path("counter/photos/<int:application_id>/photo", views.counter_photo_image, name="counter_photo_image"),
    path(
        "counter/photos/<int:application_id>/archive-photo",
        views.counter_archive_photo_image,
        name="counter_archive_photo_image",
    ),
    # Dealers' temporary plates (issue 14, B18).
    path("dealer/temporary-plates/", temporary_plate_views.dealer_plates, name="dealer_temporary_plates"),
    path(
        "dealer/temporary-plates/<int:plate_id>/",
        temporary_plate_views.dealer_plate,
        name="dealer_temporary_plate",
    ),
    path(
        "dealer/temporary-plates/<int:plate_id>/print.pdf",
        temporary_plate_views.dealer_plate_pdf,
        name="dealer_temporary_plate_pdf",
    ),
    path("counter/temporary-plates/", temporary_plate_views.counter_plates, name="counter_temporary_plates"),
    path(
        "counter/temporary-plates/<int:plate_id>/revoke",
        temporary_plate_views.counter_plate_revoke,
        name="counter_temporary_plate_revoke",
    ),
]
