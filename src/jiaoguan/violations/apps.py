from django.apps import AppConfig


class ViolationsConfig(AppConfig):
    name = "jiaoguan.violations"
    label = "violations"
    verbose_name = "交通违法 Violations"

    def ready(self) -> None:
        from .payables import register

        register()  # fines are paid through the payments app, which hears of them only this way
