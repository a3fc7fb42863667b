"""No process outlives the command that started it, however the command ends.

Each command runs as a real process with its output read through pipes, as CI and scripts
read it. Every process it starts inherits a marker in its environment, so whatever is left
afterwards is found by scanning /proc, even once an orphan has been adopted by another parent.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import TINY_EXPERIMENT, TOPIC, topic4_files

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").is_file(),
                                reason="finds processes through /proc")

MARK = "TOPICGEN_TEST_PROCESS_MARK"
CHAPTER = f"content/{TOPIC}/01-decay.md"
SECOND_FIGURE = "\n```{experiment-figure} layernorm:ln_jacobian\n:name: fig-ln\n\nLN.\n```\n"
"""With two runs and two figures, `--jobs 2` starts worker pools for every stage."""


def marked(mark: str) -> list[int]:
    """The live processes whose environment carries `mark`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environment = (entry / "environ").read_bytes()  # empty for a zombie
            except OSError:
                continue
            if f"{MARK}={mark}".encode() in environment.split(b"\0"):
                found.append(int(entry.name))
    return found


def left_after(mark: str, seconds: float) -> list[str]:
    """What still runs with `mark` once `seconds` have passed (or at once if nothing does)."""
    deadline = time.monotonic() + seconds
    while (pids := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    described = []
    for pid in pids:
        with contextlib.suppress(OSError):  # it ended meanwhile
            described.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                             .decode(errors="replace"))
    return described


def environment(mark: str, **extra: str) -> dict[str, str]:
    return {**os.environ, MARK: mark, **extra}


def topicgen(*args: str) -> list[str]:
    return [sys.executable, "-m", "topicgen", *args]


def build(project: Path, *extra: str) -> list[str]:
    return topicgen("build", "handout", "--project", str(project), "--topic", TOPIC,
                    "--profile", "quick", "--cache-dir", str(project / "cache"), "--jobs", "2",
                    *extra)


@pytest.fixture
def two_figures(make_project, tiny_topic) -> Path:
    return make_project({**tiny_topic, **topic4_files("layernorm"),
                         CHAPTER: tiny_topic[CHAPTER] + SECOND_FIGURE})


@pytest.fixture
def mark() -> str:
    """A fresh marker; fails the test if a process carrying it is still alive afterwards."""
    value = uuid.uuid4().hex
    yield value
    left = left_after(value, 15)
    for pid in marked(value):  # a failed test leaves nothing running on the machine either
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert left == []


def run_piped(command: list[str], mark: str, **extra: str) -> subprocess.CompletedProcess:
    """Run to the end with stdout and stderr as pipes: returns only once every process
    holding them has exited."""
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env=environment(mark, **extra))


@pytest.mark.parametrize("broken", ["topic", "experiment"])
def test_a_failed_build_read_through_pipes_returns_and_leaves_nothing(two_figures, mark,
                                                                      broken):
    chapter = two_figures / CHAPTER
    if broken == "experiment":
        chapter.write_text(chapter.read_text().replace("layernorm:", "layernrom:"))
    args = ["--topic", "no-such-topic"] if broken == "topic" else []
    result = run_piped(build(two_figures, *args), mark)
    assert result.returncode != 0
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in result.stderr
    assert marked(mark) == []  # already: the pipes closed, so every holder has gone


def test_a_successful_build_with_worker_pools_leaves_nothing(two_figures, mark):
    result = run_piped(build(two_figures), mark)
    assert result.returncode == 0, result.stderr
    assert "Built handout.html, handout.pdf" in result.stdout
    assert marked(mark) == []


def test_an_experiment_that_raises_in_a_worker_leaves_nothing(two_figures, mark):
    experiment = two_figures / TINY_EXPERIMENT
    experiment.write_text(experiment.read_text()
                          + "\n\ndef generator(*args):\n    raise ValueError('deliberate')\n")
    result = run_piped(build(two_figures), mark)
    assert result.returncode == 1
    assert "gradient-decay (ValueError: deliberate)" in result.stderr
    assert "layernorm" in result.stderr  # the other experiment still ran
    assert marked(mark) == []


def test_a_worker_killed_under_an_experiment_is_named_not_an_internal_error(two_figures, mark):
    """The out-of-memory killer's SIGKILL broke the pool: "internal error: BrokenProcessPool:
    A process in the process pool was terminated abruptly", naming no experiment."""
    experiment = two_figures / TINY_EXPERIMENT
    experiment.write_text(experiment.read_text() + (
        "\n\ndef run(params, ctx):\n    import os, signal\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"))
    result = run_piped(build(two_figures), mark)
    assert result.returncode == 1, result.stderr
    error = result.stderr.splitlines()[-1]
    assert re.match(r"Error: a worker process died \(killed by SIGKILL\) while running "
                    r"(gradient-decay|one of gradient-decay, layernorm): ", error), error
    assert error.endswith(": out of memory (the system then kills the largest process), or a "
                          "crash in native code; nothing was published")
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not (two_figures / "output").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_process_an_experiment_starts_and_leaves_ends_with_the_command(two_figures, mark,
                                                                         jobs):
    """In the command itself (one job) or in a worker, whose end orphans it: it ran on."""
    experiment = two_figures / TINY_EXPERIMENT
    experiment.write_text(experiment.read_text() + (
        "\n\n_run = run\n\n\ndef run(params, ctx):\n    import subprocess\n"
        "    subprocess.Popen(['sleep', '60'], stdout=subprocess.DEVNULL,\n"
        "                     stderr=subprocess.DEVNULL)\n    return _run(params, ctx)\n"))
    result = run_piped(build(two_figures, "--jobs", jobs, "--format", "html"), mark)
    assert result.returncode == 0, result.stderr
    assert left_after(mark, 1) == []


def start_long_build(project: Path, mark: str) -> subprocess.Popen:
    """A build whose first experiment runs for several seconds, in its own session (as a
    terminal runs a command), returned once its experiments have started."""
    chapter = project / CHAPTER
    chapter.write_text(chapter.read_text().replace("T=10 hidden=4 seeds=2",
                                                   "T=3000 hidden=256 seeds=4"))
    process = subprocess.Popen(build(project), stderr=subprocess.PIPE, text=True,
                               env=environment(mark), start_new_session=True)
    for line in process.stderr:
        if line.startswith("plan"):
            break
    time.sleep(1.0)  # the pool's workers are up and running
    assert len(marked(mark)) >= 3, "expected the build and its workers to be running"
    return process


def test_only_topic_code_is_refused_os_exit(monkeypatch):
    """A worker's watch thread ends it with os._exit once its command is gone. While the
    main thread ran an experiment, that call raised in the watch thread instead, and after
    `kill -9` of its command the worker ran on (the test below, when the timing met it)."""
    from topicgen.experiments.loader import ExitCalled, topic_code

    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)
    with topic_code():
        watch = threading.Thread(target=os._exit, args=(1,))
        watch.start()
        watch.join()
        with pytest.raises(ExitCalled):
            os._exit(0)
    assert exits == [1]
    assert os._exit == exits.append


def test_kill_9_of_a_build_leaves_no_worker_alive(two_figures, mark):
    process = start_long_build(two_figures, mark)
    process.kill()
    process.wait()
    process.stderr.close()
    assert left_after(mark, 15) == []


def test_kill_9_while_the_server_imports_ends_the_server_at_once(two_figures, mark):
    """The workers' server imports torch, matplotlib and WeasyPrint for seconds before it
    watches for the command's end: after `kill -9` of the command it imported on."""
    process = subprocess.Popen(build(two_figures), stderr=subprocess.DEVNULL,
                               env=environment(mark), start_new_session=True)
    deadline = time.monotonic() + 60
    while not (servers := [pid for pid in marked(mark) if b"forkserver" in
                           Path(f"/proc/{pid}/cmdline").read_bytes()]):
        assert time.monotonic() < deadline and process.poll() is None, "no server started"
        time.sleep(0.01)
    assert "libpango" not in Path(f"/proc/{servers[0]}/maps").read_text()  # still importing
    process.kill()
    process.wait()
    assert left_after(mark, 1) == []


def test_ctrl_c_of_a_build_leaves_nothing(two_figures, mark):
    """Nothing is left once the command's output has ended; a process ending within a
    moment (once, in CI under load, one was still there as the output ended) names itself."""
    process = start_long_build(two_figures, mark)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl+C reaches the whole group
    rest = process.stderr.read()
    assert process.wait(60) == 128 + signal.SIGINT, rest  # as a shell reports it
    assert "Traceback" not in rest
    assert left_after(mark, 2) == []


def test_sigterm_of_a_build_ends_it_like_ctrl_c(two_figures, mark):
    """kill, timeout and a cancelled CI job send SIGTERM to the command alone: its workers
    end with it, and nothing is left for multiprocessing's resource tracker to warn about."""
    process = start_long_build(two_figures, mark)
    process.terminate()
    rest = process.stderr.read()
    assert process.wait(60) == 128 + signal.SIGTERM, rest
    assert "Traceback" not in rest and "leaked" not in rest, rest
    assert left_after(mark, 15) == []


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_while_torch_is_imported_stops_the_build_without_a_traceback(two_figures, mark,
                                                                            number):
    """The server that workers are forked from starts with the build and imports torch for
    a second or two, while the build imports it too to plan: a Ctrl+C or a SIGTERM then must
    stop the build, and the server must not print a traceback of its imports."""
    process = subprocess.Popen(build(two_figures), stderr=subprocess.PIPE, text=True,
                               env=environment(mark), start_new_session=True)
    for line in process.stderr:
        if line.startswith("load"):
            break
    time.sleep(0.3)  # the server is importing by now, and so is this build (torch)
    os.killpg(process.pid, number)
    rest = process.stderr.read()
    # torch's import once swallowed it: the build ran on, and published
    assert process.wait(60) == 128 + number, rest
    assert "Traceback" not in rest and "Built" not in rest
    assert left_after(mark, 15) == []


def test_a_sigterm_while_an_experiment_is_imported_waits_for_the_import(monkeypatch):
    """As Ctrl+C does: torch's import swallowed the KeyboardInterrupt a SIGTERM raises in 1
    of 5 builds stopped 0.7 s in, which then ran on and published. Held by blocking the
    signal in the main thread, it still arrived wherever another thread ran (in CI)."""
    from topicgen.experiments import loader

    other = threading.Thread(target=time.sleep, args=(2,), daemon=True)
    other.start()  # a thread that does not block the signal
    arrived: list[int] = []
    real_import = loader.importlib.import_module

    def importing(name):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert arrived == []  # held while the file (and torch) is imported
        return real_import(name)

    monkeypatch.setattr(loader.importlib, "import_module", importing)
    previous = signal.signal(signal.SIGTERM, lambda number, frame: arrived.append(number))
    try:
        loader.import_module("json", Path(__file__))
        assert arrived == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


class Running:
    """A long-running command (serve, --watch) in its own session, its output read by
    threads so it never blocks on a full pipe."""

    def __init__(self, command: list[str], mark: str):
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True,
                                        env=environment(mark), start_new_session=True)
        self.lines: list[str] = []
        for stream in (self.process.stdout, self.process.stderr):
            threading.Thread(target=self.read, args=(stream,), daemon=True).start()

    def read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, after: int = 0, seconds: float = 120) -> int:
        """The index of the first line from `after` on that contains `text`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for i, line in enumerate(self.lines[after:], after):
                if text in line:
                    return i
            assert self.process.poll() is None, "\n".join(self.lines)
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r}:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(60)


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(path).pages)


def wait_for_pdf_with(path: Path, text: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if text in pdf_text(path):
                return
        except Exception:  # noqa: BLE001, S110 - absent, or replaced while being read
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} never showed {text!r}")


def test_serve_rebuilds_the_pdf_after_a_prose_edit_and_leaves_nothing_when_stopped(
        make_project, tiny_topic, mark):
    project = make_project(tiny_topic)
    serving = Running(topicgen("serve", "--project", str(project), "--profile", "quick",
                               "--cache-dir", str(project / "cache"), "--port", "0"), mark)
    serving.wait_for("serving ")
    chapter = project / CHAPTER
    chapter.write_text(chapter.read_text() + "\nA sentence added while serving.\n")
    wait_for_pdf_with(project / "output" / "site" / TOPIC / "handout.pdf",
                      "A sentence added while serving.")
    assert serving.stop() == 0
    assert "Traceback" not in "\n".join(serving.lines)
    assert left_after(mark, 5) == []


def test_watch_rebuilds_on_each_save_shows_errors_and_goes_on(make_project, tiny_topic, mark):
    project = make_project({**tiny_topic, "topicgen.toml": 'formats = ["pdf"]\n'})
    watching = Running(build(project, "--format", "pdf", "--watch"), mark)
    first = watching.wait_for("Built handout.pdf")
    chapter = project / CHAPTER
    good = chapter.read_text()
    chapter.write_text(good + "\nSee {numref}`fig-missing`.\n")
    failed = watching.wait_for('unknown label "fig-missing"', first)
    assert watching.lines[failed].startswith("Error: ")
    chapter.write_text(good + "\nA sentence added while watching.\n")
    built = watching.wait_for("Built handout.pdf", failed)
    assert "A sentence added while watching." in pdf_text(project / "output" / TOPIC /
                                                          "handout.pdf")
    # topicgen.toml is read again too: a bad edit there was ignored ("Built ...").
    (project / "topicgen.toml").write_text('formats = ["pdf"]\nbogus = 1\n')
    failed = watching.wait_for('unknown key "bogus"', built)
    assert watching.lines[failed].startswith("Error: ")
    assert watching.stop() == 0
    assert left_after(mark, 5) == []


def test_a_cold_build_with_workers_never_imports_torch_in_the_command(two_figures, mark):
    """Where the experiments run in workers, they are imported there from the plan on
    (parameters, parts, combining): the command holds no second copy of torch (about
    150 MiB), and its outputs are those of a build in one process."""
    script = ("import sys\nfrom topicgen.cli import cli\ntry:\n"
              f"    cli({build(two_figures)[3:]!r}, prog_name='topicgen')\n"
              "except SystemExit as done:\n    print('exit', done.code)\n"
              "print('torch loaded:', 'torch' in sys.modules)\n")
    result = run_piped([sys.executable, "-c", script], mark)
    assert "(0 reused, 2 computed)" in result.stdout, result.stderr
    assert result.stdout.splitlines()[-2:] == ["exit 0", "torch loaded: False"]
    alone = run_piped(build(two_figures, "--jobs", "1", "--out", str(two_figures / "alone"),
                            "--cache-dir", str(two_figures / "cache-alone")), mark)
    assert alone.returncode == 0, alone.stderr
    pooled = two_figures / "output" / TOPIC
    for name in ("handout.html", "handout.pdf"):
        assert (pooled / name).read_bytes() == (two_figures / "alone" / name).read_bytes()


def test_workers_are_forked_with_torch_matplotlib_and_weasyprint_loaded():
    """Workers share one copy of the heavy libraries instead of importing their own: each
    is forked, with them already loaded, from a server process that is not the command."""
    from topicgen.pools import WorkerPool

    with WorkerPool(2) as pool:
        worker, server = pool.submit(os.getpid).result(), pool.submit(os.getppid).result()
        maps = Path(f"/proc/{worker}/maps").read_text()  # os.getpid imported nothing
    assert server != os.getpid()
    for library in ("libtorch_cpu", "matplotlib", "libpango", "pikepdf"):  # WeasyPrint: pango
        assert library in maps


def test_an_interrupt_while_a_worker_starts_waits_until_it_runs(monkeypatch):
    """Ctrl+C between the steps of a worker's start left the server half a request, and its
    traceback on the command's stderr (once, in CI): the interrupt is held until the worker
    runs, then raised, and the pool's end kills the worker."""
    from multiprocessing import reduction

    from topicgen.pools import WorkerPool

    send = reduction.sendfds

    def interrupted(sock, fds):
        signal.raise_signal(signal.SIGINT)  # Ctrl+C after connecting, before sending
        return send(sock, fds)

    monkeypatch.setattr(reduction, "sendfds", interrupted)
    pool = WorkerPool(1)
    with pytest.raises(KeyboardInterrupt):
        pool.submit(os.getpid)
    monkeypatch.undo()
    [worker] = pool.spawner.started
    assert worker.pid is not None  # started whole
    pool.close(finished=False)
    assert not worker.is_alive()
    with WorkerPool(1) as pool:  # the server took the request whole and still serves
        assert pool.submit(os.getppid).result() != os.getpid()


@contextlib.contextmanager
def sigterm_like_ctrl_c():
    """SIGTERM raises KeyboardInterrupt, as the command's handler (cli.stop) has it."""
    def like_ctrl_c(_number, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, like_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_interrupt_while_the_pool_starts_its_thread_waits_for_it(monkeypatch):
    """SIGTERM as the first submit started the pool's thread that hands out tasks left that
    thread never started (once, in CI): the pool's end failed with "cannot join thread
    before it is started", and its semaphores were reported leaked. The interrupt is held
    until the submit returns, so the pool ends whole."""
    from concurrent.futures import process

    from topicgen.pools import WorkerPool

    start = process._ExecutorManagerThread.start

    def interrupted(thread):
        signal.raise_signal(signal.SIGTERM)  # as `kill` would, before the thread runs
        return start(thread)

    monkeypatch.setattr(process._ExecutorManagerThread, "start", interrupted)
    with sigterm_like_ctrl_c():
        pool = WorkerPool(1)
        with pytest.raises(KeyboardInterrupt):
            pool.submit(os.getpid)
        monkeypatch.undo()
        assert pool._executor_manager_thread.is_alive()  # started whole
        pool.close(finished=False)  # raised "cannot join thread before it is started"
    with WorkerPool(1) as pool:
        assert pool.submit(os.getppid).result() != os.getpid()


def test_sigterm_while_the_server_starts_waits_until_it_can_be_stopped(monkeypatch):
    """A SIGTERM between the server's start and the recording of its pid would leave it
    running unstopped through its imports, holding the command's stdout."""
    from multiprocessing import forkserver, util

    from topicgen.pools import start_server, stop_server

    stop_server()
    spawned, spawn = [], util.spawnv_passfds

    def interrupted(path, args, passfds):
        pid = spawn(path, args, passfds)
        if "multiprocessing.forkserver" in str(args):  # not the resource tracker
            spawned.append(pid)
            signal.raise_signal(signal.SIGTERM)
        return pid

    monkeypatch.setattr(util, "spawnv_passfds", interrupted)
    try:
        with sigterm_like_ctrl_c(), pytest.raises(KeyboardInterrupt):
            start_server(("os",))
        assert spawned and forkserver._forkserver._forkserver_pid == spawned[0]
    finally:
        monkeypatch.undo()
        stop_server()
        for pid in spawned:  # the old code lost it
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert not Path(f"/proc/{spawned[0]}/environ").exists() or \
        Path(f"/proc/{spawned[0]}/environ").read_bytes() == b""  # gone, or a reaped zombie


def test_a_pool_after_the_server_was_stopped_starts_a_new_one():
    """`serve` and the tests make pools long after one command-like end stopped the server."""
    from topicgen.pools import WorkerPool, stop_server

    with WorkerPool(1) as pool:
        first = pool.submit(os.getppid).result()
    stop_server()
    with WorkerPool(1) as pool:
        second = pool.submit(os.getppid).result()
    assert first != second
    assert not Path(f"/proc/{first}").exists() or Path(f"/proc/{first}/environ").read_bytes() == b""
