from typing import Any

from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "jiaoguan.credentials"
    label = "credentials"
    verbose_name = "电子证照 Credentials"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from jiaoguan.core.purges import register_purge

        from . import (
            services,  # subscribes to registry change events
            temporary_plates,  # noqa: F401  registers the TP1 status resolver and space
        )
        from .models import Credential

        register_purge("credentials_onlinenonce", services.online_nonces_purge)
        # Online verification reads the live status from the cache: any change of the row ends that.
        post_save.connect(_credential_changed, sender=Credential, dispatch_uid="credentials.status_saved")
        post_delete.connect(_credential_changed, sender=Credential, dispatch_uid="credentials.status_deleted")


def _credential_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .services import credential_changed

    credential_changed(instance.pk)
