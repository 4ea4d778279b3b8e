"""Masker throughput with 50 secrets registered (target: at least 100 MB/s of log).

    .venv/bin/python benchmarks/masking.py [--mb 100] [--secrets 50] [--chunk 65536]

The log is synthetic build output (compiler-like lines, hex digests, base64 blobs) with a
secret or one of its encodings every few kilobytes, fed to ``Masker.feed`` in chunks as a
job's output arrives. Side by side: the same masking done with one compiled ``re``
alternation of all variants (the obvious pure-Python peer), measured on a smaller sample
because it is orders of magnitude slower.
"""

from __future__ import annotations

import argparse
import base64
import random
import re
import statistics
import time

from bastion.vault import Masker, secret_variants

_WORDS = [
    "compiling",
    "linking",
    "warning",
    "error",
    "test",
    "passed",
    "failed",
    "module",
    "target",
    "cache",
    "hit",
    "miss",
]


def _log(size: int, secrets: list[str], rng: random.Random) -> bytes:
    total = 0
    block: list[bytes] = []
    while total < min(size, 4 * 1024 * 1024):
        kind = rng.random()
        if kind < 0.02:
            secret = rng.choice(secrets).encode()
            form = rng.choice([secret, base64.b64encode(b"u:" + secret), secret.hex().encode()])
            line = b"  env: TOKEN=" + form
        elif kind < 0.2:
            line = b"sha256:" + rng.randbytes(32).hex().encode()
        elif kind < 0.3:
            line = base64.b64encode(rng.randbytes(48))
        else:
            line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14))).encode()
        block.append(line + b"\n")
        total += len(line) + 1
    chunk = b"".join(block)
    return chunk * max(size // len(chunk), 1)


def _stream(masker: Masker, data: bytes, chunk: int) -> int:
    out = 0
    for start in range(0, len(data), chunk):
        out += len(masker.feed(data[start : start + chunk]))
    return out + len(masker.flush())


def _regex_peer(secrets: list[str]) -> re.Pattern[bytes]:
    variants = sorted({v for s in secrets for v in secret_variants(s)}, key=len, reverse=True)
    return re.compile(b"|".join(re.escape(v) for v in variants))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--secrets", type=int, default=50)
    parser.add_argument("--chunk", type=int, default=65536)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_"
    secrets = ["".join(rng.choice(alphabet) for _ in range(32)) for _ in range(args.secrets)]
    data = _log(args.mb * 1024 * 1024, secrets, rng)
    start = time.perf_counter()
    masker = Masker(secrets)
    compile_ms = (time.perf_counter() - start) * 1000
    timings = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        _stream(masker, data, args.chunk)
        timings.append(time.perf_counter() - start)
    rate = len(data) / 1e6 / statistics.median(timings)
    masked = masker.mask(data[: 1024 * 1024])
    assert not any(s.encode() in masked for s in secrets), "a secret leaked"
    sample = data[: 2 * 1024 * 1024]
    peer = _regex_peer(secrets)
    start = time.perf_counter()
    peer.sub(b"***", sample)
    peer_rate = len(sample) / 1e6 / (time.perf_counter() - start)
    print(
        f"{args.secrets} secrets, {masker.pattern_count} patterns (compiled in "
        f"{compile_ms:.0f} ms), {len(data) / 1e6:.0f} MB log in {args.chunk}-byte chunks"
    )
    print(
        f"  Masker (Hyperscan, streaming)  {rate:9.1f} MB/s   median of {args.rounds}"
        "   target >= 100 MB/s"
    )
    print(f"  re alternation (peer, whole)   {peer_rate:9.1f} MB/s   on {len(sample) >> 20} MB")


if __name__ == "__main__":
    main()
