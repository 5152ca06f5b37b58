from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "jiaoguan.applications"
    label = "applications"
    verbose_name = "业务申请 Applications"

    def ready(self) -> None:
        from . import (
            fees,
            personal,
            services,  # noqa: F401  registers the outbox handler of state changes
        )

        fees.register()  # application fees are payables (issue 13)
        personal.connect()  # application changes retire the cached lists and queues
