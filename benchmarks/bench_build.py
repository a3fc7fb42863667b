"""Print the performance figures quoted in the README.

    .venv/bin/python benchmarks/bench_build.py            # everything (a few minutes)
    .venv/bin/python benchmarks/bench_build.py --skip-full
    .venv/bin/python benchmarks/bench_build.py --cold-only   # Topic 4's cold builds alone
    .venv/bin/python benchmarks/bench_build.py --cold-only --jobs 4,8   # on more cores

Measures, on this machine: `topicgen --help` start-up (median of 5); then per profile, in a
scratch copy P of the project's content/ (the commands shown for quick):

    topicgen -q build handout --project P --profile quick --cache-dir C1 --out O1 --jobs 1
    topicgen -q build handout --project P --profile quick --cache-dir C2 --out O2 --jobs 2

each cold: wall time, and peak PSS of the process tree (the command and its descendants,
sampled every 0.1 s); and the second command once more, cold, with the results of the four
experiments added after the cold-build targets were set already cached (`topicgen figures`
of each first), so that it computes the ten the targets were set for; and once more with
every result cached but nothing made from them (a copy of C2 without its figures, data files,
code listings and PDF parts): what a cold build costs besides its experiments. Then, on C2 and O2:
the second command again after a one-sentence prose edit in the smallest, a middling and the
largest chapter (HTML + PDF), and with --format html after one in the middling chapter; the
same three edits under

    topicgen -q build handout --project P --profile quick --cache-dir C2 --out O2 --watch

timed from the write to the new handout.pdf on disk, then Ctrl+C, after which nothing of its
session may remain (each edit a median of three); a no-op rebuild (median of 3); and

    topicgen -q figures gradient-decay --project P --profile quick --cache-dir C2 --out F

Then a small topic of three figures (benchmarks/small_topic/, drawn from three of Topic 4's
experiments), cold at the full profile: HTML only and with the PDF, with --jobs 1 and the
default jobs, wall time and peak PSS. Then the wall time of every experiment in both profiles.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPICGEN = [str(Path(sys.executable).parent / "topicgen")]  # the console script users run
CHAPTERS = ("04-gru", "03-lstm", "06-transformer-stabilisers")  # smallest, middling, largest
SMALL_TOPIC = ROOT / "benchmarks" / "small_topic"
SMALL_EXPERIMENTS = ("gradient_decay", "pascanu_bound", "layernorm")  # the figures it shows
ADDED_SINCE_TARGETS = ("pascanu-bound", "truncated-bptt", "depth-jacobian", "state-saturation",
                       "copy-memory")
"""Topic 4's experiments added after the cold-build targets were set for its first ten."""


def processes() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, session id)} of every process now running."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:  # the command name may hold spaces and parentheses: split after the last ")"
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        table[int(stat.parent.name)] = (int(fields[1]), int(fields[3]))
    return table


def tree_mib(root: int) -> float:
    """PSS (RSS where smaps_rollup is unreadable) summed over `root` and its descendants:
    workers share pages with their parent, so summed RSS would count those twice."""
    table, pids, total = processes(), [root], 0
    for pid in pids:  # grows as we go: breadth first down the tree
        pids += [child for child, (parent, _) in table.items() if parent == pid]
        for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
            try:
                text = Path(f"/proc/{pid}/{name}").read_text()
                total += int(text.split(key)[1].split()[0])
                break
            except (OSError, IndexError):
                continue
    return total / 1024


def leftovers(session: int, seconds: float = 10) -> list[int]:
    """The processes of `session` still running after up to `seconds`."""
    deadline = time.monotonic() + seconds
    while (left := [pid for pid, (_, sid) in processes().items() if sid == session]) and (
            time.monotonic() < deadline):
        time.sleep(0.1)
    return left


def timed(command: list[str], scratch: Path) -> tuple[float, float, str]:
    """(wall seconds, peak PSS MiB of the process tree, stdout) of one command, run in its own
    session so that anything it leaves behind can be found."""
    with (scratch / "stdout").open("w+") as out, (scratch / "stderr").open("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err,
                                   start_new_session=True)
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, tree_mib(process.pid))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.1)  # returns as soon as it ends: the wall time stays honest
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            err.seek(0)
            sys.exit(f"failed: {' '.join(command)}\n{err.read()}")
        out.seek(0)
        if left := leftovers(process.pid):
            print(f"warning: {' '.join(command[1:4])} left processes {left} behind")
        return seconds, peak, out.read()


def append_sentence(path: Path, words: str) -> None:
    with path.open("a") as handle:
        handle.write(f"\n{words} for the benchmark.\n")


def bench_build(profile: str, cold_only: bool = False,
                more_jobs: tuple[int, ...] = ()) -> dict[str, float]:
    """Seconds (or MiB) per scenario for one profile, in a scratch project; cold builds with
    --jobs 1, 2 and each of `more_jobs`."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        shutil.copytree(ROOT / "content", tmp / "project" / "content")
        chapters = tmp / "project" / "content" / "topic4"
        common = ["--project", str(tmp / "project"), "--topic", "topic4", "--profile", profile]
        build = TOPICGEN + ["-q", "build", "handout", *common]
        figures: dict[str, float] = {}
        for jobs in sorted({1, 2, *more_jobs}):  # each cold: its own empty cache and output
            cache = ["--cache-dir", str(tmp / f"cache-{jobs}"), "--out", str(tmp / f"out-{jobs}")]
            seconds, peak, _ = timed(build + cache + ["--jobs", str(jobs)], tmp)
            figures[f"cold --jobs {jobs}"] = seconds
            figures[f"cold --jobs {jobs}, peak PSS of the process tree MiB"] = peak
            if jobs > 1:
                figures[f"cold --jobs {jobs} / --jobs 1 %"] = (
                    100 * seconds / figures["cold --jobs 1"])
                figures[f"cold --jobs {jobs} / --jobs 1 peak PSS %"] = (
                    100 * peak / figures["cold --jobs 1, peak PSS of the process tree MiB"])
        # The targets were set when Topic 4 had ten experiments: the same cold build with the
        # results of the five added since already cached computes only those ten.
        ten = ["--cache-dir", str(tmp / "cache-ten"), "--out", str(tmp / "out-ten")]
        for experiment in ADDED_SINCE_TARGETS:
            timed(TOPICGEN + ["-q", "figures", experiment, *common, *ten], tmp)
        figures["cold --jobs 2, the first ten experiments computed"] = timed(
            build + ten + ["--jobs", "2"], tmp)[0]
        # What a cold build costs besides its experiments: the --jobs 2 build's results, but
        # nothing made from them (figures, their data files, code listings, PDF parts).
        shutil.copytree(tmp / "cache-2", tmp / "cache-results", ignore=shutil.ignore_patterns(
            "figures", "data", "listings", "pdf"))
        figures["cold --jobs 2, every experiment's result cached"] = timed(
            build + ["--cache-dir", str(tmp / "cache-results"), "--out",
                     str(tmp / "out-results"), "--jobs", "2"], tmp)[0]
        if cold_only:
            return figures
        # From here on, everything rebuilds the --jobs 2 build.
        cache = ["--cache-dir", str(tmp / "cache-2"), "--out", str(tmp / "out-2")]

        def edit(chapter: str, label: str, fmt: str) -> float:
            runs = []
            for repeat in range(3):  # median of three: this machine's speed wanders
                append_sentence(chapters / f"{chapter}.md", f"Sentence {repeat} {label}")
                runs.append(timed(build + cache + ["--format", fmt], tmp)[0])
            return statistics.median(runs)

        # One chapter's PDF is laid out again after a prose edit, so the cost depends on the
        # chapter's size.
        for chapter in CHAPTERS:
            figures[f"prose edit, {chapter.split('-')[1]}"] = edit(chapter, "one-shot", "all")
        figures["prose edit, lstm, html only"] = edit("03-lstm", "html only", "html")
        figures.update(bench_watch(build + cache, chapters, tmp / "out-2" / "handout.pdf", tmp))
        noop = [timed(build + cache, tmp) for _ in range(3)]
        if not all(out.startswith("Up to date") for _, _, out in noop):
            print(f"warning: the no-op rebuild built: {[out.strip() for _, _, out in noop]}")
        figures["no-op"] = statistics.median(seconds for seconds, _, _ in noop)
        figures["figures gradient-decay (cached)"] = timed(
            TOPICGEN + ["-q", "figures", "gradient-decay", *common, "--cache-dir",
                        str(tmp / "cache-2"), "--out", str(tmp / "figs")], tmp)[0]
    return figures


def bench_small_topic() -> dict[str, float]:
    """Cold builds of a small three-figure topic: seconds (or MiB) per scenario."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        topic = tmp / "project" / "content" / "small"
        shutil.copytree(SMALL_TOPIC, topic)
        source = ROOT / "content" / "topic4" / "experiments"
        (topic / "experiments").mkdir()
        for path in source.glob("*.py"):
            if path.name.startswith("_") or path.stem.removesuffix("_figures") in \
                    SMALL_EXPERIMENTS:
                shutil.copy(path, topic / "experiments" / path.name)
        figures: dict[str, float] = {}
        for fmt, label in (("html", "HTML only"), ("all", "HTML + PDF")):
            for jobs in ("1", str(os.cpu_count() or 1)):
                run = f"{fmt}-{jobs}"
                seconds, peak, _ = timed(TOPICGEN + [
                    "-q", "build", "handout", "--project", str(tmp / "project"), "--topic",
                    "small", "--format", fmt, "--jobs", jobs, "--cache-dir",
                    str(tmp / f"cache-{run}"), "--out", str(tmp / f"out-{run}")], tmp)
                figures[f"small topic, cold, {label}, --jobs {jobs}"] = seconds
                figures[f"small topic, cold, {label}, --jobs {jobs}, peak PSS MiB"] = peak
    return figures


def bench_watch(command: list[str], chapters: Path, pdf: Path, tmp: Path) -> dict[str, float]:
    """Seconds from a saved prose edit to the new handout.pdf under --watch, per chapter."""
    with (tmp / "watch-stderr").open("w+") as err:
        watch = subprocess.Popen(command + ["--watch"], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=err, text=True, start_new_session=True)
        lines: queue.Queue[str] = queue.Queue()  # a thread reads, so that waits can time out
        threading.Thread(target=lambda: [lines.put(line) for line in watch.stdout],
                         daemon=True).start()
        figures = {}
        try:
            if not next_line(lines, ("Built", "Up to date"), 300):
                sys.exit(f"--watch did not build\n{tail(err)}")
            # After its first build the worker warms WeasyPrint up (a second or two); a
            # person's first edit comes later than that, so the figures leave it out.
            time.sleep(3)
            for chapter in CHAPTERS:
                runs = []
                for repeat in range(3):
                    before = signature(pdf)
                    append_sentence(chapters / f"{chapter}.md", f"Sentence {repeat} watched")
                    saved = time.perf_counter()
                    while signature(pdf) == before:
                        if time.perf_counter() - saved > 120:
                            sys.exit(f"--watch left handout.pdf as it was\n{tail(err)}")
                        time.sleep(0.01)
                    runs.append(time.perf_counter() - saved)  # the moment the file changed
                    if not next_line(lines, ("Built",), 120):
                        sys.exit(f"--watch did not rebuild after editing {chapter}\n{tail(err)}")
                figures[f"--watch prose edit, {chapter.split('-')[1]}"] = statistics.median(runs)
        finally:
            os.killpg(watch.pid, signal.SIGINT)  # Ctrl+C: SIGINT to the process group
            with contextlib.suppress(subprocess.TimeoutExpired):
                watch.wait(30)
        if watch.returncode != 0:  # None: still running 30 s after Ctrl+C
            print(f"warning: --watch exited {watch.returncode} on Ctrl+C\n{tail(err)}")
        if left := leftovers(watch.pid):
            print(f"warning: --watch left processes {left} behind 10 s after Ctrl+C")
    return figures


def next_line(lines: queue.Queue, starts: tuple[str, ...], seconds: float) -> bool:
    """Whether a line beginning with one of `starts` arrives within `seconds`."""
    deadline = time.monotonic() + seconds
    with contextlib.suppress(queue.Empty):
        while not lines.get(timeout=max(0, deadline - time.monotonic())).startswith(starts):
            pass
        return True
    return False


def signature(path: Path) -> tuple[int, int, int]:
    stat = path.stat()  # handout.pdf is replaced, not rewritten, so its inode changes too
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def tail(err) -> str:
    err.seek(0)
    return err.read()[-2000:]


def bench_experiments() -> list[tuple[str, float, float, str]]:
    """(name, quick s, full s, claims held/judged in both profiles, plus how many were not
    judged) per experiment."""
    from topicgen import experiments
    from topicgen.content.topic import topic_experiments

    rows = []
    for name, experiment in topic_experiments(ROOT / "content", "topic4").items():
        times, passed, total, skipped = [], 0, 0, 0
        for profile in ("quick", "full"):
            params = experiments.resolve_params(experiment, profile)
            started = time.perf_counter()
            result = experiments.run(experiment, params, experiments.Context())
            times.append(time.perf_counter() - started)
            passed += sum(claim.passed is True for claim in result.claims)
            total += sum(claim.passed is not None for claim in result.claims)
            skipped += sum(claim.passed is None for claim in result.claims)
        rows.append((name, *times, f"{passed}/{total}" + (f" ({skipped} not judged)"
                                                          if skipped else "")))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-full", action="store_true", help="skip the full-profile build")
    parser.add_argument("--small-only", action="store_true",
                        help="only the small three-figure topic")
    parser.add_argument("--cold-only", action="store_true",
                        help="Topic 4's cold builds only, no rebuilds")
    parser.add_argument("--jobs", default="", metavar="N,N",
                        help="more --jobs values for the cold builds (1 and 2 always run), "
                             "for machines with more cores, e.g. --jobs 4,8")
    args = parser.parse_args()
    import torch

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), {platform.platform()}")
    with tempfile.TemporaryDirectory() as scratch:
        runs = [timed(TOPICGEN + ["--help"], Path(scratch))[0] for _ in range(5)]
    print(f"topicgen --help: {statistics.median(runs):.2f} s (median of 5)\n")
    if not args.cold_only:
        for name, value in bench_small_topic().items():
            unit = "MiB" if name.endswith("MiB") else "s"
            print(f"{name.removesuffix(' MiB'):52s} {value:7.1f} {unit}")
        print()
    if args.small_only:
        return
    profiles = ("quick",) if args.skip_full else ("quick", "full")
    more_jobs = tuple(int(n) for n in args.jobs.split(",") if n.strip())
    columns = {profile: bench_build(profile, args.cold_only, more_jobs) for profile in profiles}
    print(f"{'what':52s} {'quick':>7s}     {'full':>7s}")
    for name in columns["quick"]:
        unit = name.rsplit(" ", 1)[1] if name.endswith(("MiB", "%")) else "s"
        cells = [f"{columns[p][name]:7.1f} {unit:3s}" if p in columns else f"{'-':>7s}    "
                 for p in ("quick", "full")]
        print(f"{name.removesuffix(' ' + unit):52s} {cells[0]} {cells[1]}")
    if not args.cold_only:
        print("\nexperiment             quick (s)   full (s)   claims held/judged (both profiles)")
        experiments_table()


def experiments_table() -> None:
    rows = bench_experiments()
    for name, quick, full, claims in rows:
        print(f"{name:22s} {quick:9.2f} {full:10.2f}   {claims}")
    print(f"{'all experiments':22s} {sum(r[1] for r in rows):9.2f} {sum(r[2] for r in rows):10.2f}")


if __name__ == "__main__":
    main()
