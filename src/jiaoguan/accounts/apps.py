from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "jiaoguan.accounts"
    label = "accounts"
    verbose_name = "用户 Accounts"

    def ready(self) -> None:
        from .roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, sender=self)
