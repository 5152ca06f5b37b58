from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "jiaoguan.notices"
    label = "notices"
    verbose_name = "交通安全信息告知 Notices and messages"

    def ready(self) -> None:
        from . import events  # noqa: F401 - registers the outbox subscribers
