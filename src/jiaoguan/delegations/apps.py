from django.apps import AppConfig


class DelegationsConfig(AppConfig):
    name = "jiaoguan.delegations"
    label = "delegations"
    verbose_name = "委托代办 Acting for others"

    def ready(self) -> None:
        # A filed vehicle's driver sees its inspection mark on the e-credentials page (U7);
        # credentials is a lower layer, so it asks through a provider hook instead of importing us.
        from jiaoguan.credentials.selectors import register_shared_vehicles

        from .selectors import filed_vehicle_ids

        register_shared_vehicles(filed_vehicle_ids)
        from . import (
            services,  # noqa: F401  registers the outbox subscriber of application steps (O2)
            tokens,  # noqa: F401  registers the EN1 schema, its status resolver and space
        )
