from django.apps import AppConfig


class DelegationsConfig(AppConfig):
    name = "jiaoguan.delegations"
    label = "delegations"
    verbose_name = "委托代办 Acting for others"

    def ready(self) -> None:
        from . import services  # noqa: F401  registers the outbox subscriber of application steps (O2)
