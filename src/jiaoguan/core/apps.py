from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jiaoguan.core"
    label = "core"
    verbose_name = "核心 Core"

    def ready(self) -> None:
        from .purges import register

        register()  # the kernel's scheduled purges (outbox, idempotency, sessions, task results)
