from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "jiaoguan.registry"
    label = "registry"
    verbose_name = "车驾管数据 Registry"

    def ready(self) -> None:
        from jiaoguan.core.audit import register_audit_search

        from . import datachecks, personal, selectors

        datachecks.register()
        personal.connect()
        register_audit_search(selectors.audit_subjects)
