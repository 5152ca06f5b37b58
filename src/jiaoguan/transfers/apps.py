from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "jiaoguan.transfers"
    label = "transfers"
    verbose_name = "跨辖区转移登记 Cross-region transfers"
