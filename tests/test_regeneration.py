"""Fast regeneration: the result and figure caches, no-op builds, parallel runs, progress,
locks, identical bytes, and `topicgen figures`."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TOPIC, TOPIC4_EXPERIMENTS, topic4, topic4_files
from topicgen import experiments, sources
from topicgen.api import Result, as_dict
from topicgen.cli import cli
from topicgen.experiments.loader import Experiment
from topicgen.lock import build_lock
from topicgen.progress import Progress
from topicgen.results import keys
from topicgen.results.cache import ResultCache, cached_run

CHAPTER = f"content/{TOPIC}/01-decay.md"
SECOND_FIGURE = "\n```{experiment-figure} layernorm:ln_jacobian\n:name: fig-ln\n\nLN.\n```\n"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def build_args(project: Path, *extra: str) -> list[str]:
    return ["build", "handout", "--project", str(project), "--topic", TOPIC, "--profile", "quick",
            "--cache-dir", str(project / "cache"), "--format", "html", "--jobs", "1", *extra]


def outputs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def quick_params(name: str, **overrides: str):
    return experiments.resolve_params(topic4(name), "quick", overrides)


def material(name: str, params, ctx: experiments.Context) -> dict:
    return keys.result_material(topic4(name), as_dict(params), ctx)


# -- what a cached result depends on ------------------------------------------------------

def test_a_result_key_covers_the_experiment_its_helpers_and_the_api_and_nothing_else():
    """Not the runner, the CLI or error texts: editing those reruns nothing."""
    assert set(keys.experiment_code(topic4("gradient-decay"))) == {
        "topic4/experiments/gradient_decay.py", "topic4/experiments/_tensors.py",
        "topicgen/__init__.py", "topicgen/api.py", "topicgen/results/__init__.py",
        "topicgen/results/model.py"}
    figure = set(keys.figure_parts("r", topic4("gradient-decay"), "grad_norm", "svg", 0)["code"])
    assert {"topic4/experiments/gradient_decay_figures.py", "topicgen/figures/style.py",
            "topicgen/api.py"} <= figure
    assert "topic4/experiments/gradient_decay.py" not in figure  # restyling never reruns


def test_imports_are_read_from_import_lines_and_from_the_whole_module_when_one_is_odd():
    def names(source: str) -> list[str]:
        return [alias.name for statement in sources.import_statements(source)
                for alias in statement.names]

    assert names("import a.b as c, d\ndef f():\n    from .m import (x,\n        y)  # z\n") == [
        "a.b", "d", "x", "y"]
    # A continuation line, or prose that starts with "import", sends it to the parser.
    assert names("from a import b, \\\n    c\n") == ["b", "c"]
    assert names('"""\nimport time is short\n"""\nimport os\n') == ["os"]


@pytest.mark.parametrize("change", [{"params": quick_params("gradient-decay", T="11")},
                                    {"seed": 1}, {"device": "cuda"}])
def test_the_key_changes_with_params_seed_and_device(change):
    base = {"params": quick_params("gradient-decay"), "seed": 0, "device": "cpu"}
    changed = {**base, **change}
    key = ResultCache(None).key
    first = material("gradient-decay", base["params"], experiments.Context(0, "cpu"))
    second = material("gradient-decay", changed["params"],
                          experiments.Context(changed["seed"], changed["device"]))
    assert key(first) != key(second)
    assert key(first) == key(material("gradient-decay", quick_params("gradient-decay"),
                                          experiments.Context(0, "cpu")))


def test_a_stored_result_comes_back_equal_and_says_why_others_are_stale(tmp_path):
    cache = ResultCache(tmp_path)
    ctx = experiments.Context()
    params = quick_params("gradient-decay", T="12")
    result, hit = cached_run(topic4("gradient-decay"), params, ctx, cache)
    again, hit_again = cached_run(topic4("gradient-decay"), params, ctx, cache)
    assert (hit, hit_again) == (False, True)
    assert again.to_json() == result.to_json()

    other = material("gradient-decay", quick_params("gradient-decay", T="13"), ctx)
    assert cache.why_stale(other) == "param T 12 -> 13"
    edited = {**other, "params": material("gradient-decay", params, ctx)["params"],
              "code": {**other["code"], "topic4/experiments/_tensors.py": "0" * 16}}
    assert cache.why_stale(edited) == "code changed: topic4/experiments/_tensors.py"
    assert ResultCache(tmp_path / "empty").why_stale(other) == "never run with this cache"
    fewer = {**material("gradient-decay", params, ctx), "figures": ["grad_norm"]}
    assert cache.why_stale(fewer) == "figures all -> grad_norm"
    cost = cache.expected_cost(material("gradient-decay", params, ctx))
    assert cost == result.provenance["wall_s"]


@pytest.mark.parametrize("damage", ["emptied", "cut in half"])
def test_damaged_cache_files_are_made_again_never_published(make_project, tiny_topic, damage):
    """A figure emptied on disk was published as an empty figure (exit 0); a damaged
    parameter or PDF part file stopped the build with an internal error."""
    project = make_project({**tiny_topic, **topic4_files("layernorm"),
                            CHAPTER: tiny_topic[CHAPTER] + SECOND_FIGURE})
    args = build_args(project, "--format", "all")
    assert invoke(*args).exit_code == 0
    first = outputs(project / "output" / TOPIC)
    damaged = [path for folder in ("figures", "data", "params", "listings", "pdf", "parts")
               for path in (project / "cache" / folder).glob("*")]
    assert {path.parent.name for path in damaged} >= {"figures", "data", "params", "pdf"}
    for path in damaged:
        kept = path.read_bytes()
        path.write_bytes(b"" if damage == "emptied" else kept[:len(kept) // 2])
    (project / CHAPTER).write_text(tiny_topic[CHAPTER] + SECOND_FIGURE + "\nOne more.\n")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert ("is damaged; making it again" in result.output) == (damage == "cut in half")
    again = outputs(project / "output" / TOPIC)
    for name in first:
        if name.startswith(("figures/", "data/")):
            assert again[name] == first[name], name


def test_a_cache_names_the_topic_experiments_that_never_stored_a_result_here(tmp_path):
    """What decides whether a build's workers preload torch: an experiment with nothing
    cached (a first build, or one just added) will run."""
    cache = ResultCache(tmp_path)
    topic = material("gradient-decay", quick_params("gradient-decay"),
                     experiments.Context())["topic"]
    assert cache.never_run(topic, ["gradient-decay"]) == ["gradient-decay"]
    cached_run(topic4("gradient-decay"), quick_params("gradient-decay"), experiments.Context(),
               cache)
    assert cache.never_run(topic, ["gradient-decay"]) == []
    assert cache.never_run(topic, ["gradient-decay", "layernorm"]) == ["layernorm"]
    assert cache.never_run("other-topic", ["gradient-decay"]) == ["gradient-decay"]
    assert ResultCache(tmp_path, force=True).never_run(topic, ["gradient-decay"]) == [
        "gradient-decay"]


def test_the_workers_server_preloads_torch_for_every_build_that_runs_an_experiment(
        make_project, tiny_topic, monkeypatch):
    """Not only where an experiment never ran: a changed parameter or seed runs one too,
    and workers forked from a server without torch would import it themselves."""
    import topicgen.build as build
    from topicgen.pools import PRELOAD

    project = make_project(tiny_topic)
    preloads: list[tuple[str, ...]] = []
    monkeypatch.setattr(build, "start_server", preloads.append)

    def first_preload(*extra: str) -> tuple[str, ...] | None:
        preloads.clear()
        result = invoke(*build_args(project, "--jobs", "2", *extra))
        assert result.exit_code == 0, result.output
        return preloads[0] if preloads else None

    assert first_preload() == PRELOAD
    (project / CHAPTER).write_text(tiny_topic[CHAPTER] + "\nOne more sentence.\n")
    assert first_preload() is None  # HTML only and nothing to run: no worker needed
    assert first_preload("-p", "gradient-decay.T=11") == PRELOAD
    assert first_preload("--seed", "1") == PRELOAD


def test_an_experiment_whose_code_names_torch_optim_is_taken_to_train(tmp_path):
    """What adds torch._dynamo to the workers' preload, read from the file unimported: its
    code, not a comment or a docstring that mentions torch.optim."""
    path = tmp_path / "exp.py"
    for text, trains in (("opt = torch.optim.Adam(w)\n", True),
                         ("from torch import optim\n", True),
                         ("# the optimal scale, optimised\n", False),
                         ("w -= lr * g  # as torch.optim.SGD(lr) would step\n", False),
                         ('"""Trained as torch.optim.Adam would."""\n', False),
                         ("def broken(:\n    (\n", False)):
        path.write_text(text)
        assert experiments.trains(Experiment("t", "exp", path)) is trains
    assert not any(experiments.trains(topic4(name)) for name in
                   ("gradient-clipping", "gate-saturation", "layernorm"))


def test_an_entry_for_other_inputs_is_not_trusted(tmp_path, caplog):
    cache = ResultCache(tmp_path)
    ctx = experiments.Context()
    params = quick_params("gradient-decay")
    cached_run(topic4("gradient-decay"), params, ctx, cache)
    (entry,) = tmp_path.glob("topic4-gradient-decay-*.json")
    data = json.loads(entry.read_text())
    data["key"]["seed"] = 7  # the file name no longer matches what it holds
    entry.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        assert cache.load(material("gradient-decay", params, ctx)) is None
    assert "unreadable (key mismatch); recomputing" in caplog.text


def test_an_unwritable_cache_warns_once_and_the_build_still_succeeds(make_project, tiny_topic):
    project = make_project(tiny_topic)
    (project / "blocker").write_text("a file where the cache folder should be")
    args = build_args(project)
    args[args.index("--cache-dir") + 1] = str(project / "blocker" / "cache")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.output.count("results are not cached in this build") == 1
    assert (project / "output" / TOPIC / "handout.html").is_file()


# -- rebuilding -----------------------------------------------------------------------------

def test_a_no_op_rebuild_renders_nothing_and_touches_no_file(make_project, tiny_topic):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    out = project / "output" / TOPIC
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    result = invoke(*build_args(project))
    assert result.output == f"Up to date: {out} (nothing changed; --force rebuilds)\n"
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps


@pytest.mark.parametrize("tamper", ["edit an output", "delete an output", "edit the content"])
def test_a_changed_input_or_output_is_rebuilt(make_project, tiny_topic, tamper):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    out = project / "output" / TOPIC
    if tamper == "edit an output":
        (out / "handout.html").write_text("edited by hand")
    elif tamper == "delete an output":
        (out / "figures" / "fig-decay.svg").unlink()
    else:
        chapter = project / CHAPTER
        chapter.write_text(chapter.read_text().replace("The gradient fades", "Gradients fade"))
    result = invoke(*build_args(project))
    assert "(1 reused, 0 computed)" in result.output
    assert (out / "figures" / "fig-decay.svg").is_file()
    assert (out / "handout.html").read_text() != "edited by hand"


def test_a_prose_edit_reruns_no_experiment_and_redraws_no_figure(make_project, tiny_topic,
                                                                 monkeypatch):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    chapter = project / CHAPTER
    chapter.write_text(chapter.read_text().replace("The gradient fades", "Gradients fade"))

    def fail(*args, **kwargs):
        raise AssertionError("nothing may run or be drawn for a prose edit")

    monkeypatch.setattr(experiments, "run", fail)
    monkeypatch.setattr("topicgen.figures.style.save", fail)
    result = invoke(*build_args(project))
    assert result.exit_code == 0, result.output
    assert "Gradients fade" in (project / "output" / TOPIC / "handout.html").read_text()


def test_verbose_says_why_a_run_is_stale(make_project, tiny_topic):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    chapter = project / CHAPTER
    chapter.write_text(chapter.read_text().replace("T=10", "T=12"))
    result = invoke("-v", *build_args(project))
    assert "gradient-decay (fig-decay) must run: param T 10 -> 12" in result.output
    assert "(0 reused, 1 computed)" in result.output


def test_outputs_the_last_build_wrote_and_this_one_does_not_are_removed(make_project,
                                                                        tiny_topic):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project, "--format", "all")).exit_code == 0
    out = project / "output" / TOPIC
    (out / "notes.txt").write_text("mine")
    assert (out / "handout.pdf").is_file()
    result = invoke(*build_args(project, "--format", "html"))
    assert "1 stale removed" in result.output
    assert ("removed handout.pdf: this build did not make it (see --format), and it would no "
            "longer match what it made") in result.output
    assert not (out / "handout.pdf").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_manifest_lists_every_output_with_its_digest_and_each_runs_cost(make_project,
                                                                        tiny_topic):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    out = project / "output" / TOPIC
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["outputs"]) == {"handout.html", "figures/fig-decay.svg",
                                        "data/fig-decay.json", "data/fig-decay.csv"}
    for relative, digest in manifest["outputs"].items():
        assert sources.hashlib.sha256((out / relative).read_bytes()).hexdigest() == digest
    (run,) = manifest["runs"]
    assert run["cache"] == "miss" and run["device"] == "cpu" and run["cost_s"] > 0
    assert manifest["argv"] == sys.argv  # what the command passes: the process's own argv


def test_builds_from_the_same_sources_are_byte_identical(make_project, tiny_topic, monkeypatch):
    """Every output but the manifest (which records cache hits) is the same bytes, whether
    the experiments reran or came from the cache."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    project = make_project(tiny_topic)
    builds = []
    for out, extra in (("a", ["--force"]), ("b", ["--force"]), ("c", [])):
        result = invoke(*build_args(project, "--out", str(project / out), "--format", "all",
                                    *extra))
        assert result.exit_code == 0, result.output
        builds.append({k: v for k, v in outputs(project / out).items() if k != "manifest.json"})
    assert set(builds[0]) == {"handout.html", "handout.pdf", "figures/fig-decay.svg",
                              "data/fig-decay.json", "data/fig-decay.csv"}
    assert builds[0] == builds[1] == builds[2]


def test_a_pool_gives_its_workers_each_runs_followups_once_no_experiment_waits(tmp_path,
                                                                                monkeypatch):
    """Drawing a run's figures fills the workers' wait for the last experiments: it runs in
    the pool, once the run has its result, and never before an experiment's task."""
    from topicgen import pools
    from topicgen.build import Run
    from topicgen.results import runner

    submitted = []

    class Recording(pools.WorkerPool):
        def submit(self, function, *args, **kwargs):
            submitted.append(function.__name__)
            return super().submit(function, *args, **kwargs)

    monkeypatch.setattr(runner, "WorkerPool", Recording)
    cache, ctx = ResultCache(tmp_path), experiments.Context()

    def run_of(name: str) -> Run:
        return Run(topic4(name), as_dict(quick_params(name)))

    runner.run_all([run_of("state-saturation")], ctx, cache)  # cached: its followup is ready
    done: dict[str, tuple[int, bool]] = {}

    def then(run: Run) -> list[runner.Followup]:
        def record(future):
            done[run.experiment] = (future.result(), run.result is not None)
        return [runner.Followup(os.getpid, (), record)]

    runs = [run_of(name) for name in ("state-saturation", "gradient-decay", "layernorm",
                                      "pascanu-bound")]
    runner.run_all(runs, ctx, cache, jobs=2, then=then)
    assert submitted == ["compute"] * 3 + ["getpid"] * 4
    assert set(done) == {run.experiment for run in runs}
    assert all(pid != os.getpid() and had_result for pid, had_result in done.values())


def test_only_figures_drawn_while_the_runs_ran_count_as_drawn_early(tmp_path):
    """The figures stage says how many the run stage's workers drew; a figure read from the
    cache was not drawn at all."""
    from concurrent.futures import Future

    from topicgen.build import Run
    from topicgen.figures.draw import Drawings

    cache, ctx = ResultCache(tmp_path), experiments.Context()
    run = Run(topic4("gradient-decay"), as_dict(quick_params("gradient-decay")))
    run.material = keys.result_material(run.exp, run.params, ctx)
    run.result, _ = cached_run(run.exp, quick_params("gradient-decay"), ctx, cache)
    drawings = Drawings([(run, "grad_norm")], cache)
    [task] = drawings.followups(run)
    future = Future()
    future.set_result(task.function(*task.args))  # as a worker of the pool would
    task.done(future)
    assert drawings.early == 1
    again = Drawings([(run, "grad_norm")], cache)
    assert again.followups(run) == [] and again.early == 0
    assert again.finish(jobs=1) == drawings.finish(jobs=1)


def test_parallel_runs_give_the_same_results_as_serial(make_project, tiny_topic):
    """long-range-memory declares parts, so the pool trains its models in separate
    processes and combines them: the bytes must still equal the serial run's."""
    two = {**tiny_topic, **topic4_files("long_range_memory"), f"content/{TOPIC}/02-more.md": """\
# More

```{experiment-figure} long-range-memory:test_mse
:name: fig-memory
:params: delays=20,30 steps=30

The adding problem.
```
"""}
    two[f"content/{TOPIC}/topic.toml"] = two[f"content/{TOPIC}/topic.toml"].replace(
        '["01-decay.md"]', '["01-decay.md", "02-more.md"]')
    project = make_project(two)
    results = []
    for jobs in ("1", "2"):
        out = project / f"jobs{jobs}"
        # A cache of its own each: with the serial run's costs on record, two runs this
        # cheap would be run in this process, not in the pool this test is about.
        result = invoke(*build_args(project, "--out", str(out), "--cache-dir",
                                    str(project / f"cache{jobs}"), "--jobs", jobs))
        assert result.exit_code == 0, result.output
        assert "(0 reused, 2 computed)" in result.output
        results.append({**outputs(out / "data"), **outputs(out / "figures")})
    assert len(results[0]) == 6
    assert results[0] == results[1]  # the pool's workers drew the figures too


def test_cheap_runs_with_known_costs_skip_the_pool(make_project, tiny_topic, monkeypatch):
    """After one build has recorded what each run costs, rerunning runs that cost less than
    starting a pool stays in this process, even with --jobs 2; unknown costs use the pool."""
    import topicgen.pools as pools
    import topicgen.results.runner as runner

    project = make_project({**tiny_topic, **topic4_files("layernorm"),
                            CHAPTER: tiny_topic[CHAPTER] + SECOND_FIGURE})
    started: list[int] = []
    real_pool, real_lazy = runner.WorkerPool, pools.LazyPool.pool
    monkeypatch.setattr(runner, "WorkerPool", lambda n: started.append(n) or real_pool(n))

    def lazy(self):  # a cold build's pool is the one its plan started
        if self._pool is None:
            started.append(self.jobs)
        return real_lazy(self)

    # Not pools.WorkerPool: the figures' pool, which a module imported after this patch
    # would count too, is not what this test is about.
    monkeypatch.setattr(pools.LazyPool, "pool", lazy)
    cold = invoke(*build_args(project, "--jobs", "2"))
    assert cold.exit_code == 0, cold.output
    assert started == [2]  # nothing on record: the pool
    again = invoke(*build_args(project, "--jobs", "2", "--force"))
    assert again.exit_code == 0, again.output
    assert "(0 reused, 2 computed)" in again.output and started == [2]  # no second pool


def test_a_failing_experiment_lets_the_others_finish_unless_fail_fast(make_project, tiny_topic):
    two = {**tiny_topic, **topic4_files("layernorm")}
    experiment_file = f"content/{TOPIC}/experiments/gradient_decay.py"
    two[experiment_file] += "\n\ndef generator(*args):\n    raise ValueError('deliberate')\n"
    two[CHAPTER] += "\n```{experiment-figure} layernorm:ln_jacobian\n:name: fig-ln\n\nLN.\n```\n"
    project = make_project(two)
    result = invoke(*build_args(project))
    assert result.exit_code == 1
    assert "layernorm          computed in" in result.output
    trace = result.output.split("FAILED:\n")[1].split("  [2/2]")[0]
    assert "experiments/gradient_decay.py\", line" in trace  # the experiment's own frame
    assert "gen = generator(ctx.seed, ctx.device)" in trace
    assert trace.rstrip().endswith("ValueError: deliberate")
    assert "runner.py" not in trace and "click" not in trace  # no plumbing frames
    assert result.output.endswith("Error: 1 of 2 experiment runs failed: gradient-decay "
                                  "(ValueError: deliberate)\n")
    assert not (project / "output").exists()

    # A fresh cache knows no costs, so the runs start in the handout's order.
    fast = invoke(*build_args(project, "--fail-fast", "--cache-dir", str(project / "fresh")))
    assert fast.exit_code == 1
    assert "layernorm          computed" not in fast.output
    assert "(stopped at the first: --fail-fast)" in fast.output


# -- progress and locks ---------------------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_shows_counts_elapsed_and_time_left(caplog):
    stream = FakeTerminal()
    with caplog.at_level(logging.INFO, logger="topicgen"), \
            Progress(total=3, jobs=1, stream=stream) as progress:
        for cost in (10.0, 20.0, None):
            progress.expect(cost)
        progress.started("slow", 10.0)
        status = progress.status()
        progress.finished("slow", "slow computed in 10 s")
    assert status.startswith("  running 1/3: slow · 0 s · about ")
    assert status.endswith(" s left")
    left = float(status.split("about ")[1].split(" s")[0])
    assert 29 <= left <= 30  # 10 s of the running one + 20 s pending; the unknown counts 0
    assert "[1/3] slow computed in 10 s" in caplog.text
    assert "\r\033[K" in stream.getvalue()


def test_a_long_run_shows_its_seconds_on_a_terminal(monkeypatch, caplog):
    """`topicgen run` at a large size showed nothing for minutes."""
    from topicgen.results import runner

    compute = runner.compute

    def slow(*args):
        time.sleep(0.7)  # the status line is drawn every half second
        return compute(*args)

    stream = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(runner, "compute", slow)
    experiment = topic4("gradient-decay")
    with caplog.at_level(logging.INFO, logger="topicgen"):
        result = runner.run_one(experiment, experiments.resolve_params(experiment, "quick"),
                                experiments.Context())
    assert result.passed
    assert re.search(r"running 1/1: gradient-decay · \d s", stream.getvalue())
    assert stream.getvalue().endswith("\r\033[K")  # the line is gone before the result


def test_progress_without_a_terminal_writes_only_log_lines():
    stream = io.StringIO()
    with Progress(total=1, jobs=1, stream=stream) as progress:
        progress.started("a", 1.0)
        progress.finished("a", "a done")
    assert stream.getvalue() == ""


def test_a_second_build_waits_for_the_first(tmp_path, caplog):
    order = []
    holding = threading.Event()

    def first():
        with build_lock(tmp_path):
            holding.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait()
    with caplog.at_level(logging.WARNING), build_lock(tmp_path):
        order.append("second starts")
    thread.join()
    assert order == ["first done", "second starts"]
    assert f"waiting for the build running in this project (pid {os.getpid()})" in caplog.text


def interrupted_build(project: Path, sig: signal.Signals) -> tuple[int, str]:
    """Start a build long enough to stop (a several-second run), send `sig` once its
    experiments run, and return the exit status and the rest of its stderr."""
    chapter = project / CHAPTER
    chapter.write_text(chapter.read_text().replace("T=10 hidden=4 seeds=2",
                                                   "T=3000 hidden=256 seeds=4"))
    process = subprocess.Popen([sys.executable, "-m", "topicgen", *build_args(project)],
                               stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.startswith("plan"):
            break
    time.sleep(0.5)
    process.send_signal(sig)
    rest = process.stderr.read()
    return process.wait(), rest


def test_kill_9_in_the_middle_keeps_the_previous_outputs_and_the_next_build_works(
        make_project, tiny_topic):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    out = project / "output" / TOPIC
    before = outputs(out)
    interrupted_build(project, signal.SIGKILL)
    assert outputs(out) == before
    assert not list((project / "cache").glob("*.tmp")) and not list(out.rglob("*.tmp"))
    chapter = project / CHAPTER
    chapter.write_text(chapter.read_text().replace("T=3000 hidden=256 seeds=4",
                                                   "T=12 hidden=4 seeds=2"))
    result = invoke(*build_args(project))
    assert result.exit_code == 0, result.output


# -- topicgen figures ---------------------------------------------------------------------

def test_figures_writes_each_figure_and_its_data_as_csv(make_project, tiny_topic):
    project = make_project(tiny_topic)
    out = project / "slides"
    args = ["figures", "fig-decay", "--project", str(project), "--topic", TOPIC, "--profile",
            "quick", "--cache-dir", str(project / "cache"), "--out", str(out), "--jobs", "1"]
    result = invoke(*args, "--format", "png", "--dpi", "50")
    assert result.exit_code == 0, result.output
    assert f"Wrote 1 figure and their CSV and JSON data to {out}\n  [PASS] fig-decay [" in \
        result.output
    small = (out / "fig-decay.png").read_bytes()
    assert small.startswith(b"\x89PNG")
    rows = list(csv.DictReader(io.StringIO((out / "fig-decay.csv").read_text())))
    entry = next((project / "cache").glob("*-gradient-decay-*.json"))
    cached = Result.from_json_dict(json.loads(entry.read_text())["result"])
    assert len(rows) == sum(len(ys) for s in cached.series.values() for ys in s.y.values())
    assert rows[0]["series"] == "grad_norm" and float(rows[0]["y"]) == cached.series[
        "grad_norm"].y[rows[0]["curve"]][0]

    assert invoke(*args, "--format", "png", "--dpi", "100").exit_code == 0
    assert len((out / "fig-decay.png").read_bytes()) > len(small)
    assert invoke(*args, "--format", "pdf").exit_code == 0
    pdf = (out / "fig-decay.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"CreationDate" not in pdf


def test_figures_in_the_handouts_folder_are_the_handouts_own(make_project, tiny_topic):
    """After a quick handout, a plain `topicgen figures` (full profile) rewrote the handout's
    figure files with another run's; the next handout build rewrote them back."""
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    figure = project / "output" / TOPIC / "figures" / "fig-decay.svg"
    before = figure.read_bytes()
    common = ["figures", "--project", str(project), "--topic", TOPIC, "--cache-dir",
              str(project / "cache"), "--jobs", "1"]
    result = invoke(*common)  # no --profile: the handout's, quick
    assert result.exit_code == 0, result.output
    assert figure.read_bytes() == before
    refused = invoke(*common, "--profile", "full")
    assert refused.exit_code == 2
    assert "holds the handout's figures, built with profile quick: --profile full would " \
           "replace them" in refused.output
    assert figure.read_bytes() == before
    elsewhere = invoke(*common, "--profile", "full", "--out", str(project / "full"))
    assert elsewhere.exit_code == 0, elsewhere.output


def test_figures_of_an_experiment_the_topic_does_not_show(make_project, tiny_topic):
    project = make_project({**tiny_topic, **topic4_files("layernorm")})
    out = project / "out"
    result = invoke("figures", "layernorm", "--project", str(project), "--topic", TOPIC,
                    "--profile", "quick", "--cache-dir", str(project / "cache"), "--out",
                    str(out))
    assert result.exit_code == 0, result.output
    names = set(experiments.figure_names(topic4("layernorm")))
    assert {p.name for p in out.glob("*.svg")} == {f"layernorm.{n}.svg" for n in names}


def test_figures_with_an_unknown_name_suggests_one(make_project, tiny_topic):
    project = make_project(tiny_topic)
    result = invoke("figures", "fig-dacay", "--project", str(project), "--topic", TOPIC)
    assert result.exit_code == 2
    assert result.output.endswith('Error: no figure or experiment "fig-dacay" '
                                  '(did you mean "fig-decay"?)\n')


def test_ctrl_c_in_the_middle_keeps_the_previous_outputs_and_says_so(make_project, tiny_topic):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    out = project / "output" / TOPIC
    before = outputs(out)
    status, rest = interrupted_build(project, signal.SIGINT)
    assert status != 0
    assert "Traceback" not in rest
    assert outputs(out) == before
    assert not list((project / "cache").glob("*-gradient-decay-*.tmp"))


def test_figures_are_the_same_bytes_when_drawn_again(make_project, tiny_topic):
    project = make_project(tiny_topic)
    drawn = []
    for attempt in ("first", "again"):
        out = project / attempt
        result = invoke("figures", "--project", str(project), "--topic", TOPIC, "--profile",
                        "quick", "--cache-dir", str(project / "cache"), "--out", str(out),
                        "--format", "png", "--force", "--jobs", "1")
        assert result.exit_code == 0, result.output
        drawn.append(outputs(out))
    assert set(drawn[0]) == {"fig-decay.png", "fig-decay.csv", "fig-decay.json",
                             "manifest-figures.json"}
    for files in drawn:
        del files["manifest-figures.json"]  # records the --out folder, which differs
    assert drawn[0] == drawn[1]  # rerun and redrawn (--force), yet identical


def test_a_prose_edit_imports_neither_torch_nor_matplotlib(make_project, tiny_topic):
    """Everything a rebuild needs is cached, parameters included (an exercise's :try:
    command's too): no heavy import."""
    exercise = "\n```{exercise}\n:try: gradient-decay -p T=20\nTry it.\n```\n"
    project = make_project({**tiny_topic, CHAPTER: tiny_topic[CHAPTER] + exercise})
    assert invoke(*build_args(project)).exit_code == 0
    chapter = project / CHAPTER
    chapter.write_text(chapter.read_text().replace("The gradient fades", "Gradients fade"))
    code = ("import sys\nfrom topicgen.cli import cli\n"
            f"try:\n    cli({build_args(project)!r}, prog_name='topicgen')\n"
            "except SystemExit as exit:\n    assert exit.code in (0, None), exit.code\n"
            "print('HEAVY', sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip().endswith("HEAVY []"), out.stdout + out.stderr
    assert "Gradients fade" in (project / "output" / TOPIC / "handout.html").read_text()


@pytest.mark.parametrize("name", sorted(experiments.discover(TOPIC4_EXPERIMENTS, "topic4")))
def test_figure_names_read_without_importing_match_the_module(name):
    assert experiments.figure_names(topic4(name)) == list(experiments.load_figures(topic4(name)))


def test_a_data_file_beside_the_experiments_is_part_of_their_key(tmp_path):
    """A run may read `Path(__file__).parent / "target.txt"`: editing that file must rerun
    it; Python's own caches beside the code must not."""
    from topicgen.results.keys import experiment_code

    folder = tmp_path / "experiments"
    folder.mkdir()
    for name, text in topic4_files("gradient_decay").items():
        if "/experiments/" in name:
            (folder / Path(name).name).write_text(text)
    experiment = experiments.discover(folder, "mine")["gradient-decay"]
    before = experiment_code(experiment)
    (folder / "__pycache__").mkdir(exist_ok=True)
    (folder / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert experiment_code(experiment) == before
    (folder / "target.txt").write_text("0.25\n")
    with_data = experiment_code(experiment)
    assert with_data != before
    (folder / "target.txt").write_text("0.755\n")  # another size: hashes are memoised by it
    assert experiment_code(experiment) != with_data


def test_build_all_force_builds_every_document_anew(make_project, tiny_topic):
    """--force reruns the experiments once (for the report) and rebuilds the handouts and
    slides from those results, instead of finding them up to date."""
    project = make_project(tiny_topic)
    args = ["build", "all", "--project", str(project), "--topic", TOPIC, "--profile", "quick",
            "--cache-dir", str(project / "cache"), "--format", "html", "--jobs", "1"]
    assert invoke(*args).exit_code == 0
    again = invoke(*args)
    assert again.output.count("Up to date") == 3, again.output
    forced = invoke(*args, "--force")
    assert forced.exit_code == 0 and "Up to date" not in forced.output, forced.output
    assert "(0 reused, 1 computed)" in forced.output, forced.output
