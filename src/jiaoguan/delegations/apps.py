from django.apps import AppConfig


class DelegationsConfig(AppConfig):
    name = "jiaoguan.delegations"
    label = "delegations"
    verbose_name = "委托代办 Acting for others"
