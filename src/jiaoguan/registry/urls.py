from django.urls import path

from . import mortgage_views, views

app_name = "registry"
urlpatterns = [
    path("vehicles/", views.vehicle_list, name="vehicles"),
    path("vehicles/<int:vehicle_id>/", views.vehicle_detail, name="vehicle"),
    path("licences/", views.licence_list, name="licences"),
    # Hospitals (B6/B7, issue 13).
    path("hospital/examinations/", views.hospital_examinations, name="hospital_examinations"),
    path("hospital/examinations/new/", views.hospital_examination_new, name="hospital_examination_new"),
    path(
        "hospital/examinations/<int:examination_id>/",
        views.hospital_examination_detail,
        name="hospital_examination",
    ),
    path(
        "hospital/examinations/<int:examination_id>/certificate/",
        views.hospital_certificate_submit,
        name="hospital_certificate_submit",
    ),
    # Mortgages with e-seals (issue 14, O6): the counter's seal keys and the bank's filings.
    path("counter/seal-keys/", mortgage_views.counter_seal_keys, name="counter_seal_keys"),
    path(
        "counter/seal-keys/<int:key_id>/revoke/",
        mortgage_views.counter_seal_key_revoke,
        name="counter_seal_key_revoke",
    ),
    path("bank/mortgages/", mortgage_views.bank_mortgages, name="bank_mortgages"),
]
