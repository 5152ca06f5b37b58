from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "jiaoguan.registry"
    label = "registry"
    verbose_name = "车驾管数据 Registry"
