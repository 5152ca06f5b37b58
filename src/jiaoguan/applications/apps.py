from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "jiaoguan.applications"
    label = "applications"
    verbose_name = "业务申请 Applications"

    def ready(self) -> None:
        from . import fees, services  # noqa: F401  services registers the outbox handler of state changes

        fees.register()  # application fees are payables (issue 13)
