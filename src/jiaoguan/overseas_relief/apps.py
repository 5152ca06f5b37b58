from django.apps import AppConfig


class OverseasReliefConfig(AppConfig):
    name = "jiaoguan.overseas_relief"
    label = "overseas_relief"
    verbose_name = "出国（境）人员恢复驾驶资格 Overseas relief"
