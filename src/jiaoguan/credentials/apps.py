from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "jiaoguan.credentials"
    label = "credentials"
    verbose_name = "电子证照 Credentials"

    def ready(self) -> None:
        from . import services  # noqa: F401  subscribes to registry change events
