"""Start-up benchmark: ``configurator --help`` against a bare interpreter.

Ours: median wall seconds of ``python -m configurator --help`` over 7 runs (the parser of
every sub-command is built; the numerical, web and database stacks stay unimported);
peer: ``python -c pass`` in the same run. Target: under 300 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from configurator.entrypoints.bench import Row, benchmark

TARGET_S = 0.3


def _median_s(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@benchmark("startup")
def startup_bench(quick: bool = False) -> list[Row]:
    runs = 3 if quick else 7
    ours = _median_s([sys.executable, "-m", "configurator", "--help"], runs)
    peer = _median_s([sys.executable, "-c", "pass"], runs)
    return [
        Row(
            area="cli",
            metric="configurator --help",
            ours=ours * 1000,
            peer_name="python -c pass",
            peer=peer * 1000,
            ratio=ours / peer,
            target=f"< {TARGET_S * 1000:.0f} ms",
            ok=ours < TARGET_S,
            unit="ms",
            note=f"median of {runs} runs",
        )
    ]
