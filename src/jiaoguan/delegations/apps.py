from django.apps import AppConfig


class DelegationsConfig(AppConfig):
    name = "jiaoguan.delegations"
    label = "delegations"
    verbose_name = "委托代办 Acting for others"

    def ready(self) -> None:
        from . import tokens  # noqa: F401  registers the EN1 schema, its status resolver and space
