"""Shared test helpers: `make_project` writes a tiny project, `tiny_topic` is a valid one.

    def test_something(make_project, tmp_path):
        project = make_project(tmp_path, {**tiny_topic, "content/t1/02-more.md": "# More\n"})

`tiny_topic` (a constant, and a fixture giving a copy) is topic "t1": one chapter with one
gradient-decay figure at T=10 hidden=4 seeds=2, which runs well under a second, so
end-to-end tests stay fast; its experiment is a copy of Topic 4's (`topic4_files` copies
more). Extend it with `{**tiny_topic, path: text}`; paths are relative
to the project root.
"""

from __future__ import annotations

import inspect
import json
import signal
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

# A Ctrl+C must reach the commands the tests start however pytest was started: a shell
# starts a background job with SIGINT ignored, and its children would inherit that. Caught
# here, it is back to the default in every child.
signal.signal(signal.SIGINT, signal.default_int_handler)

TOPIC = "t1"  # the slug of `tiny_topic`: build it with load_config(project, topic=TOPIC)
ROOT = Path(__file__).resolve().parents[1]
TOPIC4_EXPERIMENTS = ROOT / "content" / "topic4" / "experiments"


from topicgen.content.topic import PLANTED_BUGS_FILE  # noqa: E402  (the report reads it)


def pytest_addoption(parser):
    parser.addoption("--write-planted-bugs", metavar="CONTENT",
                     help="Write CONTENT/<topic>/planted-bugs.json from the collected tests "
                          "marked planted_bug (use with --collect-only).")


def pytest_collection_modifyitems(config, items):
    content = config.getoption("--write-planted-bugs")
    if content:
        for topic, bugs in planted_bugs(items).items():
            path = Path(content) / topic / PLANTED_BUGS_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"bugs": bugs}, indent=2) + "\n", encoding="utf-8")


def planted_bugs(items) -> dict[str, list[dict[str, str]]]:
    """topic -> its planted bugs, each with the claim kind that catches it (xfail: none).

    A test marked planted_bug passes only if its bug fails a claim of that kind, so a green
    suite vouches for every "caught_by" listed here."""
    found: dict[str, list[dict[str, str]]] = {}
    for item in items:
        mark = item.get_closest_marker("planted_bug")
        if mark is None:
            continue
        topic, experiment, caught = mark.args
        bug = item.callspec.id if hasattr(item, "callspec") else item.name
        caught = "none" if item.get_closest_marker("xfail") else caught
        found.setdefault(topic, []).append({"experiment": experiment, "bug": bug,
                                            "caught_by": caught})
    return {topic: sorted(bugs, key=lambda b: (b["experiment"], b["bug"]))
            for topic, bugs in sorted(found.items())}


def topic4_files(*stems: str, topic: str = TOPIC) -> dict[str, str]:
    """Topic 4's experiments `stems`, their figures and its helpers, as files of `topic`."""
    names = [f"{stem}{suffix}.py" for stem in stems for suffix in ("", "_figures")]
    helpers = [p.name for p in TOPIC4_EXPERIMENTS.glob("_*.py")]
    return {f"content/{topic}/experiments/{name}": (TOPIC4_EXPERIMENTS / name).read_text("utf-8")
            for name in [*names, *helpers]}


tiny_topic: dict[str, str] = {
    f"content/{TOPIC}/topic.toml": """\
title = "A tiny topic"
label = "Topic T"
summary = "One chapter, one figure, one citation."
authors = ["topicgen tests"]
chapters = ["01-decay.md"]
references = "references.toml"
""",
    f"content/{TOPIC}/references.toml": """\
[Pascanu13]
authors = "R. Pascanu, T. Mikolov, Y. Bengio"
title = "On the difficulty of training recurrent neural networks"
venue = "ICML 2013"
year = 2013
""",
    f"content/{TOPIC}/01-decay.md": """\
(sec-decay)=
# Gradient decay

The gradient fades {cite}`Pascanu13`, as {numref}`fig-decay` shows.

```{experiment-figure} gradient-decay:grad_norm
:name: fig-decay
:params: T=10 hidden=4 seeds=2

Gradient norm against distance $k$.
```

The tanh RNN keeps {{ result("fig-decay").scalars.decay_factor_rnn | sig(2) }} per step.
""",
    **topic4_files("gradient_decay"),
}


# Appended to tiny_topic's experiment file, it makes the experiment claim something false.
WRONG_CLAIM = """

def claims(result):
    return [Claim(id="deliberately-wrong", statement="Gradients never vanish.",
                  expected="decay factor 1", measured="0.5", tolerance="0", passed=False)]
"""
TINY_EXPERIMENT = f"content/{TOPIC}/experiments/gradient_decay.py"


def topic4(name: str):
    """Topic 4's experiment `name`, to load, run or key."""
    from topicgen.experiments import discover

    return discover(TOPIC4_EXPERIMENTS, "topic4")[name]


def topic4_module(stem: str):
    """A module of Topic 4's experiments folder by file stem: experiment, figures or helper."""
    from topicgen.experiments.loader import import_module, package

    return import_module(f"{package(TOPIC4_EXPERIMENTS, 'topic4')}.{stem}",
                         TOPIC4_EXPERIMENTS / f"{stem}.py")


def mutate(monkeypatch, module, name: str, old: str, new: str) -> None:
    """Plant a bug: replace `module.name` by its own source with `old` replaced by `new`
    (exactly once), so the mutant is the real code with one plausible mistake in it."""
    source = textwrap.dedent(inspect.getsource(getattr(module, name)))
    assert source.count(old) == 1, f"{name} no longer contains {old!r}: update this bug"
    scope: dict = {}
    # Compiled as the module is, with postponed annotations (`annotations` is the feature
    # object that this file's own `from __future__ import annotations` binds).
    code = compile(source.replace(old, new), f"<{name} with a planted bug>", "exec",
                   flags=annotations.compiler_flag, dont_inherit=True)
    exec(code, module.__dict__, scope)
    monkeypatch.setattr(module, name, scope[name])
    # A module-level table of functions (long-range-memory's FORWARD) must hold the mutant too.
    for table in (value for value in vars(module).values() if isinstance(value, dict)):
        for key, value in list(table.items()):
            if getattr(value, "__name__", None) == name and callable(value):
                monkeypatch.setitem(table, key, scope[name])


def evidence_failed(result) -> list[str]:
    """The ids of the evidence claims that failed: what a planted bug must produce."""
    return [c.id for c in result.claims if c.kind == "evidence" and c.passed is False]


def run_experiment(name, profile: str = "quick", seed: int = 0, **overrides):
    """Run Topic 4's experiment `name` (or an Experiment) at `profile`; overrides are Python
    values, parsed as `-p` text."""
    from topicgen import experiments

    experiment = topic4(name) if isinstance(name, str) else name
    params = experiments.resolve_params(experiment, profile,
                                        {k: str(v) for k, v in overrides.items()})
    return experiments.run(experiment, params, experiments.Context(seed=seed))


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (path relative to `root` -> text) under `root` and return `root`."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def close_figures():
    """Tests that draw a figure themselves leave it to the test after them: close every
    pyplot figure, as a build does once it has saved one (only where pyplot is loaded)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """`make_project(tmp_path, files)` -> the project root; `make_project(files)` for short.

    The short form writes into this test's tmp_path.
    """

    def make(root: Path | dict[str, str], files: dict[str, str] | None = None) -> Path:
        if files is None:
            root, files = tmp_path, root
        return write_project(Path(root), files)

    return make


def replaced(path: str, old: str, new: str) -> dict[str, str]:
    """The tiny topic with the first `old` in file `path` replaced by `new`."""
    assert old in tiny_topic[path]
    return {**tiny_topic, path: tiny_topic[path].replace(old, new, 1)}


@pytest.fixture(name="tiny_topic")
def tiny_topic_fixture() -> dict[str, str]:
    """A copy of `tiny_topic` that a test may change freely."""
    return dict(tiny_topic)



@pytest.fixture(scope="session")
def quick_cache(tmp_path_factory) -> Path:
    """One result cache for every quick build of the real topic4 in this test session, so
    each experiment runs once however many tests build the handout, report or site."""
    return tmp_path_factory.mktemp("quick-cache")


@pytest.fixture(scope="session")
def topic4_site(tmp_path_factory, quick_cache) -> Path:
    """The docs site of a copy of this repository's content, quick profile: the site folder."""
    import shutil

    from click.testing import CliRunner

    from topicgen.cli import cli

    project = tmp_path_factory.mktemp("site-project")
    shutil.copytree(ROOT / "content", project / "content")
    result = CliRunner().invoke(cli, ["build", "site", "--project", str(project), "--profile",
                                      "quick", "--cache-dir", str(quick_cache)])
    assert result.exit_code == 0, result.output
    return project / "output" / "site"
