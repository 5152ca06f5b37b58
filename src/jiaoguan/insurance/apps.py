from django.apps import AppConfig


class InsuranceConfig(AppConfig):
    name = "jiaoguan.insurance"
    label = "insurance"
    verbose_name = "交强险和车船税核验 Insurance checks"
