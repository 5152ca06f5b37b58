from typing import Any

from django.apps import AppConfig


class ViolationsConfig(AppConfig):
    name = "jiaoguan.violations"
    label = "violations"
    verbose_name = "交通违法 Violations"

    def ready(self) -> None:
        from jiaoguan.accounts.hooks import register_home_counts

        from . import datachecks, personal
        from .payables import register

        personal.connect()
        register()  # fines are paid through the payments app, which hears of them only this way
        datachecks.register()
        register_home_counts(_home_counts)


def _home_counts(user: Any) -> dict[str, int]:
    """The home page's banners: unhandled violations and unpaid fines of the user's vehicles and licence."""
    from .selectors import home_counts

    return home_counts(user=user)
