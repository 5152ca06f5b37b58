from django.apps import AppConfig


class TruckPassesConfig(AppConfig):
    name = "jiaoguan.truck_passes"
    label = "truck_passes"
    verbose_name = "货车通行码 Truck pass codes"
