from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "jiaoguan.accounts"
    label = "accounts"
    verbose_name = "用户 Accounts"

    def ready(self) -> None:
        from .roles import ensure_role_groups

        # After every app's migrate: the permissions of apps listed after accounts
        # (violations, payments) exist only once their own post_migrate has run.
        post_migrate.connect(ensure_role_groups, dispatch_uid="jiaoguan.accounts.ensure_role_groups")
