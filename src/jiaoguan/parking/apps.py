from django.apps import AppConfig


class ParkingConfig(AppConfig):
    name = "jiaoguan.parking"
    label = "parking"
    verbose_name = "老旧小区周边停车 Old-neighbourhood parking"
