from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jiaoguan.accounts"
    label = "accounts"
    verbose_name = "用户 Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from jiaoguan.core.api import register_token_resolver

        from . import datachecks
        from .models import User
        from .services import api_token_user

        # core authenticates bearer tokens without importing accounts (it is the layer below).
        register_token_resolver(api_token_user)
        datachecks.register()
        _register_purges()
        # A cached token answers with the user as it was: any change of the user ends that.
        post_save.connect(_user_changed, sender=User, dispatch_uid="accounts.api_token_user_saved")
        post_delete.connect(_user_changed, sender=User, dispatch_uid="accounts.api_token_user_deleted")


def _register_purges() -> None:
    from jiaoguan.core.purges import register_purge

    from . import services

    register_purge("accounts_apitoken", services.api_tokens_purge)
    register_purge("accounts_smscode", services.sms_codes_purge)
    register_purge("accounts_passwordsetuplink", services.password_links_purge)


def _user_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .services import api_token_user_changed

    api_token_user_changed(instance.pk)
