from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("services/", views.services_index, name="services"),
    path("services/<slug:code>/", views.service, name="service"),
    path("register/", views.register, name="register"),
    path("register/sms/", views.register_sms, name="register_sms"),
    path("login/", views.login_view, name="login"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/sms/", views.password_reset_sms, name="password_reset_sms"),
    path("password/setup/<str:token>/", views.password_setup, name="password_setup"),
    path("logout/", views.logout_view, name="logout"),
    path("elder-mode/", views.elder_mode, name="elder_mode"),
    path("me/", views.me, name="me"),
    path("me/contact/", views.contact, name="contact"),
    path("me/contact/sms/", views.contact_sms, name="contact_sms"),
    path("counter/", views.counter, name="counter"),
    path("counter/register/", views.counter_register, name="counter_register"),
    path("counter/upgrade/", views.counter_upgrade, name="counter_upgrade"),
    path("counter/recover/", views.counter_recover, name="counter_recover"),
    path("counter/organisations/", views.counter_organisations, name="counter_organisations"),
    path("counter/organisations/new/", views.counter_organisation_new, name="counter_organisation_new"),
    path(
        "counter/organisations/<int:organisation_id>/members/", views.counter_members, name="counter_members"
    ),
]
