"""Print the performance figures quoted in the README.

    .venv/bin/python benchmarks/bench_build.py            # everything (a few minutes)
    .venv/bin/python benchmarks/bench_build.py --skip-full

Measures, on this machine, in a scratch copy of the project: `topicgen --help` start-up;
per profile, a cold `build handout` (empty cache, fresh output) with --jobs 1 and with
--jobs 2, a rebuild after a one-sentence prose edit in a small, a middling and the largest
chapter (HTML + PDF; median of three), without and with the PDF layout server a build leaves
behind, and HTML only, a no-op rebuild, `topicgen figures` for one experiment from the
cache, and peak memory (of a build, and of the server); then the wall time of every
experiment in both profiles.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
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


def bench_build(profile: str) -> dict[str, float]:
    """Seconds per scenario (and peak MiB) for one profile, in a scratch project, with its own
    folder for the PDF layout server (see publish/pdf_server.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        shutil.copytree(ROOT / "content", project / "content")
        (Path(tmp) / "run").mkdir(mode=0o700)
        served = {**os.environ, "XDG_RUNTIME_DIR": f"{tmp}/run", "TOPICGEN_PDF_SERVER": "on"}
        alone = {**served, "TOPICGEN_PDF_SERVER": "off"}
        build = TOPICGEN + ["-q", "build", "handout", "--project", str(project), "--profile",
                            profile]
        figures: dict[str, float] = {}
        peaks = []
        for jobs in ("1", "2"):  # each cold: its own empty cache and output folder, no server
            cache = ["--cache-dir", f"{tmp}/cache-{jobs}", "--out", f"{tmp}/out-{jobs}"]
            figures[f"cold --jobs {jobs}"], peak = timed(build + cache + ["--jobs", jobs],
                                                         alone)
            peaks.append(peak)
        chapters = project / "content" / "topic4"  # edits rebuild the --jobs 2 build

        def edit(chapter: str, name: str, fmt: str, env: dict) -> float:
            runs = []
            for repeat in range(3):  # median of three: this machine's speed wanders
                with (chapters / f"{chapter}.md").open("a") as handle:
                    handle.write(f"\nSentence {repeat} for the {name} benchmark.\n")
                runs.append(timed(build + cache + ["--format", fmt], env)[0])
            return statistics.median(runs)

        # One chapter's PDF is laid out again after a prose edit, so the cost depends on the
        # chapter: the smallest (GRU), a middling one (LSTM) and the largest (Transformer).
        chapters_timed = ("04-gru", "03-lstm", "06-transformer-stabilisers")
        for chapter in chapters_timed:
            name = f"prose edit, {chapter[3:].split('-')[0]}, no server"
            figures[name] = edit(chapter, name, "all", alone)
        edit("05-highways-and-limits", "server start", "all", served)  # leaves a server behind
        server = wait_for_server(served)
        for chapter in chapters_timed:
            name = f"prose edit, {chapter[3:].split('-')[0]}, server"
            figures[name] = edit(chapter, name, "all", served)
        figures["prose edit, lstm, html only"] = edit("03-lstm", "html only", "html", alone)
        figures["no-op"] = timed(build + cache + ["--format", "html"], alone)[0]
        figures["figures gradient-decay (cached)"] = timed(
            TOPICGEN + ["-q", "figures", "gradient-decay", "--project", str(project),
                        "--profile", profile, "--cache-dir", f"{tmp}/cache-2", "--out",
                        f"{tmp}/figs"])[0]
        figures["peak MiB"] = max(peaks)
        figures["server MiB"] = resident_mib(server)
        os.kill(server, signal.SIGTERM)
    return figures


def wait_for_server(env: dict, seconds: float = 120) -> int:
    """The pid of the PDF layout server in env's runtime folder, once it listens."""
    folder = next(Path(env["XDG_RUNTIME_DIR"]).glob("topicgen-*"))
    deadline = time.monotonic() + seconds
    while not list(folder.glob("*.sock")):
        if time.monotonic() > deadline:
            sys.exit("no PDF layout server started")
        time.sleep(0.1)
    return int(next(folder.glob("*.pid")).read_text())


def resident_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


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
        figures = bench_build(profile)
        for name, value in figures.items():
            unit = "MiB" if name.endswith("MiB") else "s"
            print(f"{profile:5s} {name:34s} {value:7.1f} {unit}")
        ratio = figures["cold --jobs 2"] / figures["cold --jobs 1"]
        print(f"{profile:5s} {'cold --jobs 2 / --jobs 1':34s} {ratio:7.0%}")
    print("\nexperiment             quick (s)   full (s)   claims held (both profiles)")
    rows = bench_experiments()
    for name, quick, full, claims in rows:
        print(f"{name:22s} {quick:9.2f} {full:10.2f}   {claims}")
    print(f"{'all experiments':22s} {sum(r[1] for r in rows):9.2f} {sum(r[2] for r in rows):10.2f}")


if __name__ == "__main__":
    main()
