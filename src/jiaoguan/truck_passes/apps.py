from django.apps import AppConfig


class TruckPassesConfig(AppConfig):
    name = "jiaoguan.truck_passes"
    label = "truck_passes"
    verbose_name = "货车通行码 Truck pass codes"

    def ready(self) -> None:
        from . import tokens  # noqa: F401  registers the TK1 schema, its status resolver and space
