from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "jiaoguan.payments"
    label = "payments"
    verbose_name = "罚款缴纳 Fine payments"

    def ready(self) -> None:
        from . import services  # noqa: F401  registers the outbox handlers for refunds
