"""Figures with other parameters from the command line, variant handouts, and `--out` means out.

The project is two experiments in pure Python: `double` (y = 2x, claim y < 10, so x = 6 fails
it) and `square`, both shown in the handout."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from topicgen.cli import cli

TOPIC = "small"
EXPERIMENT = '''"""{name}: a number and a claim about it."""
from dataclasses import dataclass

from topicgen.api import Claim, Result, Series, as_dict, param


@dataclass(frozen=True)
class Params:
    x: float = param(1.0, "input", min=0.0, max=10.0)
    points: int = param(2, "points on the line", min=2, max=100)


def run(params, ctx):
    y = {formula}
    xs = [i / (params.points - 1) for i in range(params.points)]
    return Result("{name}", as_dict(params), {{"line": Series(xs, "t", {{"y": [y * t for t in xs]}},
                                                              "y")}}, {{"y": y}})


def claims(result):
    y = result.scalars["y"]
    return [Claim("small", "y stays below 10.", "y < 10", f"{{y:g}}", "none", y < 10)]
'''
FIGURES = '''from topicgen.api import new_figure


def draw_line(result):
    series = result.series["line"]
    fig, (ax,) = new_figure()
    ax.plot(series.x, series.y["y"], label="y")
    ax.set_xlabel("t")
    ax.set_ylabel("y")
    return fig


FIGURES = {"line": draw_line}
'''
CHAPTER = """# Two numbers

```{experiment-figure} double:line
:name: fig-double

Twice x is {{ result("fig-double").scalars.y | sig(2) }}.
```

```{experiment-figure} square:line
:name: fig-square
:params: x=2

The square.
```
"""
FILES = {
    f"content/{TOPIC}/topic.toml": 'title = "Small"\nchapters = ["01.md"]\n',
    f"content/{TOPIC}/01.md": CHAPTER,
    f"content/{TOPIC}/experiments/double.py": EXPERIMENT.format(name="double",
                                                                formula="2 * params.x"),
    f"content/{TOPIC}/experiments/double_figures.py": FIGURES,
    f"content/{TOPIC}/experiments/square.py": EXPERIMENT.format(name="square",
                                                                formula="params.x ** 2"),
    f"content/{TOPIC}/experiments/square_figures.py": FIGURES,
}


@pytest.fixture
def project(make_project) -> Path:
    return make_project(FILES)


def invoke(project: Path, *args: str | Path):
    return CliRunner().invoke(cli, [str(a) for a in args] + ["--project", str(project)])


def build_args(*args: str | Path) -> list:
    return [*args, "--profile", "quick", "--jobs", "1"]


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(result, expected: str, exit_code: int) -> None:
    lines = result.output.splitlines()
    assert (result.exit_code, lines[-1]) == (exit_code, expected), result.output
    assert "Traceback" not in result.output


# -- topicgen figures -p ------------------------------------------------------------------

def test_figures_with_overrides_carry_them_in_their_names_and_report_each_claim(project):
    handout = invoke(project, *build_args("build", "handout", "--format", "html"))
    assert handout.exit_code == 0, handout.output
    before = digests(project / "output")
    result = invoke(project, *build_args("figures", "fig-double", "-p", "x=3", "-p",
                                         "points=5"))
    assert result.exit_code == 0, result.output
    figures = project / "output" / TOPIC / "figures"
    stem = "fig-double.x=3.points=5"
    assert {f"{stem}.svg", f"{stem}.csv", f"{stem}.json"} <= {p.name for p in figures.iterdir()}
    data = json.loads((figures / f"{stem}.json").read_text())
    assert data["params"] == {"x": 3.0, "points": 5} and data["scalars"]["y"] == 6.0
    assert f"[PASS] {stem} [small]: expected y < 10; measured 6" in result.output
    after = digests(project / "output")
    assert all(after[name] == digest for name, digest in before.items())  # nothing replaced


def test_a_claim_that_fails_under_overrides_is_reported_and_strict_makes_it_fatal(project):
    explored = invoke(project, *build_args("figures", "double", "-p", "x=6", "--out",
                                           project / "slides"))
    assert explored.exit_code == 0, explored.output
    assert "[FAIL] fig-double.x=6 [small]: expected y < 10; measured 12" in explored.output
    assert (project / "slides" / "fig-double.x=6.svg").is_file()
    strict = invoke(project, *build_args("figures", "double", "-p", "x=6", "--out",
                                         project / "slides", "--strict"))
    assert strict.exit_code == 1
    assert strict.output.startswith(f"Up to date: {project / 'slides'}")  # claims recorded
    assert strict.output.splitlines()[-2:] == [
        "Error: 1 claim failed:",
        "  fig-double.x=6 [small]: expected y < 10; measured 12 (tolerance none)"]


@pytest.mark.parametrize(("override", "message"), [
    ("y=1", 'Error: unknown parameter "y" for experiment "double" (choose from: points, x)'),
    ("x=11", 'Error: parameter "x" of "double" must be 0.0 <= x <= 10.0, got 11.0'),
    ("x=big", 'Error: parameter "x" expects float, got "big"'),
    ("x", 'Error: -p expects name=value, got "x"'),
])
def test_a_bad_figure_override_is_one_line_naming_the_parameter(project, override, message):
    result = invoke(project, *build_args("figures", "fig-double", "-p", override))
    one_error_line(result, message, 2)
    assert not (project / "output").exists()


# -- topicgen run --figures ---------------------------------------------------------------

def test_run_draws_the_figures_of_an_ad_hoc_run(project, tmp_path):
    out = tmp_path / "adhoc"
    result = invoke(project, "run", "double", "-p", "x=4", "--figures", out, "--format",
                    "png", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scalars"]["y"] == 8.0  # stdout stays one JSON object
    assert sorted(p.name for p in out.iterdir()) == [
        "double.line.csv", "double.line.json", "double.line.png"]
    assert (out / "double.line.png").read_bytes().startswith(b"\x89PNG")


# -- topicgen build handout -p EXPERIMENT.NAME=VALUE --------------------------------------

def test_a_variant_handout_applies_its_overrides_and_says_so(project, tmp_path):
    out = tmp_path / "variant"
    result = invoke(project, *build_args("build", "handout", "--format", "html", "--out", out,
                                         "-p", "double.x=4", "-p", "square.points=3"))
    assert result.exit_code == 0, result.output
    html = (out / "handout.html").read_text()
    assert "Built with double.x=4, square.points=3: a variant" in html
    assert "Twice x is 8.0" in html
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["variant"] == ["double.x=4", "square.points=3"]
    runs = {run["experiment"]: run["params"] for run in manifest["runs"]}
    assert runs["square"] == {"x": 2.0, "points": 3}  # on top of the figure's own x=2


def test_a_variant_whose_claim_fails_stops_like_any_handout(project, tmp_path):
    result = invoke(project, *build_args("build", "handout", "--format", "html", "--out",
                                         tmp_path / "v", "-p", "double.x=6"))
    assert result.exit_code == 1
    assert not (tmp_path / "v" / "handout.html").exists()


@pytest.mark.parametrize(("override", "message"), [
    ("x=4", 'Error: -p expects experiment.name=value (e.g. gradient-decay.T=200), got "x=4"'),
    ("doubel.x=4", 'Error: -p doubel.x: topic small has no experiment "doubel" '
                   '(did you mean "double"?)'),
    ("double.z=4", 'Error: unknown parameter "z" for experiment "double" (choose from: points, '
                   'x)'),
])
def test_a_bad_variant_override_is_one_line(project, override, message):
    result = invoke(project, *build_args("build", "handout", "--format", "html", "-p",
                                         override))
    one_error_line(result, message, 2)


# -- --out means out ----------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["build", "site"], ["build", "handout"], ["build", "report"], ["build", "all"],
    ["figures"],
])
def test_out_leaves_the_projects_own_output_byte_for_byte(project, tmp_path, command):
    full = invoke(project, "build", "all", "--jobs", "1")  # the handout to hand out
    assert full.exit_code == 0, full.output
    before = digests(project / "output")
    preview = invoke(project, *build_args(*command, "--out", tmp_path / "preview"))
    assert preview.exit_code == 0, preview.output
    assert digests(project / "output") == before
    assert any((tmp_path / "preview").rglob("*.html")) or command == ["figures"]
