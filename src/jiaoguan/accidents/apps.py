from django.apps import AppConfig


class AccidentsConfig(AppConfig):
    name = "jiaoguan.accidents"
    label = "accidents"
    verbose_name = "事故处理 Accidents"

    def ready(self) -> None:
        from . import tokens  # noqa: F401  registers the AQ1 schema and its status resolver
        from .datachecks import register as register_checks

        register_checks()
