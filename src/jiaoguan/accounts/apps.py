from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jiaoguan.accounts"
    label = "accounts"
    verbose_name = "用户 Accounts"

    def ready(self) -> None:
        from jiaoguan.core.api import register_token_resolver

        from . import datachecks
        from .services import api_token_user

        # core authenticates bearer tokens without importing accounts (it is the layer below).
        register_token_resolver(api_token_user)
        datachecks.register()
