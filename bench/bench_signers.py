"""Benchmark: sign and verify throughput of the credential signature algorithms.

    .venv/bin/python bench/bench_signers.py
    .venv/bin/python bench/bench_signers.py --iterations 5000

Times ``Algorithm.sign`` and ``Algorithm.verify`` exactly as the platform calls them, PEM and
DER in, raw signature out, so key parsing is part of the figure: signing parses the private
PEM every time, verification goes through each algorithm's public-key cache. One key and one
message of credential size per algorithm; no Django settings are involved.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from jiaoguan.credentials.crypto import Algorithm, Ed25519, Es256
from jiaoguan.credentials.sm2 import Sm2Sm3

MESSAGE = os.urandom(300)  # about the size of a CBOR credential payload


def ops_per_second(call, iterations: int) -> float:
    call()  # warm up caches and lazy initialisation outside the timing
    start = time.perf_counter()
    for _ in range(iterations):
        call()
    return iterations / (time.perf_counter() - start)


def bench(algorithm: Algorithm, iterations: int) -> tuple[float, float]:
    private_pem = algorithm.generate_private_pem()
    public_der = algorithm.public_der(private_pem)
    signature = algorithm.sign(private_pem, MESSAGE)
    assert algorithm.verify(public_der, MESSAGE, signature)
    sign = ops_per_second(lambda: algorithm.sign(private_pem, MESSAGE), iterations)
    verify = ops_per_second(lambda: algorithm.verify(public_der, MESSAGE, signature), iterations)
    return sign, verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()

    print(f"{args.iterations} iterations each, {len(MESSAGE)}-byte message")
    print(f"{'algorithm':<10} {'sign ops/s':>12} {'verify ops/s':>14}")
    for algorithm in (Es256(), Ed25519(), Sm2Sm3()):
        sign, verify = bench(algorithm, args.iterations)
        print(f"{algorithm.name:<10} {sign:>12,.0f} {verify:>14,.0f}")


if __name__ == "__main__":
    main()
