"""Runs on a Dask cluster (`--scheduler`), against a real one started as an operator would:
`dask scheduler` and `dask worker` processes on the loopback interface.

The cluster retries a run whose worker died once (allowed-failures = 1, so that a run that
always kills its worker fails after two tries instead of four).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TOPIC

distributed = pytest.importorskip("distributed")

DASK = str(Path(sys.executable).parent / "dask")  # the command an operator types
SCHEDULER, WORKER = [DASK, "scheduler"], [DASK, "worker"]

# An experiment that kills the worker process running it: always, or only on its first try
# (it leaves a mark file). It kills nothing outside a Dask worker, such as the test itself.
DIES = '''"""Kills its worker."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

from topicgen.api import Context, Result, as_dict, param

MARK = Path({mark!r})


@dataclass(frozen=True)
class Params:
    always: bool = param({always}, "kill the worker on every try")


def run(params: Params, ctx: Context) -> Result:
    from distributed import get_worker

    get_worker()  # raises outside a worker
    if params.always or not MARK.exists():
        MARK.write_text("tried")
        os.kill(os.getpid(), signal.SIGKILL)
    return Result("dies", as_dict(params), {{}}, {{"tries": 2.0}})
'''

RAISES = '''"""Raises."""
from __future__ import annotations

from dataclasses import dataclass

from topicgen.api import Context, Result, param


@dataclass(frozen=True)
class Params:
    depth: int = param(3, "how deep the error is", min=1, max=10)


def run(params: Params, ctx: Context) -> Result:
    return deeper(params.depth)


def deeper(depth: int) -> Result:
    if depth == 0:
        raise ValueError("the experiment's own bug")
    return deeper(depth - 1)
'''


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A scheduler and its workers, each a process of its own session (killed as a group)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: list[subprocess.Popen] = []
        self.env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
        self.start(SCHEDULER, "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
                   "--no-dashboard")

    def start(self, command: list[str], *args: str) -> subprocess.Popen:
        log = (self.folder / f"process-{len(self.processes)}.log").open("w")
        process = subprocess.Popen([*command, *args], stdout=log, stderr=subprocess.STDOUT,
                                   env=self.env, start_new_session=True)
        self.processes.append(process)
        return process

    def add_workers(self, count: int, *extra: str) -> subprocess.Popen:
        wanted = len(self.workers()) + count
        workers = self.start(WORKER, self.address, "--nthreads", "1", "--nworkers", str(count),
                             "--no-dashboard", *extra)
        self.wait_for(lambda info: len(info) >= wanted)
        return workers

    def workers(self) -> dict:
        with distributed.Client(self.address, timeout=20, set_as_default=False) as client:
            return client.scheduler_info(n_workers=-1)["workers"]

    def wait_for(self, ready, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not ready(self.workers()):
            assert time.monotonic() < deadline, "the cluster did not get ready"
            time.sleep(0.2)

    def stop(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                self.stop(process)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        started.add_workers(2)
        yield started
    finally:
        started.close()


def topicgen(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "topicgen", *args], capture_output=True,
                          text=True, timeout=timeout)


def build(project: Path, out: str, cache: str, *extra: str) -> subprocess.CompletedProcess:
    return topicgen("build", "handout", "--project", str(project), "--topic", TOPIC,
                    "--profile", "quick", "--out", str(project / out),
                    "--cache-dir", str(project / cache), *extra)


def without_wall_time(path: Path) -> dict:
    kept = json.loads(path.read_text())
    kept["result"]["provenance"].pop("wall_s")
    return kept


def test_a_build_on_the_cluster_writes_the_bytes_of_a_local_build(cluster, make_project,
                                                                   tiny_topic):
    project = make_project(tiny_topic)
    local = build(project, "local", "cache-local", "--jobs", "1")
    assert local.returncode == 0, local.stderr
    remote = build(project, "remote", "cache-remote", "--scheduler", cluster.address)
    assert remote.returncode == 0, remote.stderr
    assert f"running on {cluster.address}: 2 workers" in remote.stderr
    assert "[1/1] gradient-decay" in remote.stderr  # progress, as a local build shows it

    written = sorted(p.relative_to(project / "local") for p in (project / "local").rglob("*")
                     if p.is_file() and p.name != "manifest.json")
    assert {"handout.html", "handout.pdf"} <= {p.name for p in written}
    for relative in written:
        assert (project / "remote" / relative).read_bytes() == \
            (project / "local" / relative).read_bytes(), relative
    [result] = (project / "cache-local").glob("t1-gradient-decay-*.json")
    assert without_wall_time(project / "cache-remote" / result.name) == \
        without_wall_time(result)


def test_run_and_check_take_the_scheduler_from_the_environment(cluster, make_project,
                                                               tiny_topic):
    project = make_project(tiny_topic)
    env = {**os.environ, "TOPICGEN_SCHEDULER": cluster.address}
    args = ["--project", str(project), "--topic", TOPIC]
    local = topicgen("run", "gradient-decay", *args, "-p", "T=12", "--json")
    remote = subprocess.run([sys.executable, "-m", "topicgen", "run", "gradient-decay", *args,
                             "-p", "T=12", "--json"], capture_output=True, text=True,
                            timeout=240, env=env)
    assert remote.returncode == local.returncode == 0, remote.stderr
    assert f"running on {cluster.address}" in remote.stderr
    mine, theirs = json.loads(local.stdout), json.loads(remote.stdout)
    for result in (mine, theirs):
        result["provenance"].pop("wall_s")
    assert theirs == mine

    checked = subprocess.run([sys.executable, "-m", "topicgen", "check", *args, "--profile",
                              "quick", "--cache-dir", str(project / "cache")],
                             capture_output=True, text=True, timeout=240, env=env)
    assert checked.returncode == 0, checked.stderr
    assert f"running on {cluster.address}" in checked.stderr
    assert "All claims hold." in checked.stdout


def test_an_unreachable_scheduler_is_one_line_within_seconds(make_project, tiny_topic):
    project = make_project(tiny_topic)
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens there
    started = time.monotonic()
    result = build(project, "out", "cache", "--scheduler", address)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert f"--scheduler {address}: cannot reach a Dask scheduler there" in line
    assert "Traceback" not in result.stderr
    assert not (project / "out").exists()


def test_a_scheduler_that_is_no_address_is_a_usage_error(make_project, tiny_topic):
    project = make_project(tiny_topic)
    result = build(project, "out", "cache", "--scheduler", "my-cluster")
    assert result.returncode == 2
    assert 'scheduler must be a Dask scheduler\'s address like tcp://10.0.0.5:8786, got ' \
           '"my-cluster"' in result.stderr
    assert "Traceback" not in result.stderr


def with_experiment(make_project, tiny_topic, name: str, source: str) -> Path:
    return make_project({**tiny_topic, f"content/{TOPIC}/experiments/{name}.py": source})


def check(project: Path, cluster: Cluster, *names: str) -> subprocess.CompletedProcess:
    return topicgen("check", *names, "--project", str(project), "--topic", TOPIC,
                    "--cache-dir", str(project / "cache"), "--scheduler", cluster.address)


def test_a_run_whose_worker_dies_is_retried_on_another(cluster, make_project, tiny_topic,
                                                       tmp_path):
    mark = tmp_path / "tried"
    project = with_experiment(make_project, tiny_topic, "dies",
                              DIES.format(mark=str(mark), always=False))
    result = check(project, cluster, "dies")
    assert result.returncode == 0, result.stderr
    assert mark.read_text() == "tried"  # the first try did die
    assert "dies (" in result.stdout
    assert list((project / "cache").glob("t1-dies-*.json"))
    cluster.wait_for(lambda info: len(info) >= 2)  # its nanny restarts the worker


def test_a_run_that_kills_every_worker_fails_named_and_caches_nothing(cluster, make_project,
                                                                      tiny_topic, tmp_path):
    project = with_experiment(make_project, tiny_topic, "dies",
                              DIES.format(mark=str(tmp_path / "tried"), always=True))
    result = check(project, cluster, "dies", "gradient-decay")
    assert result.returncode == 1
    assert "dies FAILED:\nits worker died on each of 2 tries" in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    # Three runs: gradient-decay also at the parameters the tiny chapter's figure asks for.
    assert error == "Error: 1 of 3 experiment runs failed: dies (its worker died, 2 tries)"
    assert not list((project / "cache").glob("t1-dies-*.json"))
    assert list((project / "cache").glob("t1-gradient-decay-*.json"))  # the other one ran
    cluster.wait_for(lambda info: len(info) >= 2)


def test_an_experiment_that_raises_on_a_worker_shows_its_own_traceback(cluster, make_project,
                                                                      tiny_topic):
    project = with_experiment(make_project, tiny_topic, "raises", RAISES)
    args = ["run", "raises", "--project", str(project), "--topic", TOPIC]
    local, remote = topicgen(*args), topicgen(*args, "--scheduler", cluster.address)
    assert local.returncode == remote.returncode == 1
    source = project / "content" / TOPIC / "experiments" / "raises.py"

    def traceback_lines(output: str) -> list[str]:
        return [line for line in output.splitlines() if line.startswith(("  File", "ValueError"))]

    lines = traceback_lines(remote.stderr)
    assert lines == traceback_lines(local.stderr)
    line = RAISES.splitlines().index("    return deeper(params.depth)") + 1
    assert lines[0] == f'  File "{source.resolve()}", line {line}, in run'
    assert len(lines) == 6 and lines[-1] == "ValueError: the experiment's own bug"
    assert "topicgen-worker" not in remote.stderr
    assert remote.stderr.strip().splitlines()[-1] == \
        "Error: raises failed: ValueError: the experiment's own bug"


def test_a_worker_of_other_versions_is_refused(cluster, monkeypatch, make_project, tiny_topic):
    from topicgen.errors import TopicgenError
    from topicgen.experiments import Context
    from topicgen.experiments.loader import discover
    from topicgen.results import cluster as cluster_module
    from topicgen.results.runner import compute

    other = {**cluster_module.versions(), "torch": "1.0.0"}
    monkeypatch.setattr(cluster_module, "versions", lambda: other)
    with pytest.raises(TopicgenError, match=r"worker tcp://127\.0\.0\.1:\d+ is refused: it has "
                                            r"torch .+ \(here: 1\.0\.0\)"):
        cluster_module.connect(cluster.address, "cpu")

    # A worker joining later is refused by the task itself.
    project = make_project(tiny_topic)
    experiment = discover(project / "content" / TOPIC / "experiments", TOPIC)["gradient-decay"]
    with distributed.Client(cluster.address, set_as_default=False) as client:
        pool = cluster_module.ClusterPool(client, cluster.address, "cpu")
        future = pool.submit(compute, experiment, {"T": 10}, Context(), None)
        with pytest.raises(TopicgenError, match="is refused: it has torch"):
            future.result(timeout=60)


def test_cuda_runs_ask_for_a_gpu_and_a_worker_without_cuda_says_so(cluster, make_project,
                                                                   tiny_topic):
    project = make_project(tiny_topic)
    no_gpu = build(project, "out", "cache", "--device", "cuda", "--scheduler", cluster.address)
    assert no_gpu.returncode == 1
    assert f"--device cuda: no worker of {cluster.address} offers a GPU; start one on a GPU " \
           f"host with `dask worker {cluster.address} --nthreads 1 --resources GPU=1`" \
           in no_gpu.stderr

    before = set(cluster.workers())
    gpu_worker = cluster.add_workers(1, "--resources", "GPU=1")
    try:
        [address] = set(cluster.workers()) - before
        with_gpu = build(project, "out", "cache", "--device", "cuda", "--scheduler",
                         cluster.address)
    finally:
        cluster.stop(gpu_worker)
    assert with_gpu.returncode == 1
    # Only the worker with the GPU resource was given the run: it found no CUDA there.
    assert f"Error: --device cuda: worker {address} has no CUDA device" in with_gpu.stderr
    assert "Traceback" not in with_gpu.stderr


def test_without_dask_the_error_says_how_to_install_it(monkeypatch):
    from topicgen.errors import TopicgenError
    from topicgen.results.cluster import connect

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(TopicgenError, match=r"Dask is not installed here; install it with: "
                                            r"pip install 'topicgen\[dask\]'"):
        connect("tcp://127.0.0.1:8786", "cpu")


def test_a_sweep_on_the_cluster_writes_the_files_of_a_local_sweep(cluster, make_project,
                                                                  tiny_topic):
    project = make_project(tiny_topic)

    def sweep(out: str, *extra: str) -> subprocess.CompletedProcess:
        return topicgen("sweep", "gradient-decay", "-p", "T=10:40:4", "-p", "hidden=4",
                        "-p", "seeds=2", "--project", str(project), "--topic", TOPIC,
                        "--profile", "quick", "--out", str(project / out),
                        "--cache-dir", str(project / f"cache-{out}"), *extra)

    local, remote = sweep("local"), sweep("remote", "--scheduler", cluster.address)
    assert local.returncode == remote.returncode == 0, remote.stderr
    assert f"running on {cluster.address}: 2 workers" in remote.stderr
    assert "(0 reused, 4 computed)" in remote.stdout
    assert (project / "remote" / "sweep.csv").read_text().splitlines()[0] == "T,scalar,value"
    files = sorted(path.name for path in (project / "local").iterdir())
    assert files == sorted(path.name for path in (project / "remote").iterdir())
    for name in files:
        assert (project / "remote" / name).read_bytes() == \
            (project / "local" / name).read_bytes(), name


def test_the_scheduler_comes_from_the_flag_then_the_environment_then_topicgen_toml(
        make_project, monkeypatch):
    from topicgen.config import load_config

    project = make_project({"topicgen.toml": 'scheduler = "tcp://file:8786"\n'})
    monkeypatch.delenv("TOPICGEN_SCHEDULER", raising=False)
    assert load_config(project).scheduler == "tcp://file:8786"
    monkeypatch.setenv("TOPICGEN_SCHEDULER", "tcp://env:8786")
    assert load_config(project).scheduler == "tcp://env:8786"
    assert load_config(project, scheduler="tcp://flag:8786").scheduler == "tcp://flag:8786"


def test_a_worker_removes_shipped_experiments_no_task_has_used_for_a_week(tmp_path,
                                                                           monkeypatch):
    from topicgen.results.cluster import UNUSED_DAYS, ShippedCode

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    source = tmp_path / "experiments"
    source.mkdir()
    (source / "one.py").write_text("A = 1\n")
    old, recent = (tmp_path / "topicgen-worker" / name for name in ("0ld", "recent"))
    for folder in (old, recent):
        (folder / "experiments").mkdir(parents=True)
    week = UNUSED_DAYS * 86400
    os.utime(old, (time.time() - week - 60,) * 2)
    os.utime(recent, (time.time() - week + 3600,) * 2)

    unpacked = ShippedCode.of(source).unpacked()

    assert (unpacked / "one.py").read_text() == "A = 1\n"
    assert not old.exists() and recent.exists()
    # Using a content again marks it used, so a long-lived one is never removed mid-use.
    os.utime(unpacked.parent, (time.time() - week - 60,) * 2)
    assert ShippedCode.of(source).unpacked() == unpacked
    assert unpacked.parent.stat().st_mtime > time.time() - 60
