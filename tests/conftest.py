"""Shared test helpers: `make_project` writes a tiny project, `tiny_topic` is a valid one.

    def test_something(make_project, tmp_path):
        project = make_project(tmp_path, {**tiny_topic, "content/t1/02-more.md": "# More\n"})

`tiny_topic` (a constant, and a fixture giving a copy) is topic "t1": one chapter with one
gradient-decay figure at T=10 hidden=4 seeds=2, which runs well under a second, so
end-to-end tests stay fast. Extend it with `{**tiny_topic, path: text}`; paths are relative
to the project root.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

TOPIC = "t1"  # the slug of `tiny_topic`: build it with load_config(project, topic=TOPIC)

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
}


def run_experiment(name: str, profile: str = "quick", seed: int = 0, **overrides):
    """Run experiment `name` at `profile`; overrides are Python values, parsed as `-p` text."""
    from topicgen import experiments

    params = experiments.resolve_params(name, profile, {k: str(v) for k, v in overrides.items()})
    return experiments.run(name, params, experiments.Context(seed=seed))


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (path relative to `root` -> text) under `root` and return `root`."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


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


@pytest.fixture(name="tiny_topic")
def tiny_topic_fixture() -> dict[str, str]:
    """A copy of `tiny_topic` that a test may change freely."""
    return dict(tiny_topic)


ROOT = Path(__file__).resolve().parents[1]


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
