"""The signature algorithms, now in :mod:`jiaoguan.core.crypto` (issue 14: the registry verifies
banks' e-seals with them and sits below credentials); re-exported for the credential code."""

from jiaoguan.core.crypto import (
    ALGORITHMS,
    EDDSA,
    ES256,
    P256_ORDER,
    SM2_SM3,
    Algorithm,
    Ed25519,
    Es256,
    PublicKey,
    algorithm_for,
    register_algorithm,
)

__all__ = [
    "ALGORITHMS",
    "EDDSA",
    "ES256",
    "P256_ORDER",
    "SM2_SM3",
    "Algorithm",
    "Ed25519",
    "Es256",
    "PublicKey",
    "algorithm_for",
    "register_algorithm",
]
