"""Print the performance figures quoted in the README.

    .venv/bin/python benchmarks/bench_build.py            # everything (a few minutes)
    .venv/bin/python benchmarks/bench_build.py --skip-full

Measures, on this machine: `topicgen --help` start-up, cold `build handout` in both
profiles (empty cache, fresh output folder), a no-op rebuild, peak memory of each build,
and the full-profile wall time of every experiment.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPICGEN = [str(Path(sys.executable).parent / "topicgen")]  # the console script users run


def timed(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def bench_help(repeats: int = 5) -> float:
    return statistics.median(timed(TOPICGEN + ["--help"])[0] for _ in range(repeats))


def bench_build(profile: str) -> tuple[float, float, float]:
    """Cold build, then a no-op rebuild, into a temporary output and cache."""
    with tempfile.TemporaryDirectory() as tmp:
        command = TOPICGEN + ["-q", "build", "handout", "--profile", profile, "--out",
                              f"{tmp}/out", "--cache-dir", f"{tmp}/cache"]
        cold, peak = timed(command)
        noop, _ = timed(command)
    return cold, noop, peak


def bench_experiments() -> list[tuple[str, float, float, str]]:
    """(name, quick s, full s, claims passed/total in both profiles) per experiment."""
    from topicgen import experiments

    rows = []
    for name in experiments.EXPERIMENTS:
        times, passed, total = [], 0, 0
        for profile in ("quick", "full"):
            params = experiments.resolve_params(name, profile)
            started = time.perf_counter()
            result = experiments.run(name, params, experiments.Context())
            times.append(time.perf_counter() - started)
            passed += sum(claim.passed for claim in result.claims)
            total += len(result.claims)
        rows.append((name, *times, f"{passed}/{total}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-full", action="store_true", help="skip the full-profile build")
    args = parser.parse_args()
    import torch

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    print(f"topicgen --help                      {bench_help():6.2f} s (median of 5)")
    for profile in ("quick",) if args.skip_full else ("quick", "full"):
        cold, noop, peak = bench_build(profile)
        print(f"build handout --profile {profile:5s} cold  {cold:6.1f} s  peak {peak:5.0f} MiB")
        print(f"build handout --profile {profile:5s} no-op {noop:6.1f} s")
    print("\nexperiment             quick (s)   full (s)   claims held (both profiles)")
    rows = bench_experiments()
    for name, quick, full, claims in rows:
        print(f"{name:22s} {quick:9.2f} {full:10.2f}   {claims}")
    print(f"{'all experiments':22s} {sum(r[1] for r in rows):9.2f} {sum(r[2] for r in rows):10.2f}")


if __name__ == "__main__":
    main()
