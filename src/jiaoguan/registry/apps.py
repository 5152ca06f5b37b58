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
        from jiaoguan.core.purges import register_purge

        from .mortgages import seal_nonces_purge

        register_purge("registry_sealnonce", seal_nonces_purge)  # issue 14, O6
