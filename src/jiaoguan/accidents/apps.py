from django.apps import AppConfig


class AccidentsConfig(AppConfig):
    name = "jiaoguan.accidents"
    label = "accidents"
    verbose_name = "事故处理 Accidents"

    def ready(self) -> None:
        from . import tokens  # noqa: F401  registers the AQ1 schema and its status resolver
        from .datachecks import register as register_checks

        register_checks()
        from jiaoguan.core.purges import register_purge

        from .services import query_attempts_purge

        register_purge("accidents_queryattempt", query_attempts_purge)
        check_local_rollout()


def check_local_rollout() -> None:
    """Stop the start on a malformed JIAOGUAN_ACCIDENT_LOCAL_ROLLOUT rather than close services silently."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from .rules import local_rollout_parse

    try:
        local_rollout_parse(getattr(settings, "ACCIDENT_LOCAL_ROLLOUT", ""))
    except ValueError as error:
        raise ImproperlyConfigured(
            f"JIAOGUAN_ACCIDENT_LOCAL_ROLLOUT: {error}. "
            "Example: online_query=2020-06-01,evidence_review=2021-07-01"
        ) from None
