"""Staff roles as permission groups (岗位权限). The table is the single source of what each role may do."""

from __future__ import annotations

from typing import Any

from .models import StaffRole

_REGISTRY_READ = [
    "registry.view_person",
    "registry.view_vehicle",
    "registry.view_drivinglicence",
    "registry.view_organisation",
]

_VIOLATIONS_READ = [
    "violations.view_violation",
    "violations.view_fine",
    "payments.view_paymentorder",
    "payments.view_refund",
    "payments.view_reconciliationrun",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    StaffRole.COUNTER_CLERK: [
        *_REGISTRY_READ,
        "registry.change_person",
        "registry.change_organisation",
        "accounts.view_user",
        *_VIOLATIONS_READ,
    ],
    StaffRole.VIOLATION_OFFICER: [*_REGISTRY_READ, *_VIOLATIONS_READ],
    StaffRole.ACCIDENT_OFFICER: [*_REGISTRY_READ],
    StaffRole.ACCIDENT_HEAD: [*_REGISTRY_READ],
    StaffRole.AUDITOR: ["core.view_auditentry", "accounts.view_user"],
    StaffRole.ADMINISTRATOR: [
        *_REGISTRY_READ,
        "registry.add_person",
        "registry.change_person",
        "registry.add_vehicle",
        "registry.change_vehicle",
        "registry.add_drivinglicence",
        "registry.change_drivinglicence",
        "registry.change_organisation",
        "accounts.view_user",
        "core.view_auditentry",
        *_VIOLATIONS_READ,
        "violations.view_importbatch",
        "payments.view_gatewaycharge",
        "payments.view_callbacklog",
    ],
}


def ensure_role_groups(**_: Any) -> None:
    """Create or refresh one group per role with exactly the permissions in the table."""
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=str(role))
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)
