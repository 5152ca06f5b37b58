"""SM2 with SM3, now in :mod:`jiaoguan.core.sm2` (issue 14); re-exported for the credential code.

Importing it needs ``tongsuopy``, as before, and registers the algorithm."""

from jiaoguan.core.sm2 import DEFAULT_USER_ID, Sm2Sm3

__all__ = ["DEFAULT_USER_ID", "Sm2Sm3"]
