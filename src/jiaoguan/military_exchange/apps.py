from django.apps import AppConfig


class MilitaryExchangeConfig(AppConfig):
    name = "jiaoguan.military_exchange"
    label = "military_exchange"
    verbose_name = "退役军人换证 Military licence exchange"
