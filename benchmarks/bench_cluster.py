"""Print the cluster figures quoted in the README ("Running on a cluster").

    .venv/bin/python benchmarks/bench_cluster.py                 # full profile (~10 min)
    .venv/bin/python benchmarks/bench_cluster.py --profile quick --workers 1,2

Measures, on this machine, Topic 4's cold handout build (HTML + PDF, an empty cache each
time), wall time and the run stage's own time:

    topicgen build handout --profile full --cache-dir C --out O                  # local pool
    topicgen build handout --profile full --cache-dir C --out O --scheduler ADDRESS

the first with --jobs 1 and the default jobs, the second on a Dask cluster started as an
operator would, on loopback, before the clock starts (`dask scheduler`, then `dask worker
ADDRESS --nthreads 1 --nworkers N` for each N), twice: on fresh workers (each imports torch
and the experiments on its first task) and again, with an empty cache, on the same workers
(a long-lived cluster). Then a 20-point sweep, cold, locally and on the largest cluster:

    topicgen sweep gradient-decay -p T=50:1000:20 --profile full --cache-dir C --out O
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOPICGEN = [str(BIN / "topicgen")]
DASK = [str(BIN / "dask")]
SWEEP = ["sweep", "gradient-decay", "-p", "T=50:1000:20"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def cluster(workers: int):
    """The address of a scheduler with `workers` single-threaded workers, all on loopback;
    every process of it is killed afterwards."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
             "start_new_session": True}
    started = [subprocess.Popen([*DASK, "scheduler", "--host", "127.0.0.1", "--port",
                                 address.rsplit(":", 1)[1], "--no-dashboard"], **quiet)]
    try:
        started.append(subprocess.Popen([*DASK, "worker", address, "--nthreads", "1",
                                         "--nworkers", str(workers), "--no-dashboard"], **quiet))
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def timed(args: list[str]) -> tuple[float, float | None]:
    """(wall seconds, the run stage's seconds) of one topicgen command in a fresh cache."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [*TOPICGEN, *args, "--project", str(ROOT),
                   "--cache-dir", f"{scratch}/cache", "--out", f"{scratch}/out"]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    stage = re.search(r"^run .*\(([\d.]+) s\)$", done.stderr, re.MULTILINE)
    return wall, float(stage.group(1)) if stage else None


def show(what: str, figures: tuple[float, float | None]) -> None:
    wall, run = figures
    print(f"  {what:<38} {wall:6.1f} s" + (f"   (run stage {run:.1f} s)" if run else ""),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=["quick", "full"], default="full")
    parser.add_argument("--workers", default="1,2,4", help="cluster sizes, comma-separated")
    options = parser.parse_args()
    sizes = [int(n) for n in options.workers.split(",")]
    build = ["build", "handout", "--profile", options.profile]
    print(f"{platform.node()}: {os.cpu_count()} cores, {platform.processor() or 'cpu'}, "
          f"Python {platform.python_version()}")
    print(f"Topic 4 handout, cold, --profile {options.profile}:")
    show("local, --jobs 1", timed([*build, "--jobs", "1"]))
    show("local pool (default --jobs)", timed(build))
    for workers in sizes:
        with cluster(workers) as address:
            name = f"Dask, {workers} worker{'s' * (workers > 1)}"
            show(f"{name}, fresh", timed([*build, "--scheduler", address]))
            show(f"{name}, warm", timed([*build, "--scheduler", address]))
    print(f"20-point sweep ({' '.join(SWEEP)}), cold, --profile {options.profile}:")
    sweep = [*SWEEP, "--profile", options.profile]
    show("local pool (default --jobs)", timed(sweep))
    with cluster(max(sizes)) as address:
        show(f"Dask, {max(sizes)} workers", timed([*sweep, "--scheduler", address]))


if __name__ == "__main__":
    main()
