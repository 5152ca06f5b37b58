from django.apps import AppConfig


class PlatesConfig(AppConfig):
    name = "jiaoguan.plates"
    label = "plates"
    verbose_name = "预选机动车号牌 Plate pre-selection"
