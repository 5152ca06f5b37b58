from django.apps import AppConfig


class ViolationsConfig(AppConfig):
    name = "jiaoguan.violations"
    label = "violations"
    verbose_name = "交通违法 Violations"
