from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "jiaoguan.credentials"
    label = "credentials"
    verbose_name = "电子证照 Credentials"

    def ready(self) -> None:
        from jiaoguan.core.purges import register_purge

        from . import services  # subscribes to registry change events

        register_purge("credentials_onlinenonce", services.online_nonces_purge)
