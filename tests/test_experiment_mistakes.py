"""Mistakes in an experiment's own code read as one line naming the file and the value.

An instructor writing an experiment returns a tensor where a number goes, forgets to return
the claims, or calls sys.exit(); each must stop the build with a message that says what to
fix, never an "internal error" from the JSON writer, and never a silent exit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TINY_EXPERIMENT, TOPIC, tiny_topic
from topicgen.cli import cli

CHAPTER = f"content/{TOPIC}/01-decay.md"
FIGURES = f"content/{TOPIC}/experiments/gradient_decay_figures.py"

WRAPPED_RUN = """

_run = run


def run(params, ctx):
    result = _run(params, ctx)
{change}
    return result
"""


def appended(path: str, code: str) -> dict[str, str]:
    return {**tiny_topic, path: tiny_topic[path] + code}


def run_changed(change: str) -> dict[str, str]:
    """The tiny experiment with `change` (indented code using `result`) after its run()."""
    return appended(TINY_EXPERIMENT, WRAPPED_RUN.format(change=change))


def claims_returning(body: str) -> dict[str, str]:
    return appended(TINY_EXPERIMENT, f"\n\ndef claims(result):\n    return {body}\n")


def claim(id: str, passed: str) -> str:
    return (f'Claim(id="{id}", statement="s", expected="e", measured="m", tolerance="t", '
            f"passed={passed})")


CASES = [
    pytest.param(run_changed("    import sys\n    sys.exit(0)"),
                 "it called sys.exit(0): an experiment returns its Result instead of ending "
                 "the process", id="sys-exit-0"),
    pytest.param(run_changed("    raise SystemExit(3)"), "it called sys.exit(3)",
                 id="sys-exit-3"),
    pytest.param(appended(TINY_EXPERIMENT, "\n\nimport sys\nsys.exit(0)\n"),
                 "SystemExit while importing gradient_decay.py", id="sys-exit-on-import"),
    pytest.param(run_changed("    import torch\n    result.scalars['slope'] = torch.tensor(1.0)"),
                 'scalar "slope" is a Tensor, not a number (use .item() or float(...))',
                 id="tensor-scalar"),
    pytest.param(run_changed("    return None"), "run() must return a Result, got None",
                 id="run-returns-none"),
    pytest.param(run_changed("    result.series['grad_norm'] = (1, 2)"),
                 'series "grad_norm" is a tuple, not a Series', id="series-not-a-series"),
    pytest.param(run_changed("    import dataclasses\n    s = result.series['grad_norm']\n"
                             "    result.series['grad_norm'] = dataclasses.replace(s, x=s.x[1:])"),
                 'series "grad_norm": y[', id="series-lengths"),
    pytest.param(run_changed("    result.scalars = [1.0]"),
                 "the Result's scalars is a list, not a dict", id="scalars-not-a-dict"),
    pytest.param(run_changed("    import dataclasses\n    s = result.series['grad_norm']\n"
                             "    result.series['grad_norm'] = dataclasses.replace(s, y=[1])"),
                 "y and y_std map each curve's name to its values", id="series-y-not-a-dict"),
    pytest.param(appended(TINY_EXPERIMENT, "\n\ndef parts(params):\n"
                                           "    raise ValueError('deliberate')\n"),
                 "parts() failed: ValueError: deliberate", id="parts-raises"),
    pytest.param(claims_returning("None"), "claims() must return a list of Claim, got None",
                 id="claims-none"),
    pytest.param(claims_returning("[1]"), "claims() must return a list of Claim; one is an int",
                 id="claims-not-claims"),
    pytest.param(claims_returning(f"[{claim('a', repr('yes'))}]"),
                 'claim "a": passed is a str, not True, False or None', id="passed-str"),
    pytest.param(claims_returning(f"[{claim('a', 'True')}, {claim('a', 'False')}]"),
                 'two claims have the id "a"', id="claim-ids-repeat"),
    pytest.param(appended(TINY_EXPERIMENT, '\nQUICK = {"repeat": 500}\n'),
                 'QUICK sets "repeat", which Params does not have', id="quick-typo"),
    pytest.param(appended(FIGURES, '\nFIGURES = {**FIGURES, "grad_norm": lambda result: None}\n'),
                 'figure "grad_norm" of gradient-decay returned NoneType, not a matplotlib '
                 "Figure", id="figure-returns-none"),
]


def build(project: Path, cache: Path, *more: str):
    return CliRunner().invoke(cli, ["build", "handout", "--project", str(project), "--topic",
                                    TOPIC, "--profile", "quick", "--format", "html",
                                    "--cache-dir", str(cache), *more])


@pytest.mark.parametrize(("files", "message"), CASES)
def test_a_mistake_in_experiment_code_is_one_line_naming_it(make_project, tmp_path, files,
                                                            message):
    project = make_project(tmp_path / "project", files)
    result = build(project, tmp_path / "cache")
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert result.exit_code == 1, result.output
    assert len(errors) == 1 and message in errors[0], result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert not (project / "output" / TOPIC / "handout.html").exists()


def test_a_label_used_by_two_figures_is_named_before_values_are_looked_up(make_project,
                                                                          tmp_path):
    second = ("\n```{experiment-figure} gradient-decay:log10_grad_norm\n:name: fig-decay\n"
              ":params: T=10 hidden=4 seeds=2\n\nThe same, on a log scale.\n```\n")
    project = make_project(tmp_path / "project", appended(CHAPTER, second))
    result = build(project, tmp_path / "cache")
    line = len(tiny_topic[CHAPTER].splitlines()) + 2
    assert result.output.splitlines()[-1] == (
        f"Error: {project / CHAPTER}:{line}: label \"fig-decay\" is already used at "
        "01-decay.md:6"), result.output


def test_a_cached_result_of_the_wrong_shape_is_computed_again(make_project, tmp_path):
    project = make_project(tmp_path / "project", tiny_topic)
    cache = tmp_path / "cache"
    assert build(project, cache).exit_code == 0
    (entry,) = [path for path in cache.glob(f"{TOPIC}-*.json")]
    data = json.loads(entry.read_text())
    data["result"]["scalars"] = "x"
    entry.write_text(json.dumps(data))
    result = build(project, cache, "--out", str(tmp_path / "again"))
    assert result.exit_code == 0, result.output
    assert "unreadable" in result.output and "recomputing" in result.output
