from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "jiaoguan.integrations"
    label = "integrations"
    verbose_name = "外部系统 Integrations"

    def ready(self) -> None:
        from jiaoguan.core.purges import register_purge

        from . import sms  # registers the outbox handler

        register_purge("integrations_fakesmsmessage", sms.fake_sms_purge)
