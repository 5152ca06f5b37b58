from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "jiaoguan.integrations"
    label = "integrations"
    verbose_name = "外部系统 Integrations"

    def ready(self) -> None:
        from . import sms  # noqa: F401  registers the outbox handler
