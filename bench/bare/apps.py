from django.apps import AppConfig


class BareConfig(AppConfig):
    name = "bare"
