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

from conftest import TINY_EXPERIMENT, TOPIC, replaced, tiny_topic, topic4_files
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
    # os._exit ended the command on the spot with exit status 0, or broke the worker pool.
    pytest.param(run_changed("    import os\n    os._exit(0)"),
                 "it called os._exit(0): an experiment returns its Result instead of ending "
                 "the process", id="os-exit-0"),
    pytest.param(appended(TINY_EXPERIMENT, "\n\nimport os\nos._exit(0)\n"),
                 "ExitCalled while importing gradient_decay.py: os._exit(0) would end the "
                 "process", id="os-exit-on-import"),
    pytest.param(claims_returning("__import__('os')._exit(1)"), "it called os._exit(1)",
                 id="os-exit-in-claims"),
    pytest.param(appended(FIGURES, '\nFIGURES = {**FIGURES, "grad_norm": '
                                   'lambda result: __import__("os")._exit(0)}\n'),
                 'figure "grad_norm" of gradient-decay failed: ExitCalled: os._exit(0) would '
                 "end the process", id="os-exit-in-figure"),
    pytest.param(run_changed("    import torch\n    result.scalars['slope'] = torch.tensor(1.0)"),
                 'scalar "slope" is a torch.Tensor, not a number (use .item() or float(...))',
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
    pytest.param(claims_returning("[" + claim("a", "__import__('numpy').bool_(True)") + "]"),
                 'claim "a": passed is a numpy.bool, not True, False or None',
                 id="passed-numpy-bool"),  # it said "passed is a bool, not True, False ..."
    # The page's error named neither the file nor the claim: 'cannot typeset $...$ in "..."'.
    pytest.param(claims_returning('[Claim(id="a", statement=r"Half: $\\frac{1}{2$.", '
                                  'expected="e", measured="m", tolerance="t", passed=True)]'),
                 'gradient_decay.py: claim "a": cannot typeset $\\frac{1}{2$ in its statement: ',
                 id="claim-formula"),
    # Not raw, "$\theta$" held a tab and typeset as "heta", and "$\nabla$" as "abla".
    pytest.param(claims_returning('[Claim(id="a", statement="Angle $\\theta$.", '
                                  'expected="e", measured="m", tolerance="t", passed=True)]'),
                 'gradient_decay.py: claim "a": its statement holds the control character '
                 'U+0009, which "\\t" becomes in a string that is not raw: write the string '
                 'r"..." so that a formula keeps its backslashes', id="claim-not-raw-tab"),
    pytest.param(claims_returning('[Claim(id="a", statement="s", expected="$\\nabla L$", '
                                  'measured="m", tolerance="t", passed=True)]'),
                 'claim "a": its expected holds the control character U+000A, which "\\n"',
                 id="claim-not-raw-newline"),
    pytest.param(run_changed("    result.experiment = 'standard-error'"),
                 'run() returned a Result named "standard-error": name it after its file, '
                 'Result("gradient-decay", ...)', id="result-named-wrongly"),
    pytest.param(claims_returning(f"[{claim('a', 'True')}, {claim('a', 'False')}]"),
                 'two claims have the id "a"', id="claim-ids-repeat"),
    pytest.param(appended(TINY_EXPERIMENT, '\nQUICK = {"repeat": 500}\n'),
                 'QUICK sets "repeat", which Params does not have', id="quick-typo"),
    # A Params default or a QUICK value of the wrong type was an internal TypeError; one out
    # of range was blamed on the chapter's figure directive.
    pytest.param(appended(TINY_EXPERIMENT, '\nQUICK = {"T": "many"}\n'),
                 """QUICK: parameter "T" is 'many', not int""", id="quick-wrong-type"),
    pytest.param(replaced(TINY_EXPERIMENT, 'param(100, "sequence length',
                          'param("lots", "sequence length'),
                 """Params: parameter "T" is 'lots', not int""", id="default-wrong-type"),
    pytest.param(replaced(TINY_EXPERIMENT, 'param(100, "sequence length',
                          'param(0, "sequence length'),
                 'gradient_decay.py: Params: parameter "T" of "gradient-decay" must be 2 <= T '
                 "<= 5000, got 0", id="default-out-of-range"),
    # A first field without a default, or a list annotated list[int], was an internal
    # TypeError (at every command, or at the first -p).
    pytest.param(replaced(TINY_EXPERIMENT, 'cells: tuple[str, ...] = param(CELLS, "cells to '
                          'unroll", choices=CELLS)', "cells: tuple[str, ...]"),
                 'gradient_decay.py:88: Params field "cells" has no default: declare it with '
                 'param(default, "help")', id="no-default"),
    pytest.param(replaced(TINY_EXPERIMENT, "cells: tuple[str, ...]", "cells: list[str]"),
                 'gradient_decay.py:88: Params field "cells" is list[str]: a parameter is int, '
                 "float, str or bool, or a tuple of one of them (tuple[int, ...], not "
                 "list[int])", id="list-annotation"),
    pytest.param(replaced(TINY_EXPERIMENT, "dtype: str = param(",
                          "dtype: str\n    _x: str = param("),  # the error was at @dataclass
                 'gradient_decay.py:101: Params field "dtype" has no default, and a field before '
                 'it has one: declare it with param(default, "help")', id="no-default-later"),
    # A plain default gave a parameter with no help line in `list` and no range.
    pytest.param(replaced(TINY_EXPERIMENT, 'cells: tuple[str, ...] = param(CELLS, "cells to '
                          'unroll", choices=CELLS)', "cells: tuple[str, ...] = CELLS"),
                 'gradient_decay.py:88: Params field "cells" is not declared with '
                 'param(default, "help"): it needs the help line topicgen list shows, and a '
                 "range", id="plain-default"),
    # On an import line, the syntax error met the build's scan of imports first: an
    # internal error naming no file.
    pytest.param(replaced(TINY_EXPERIMENT, "\nimport torch\n", "\nimport torch as\n"),
                 "gradient_decay.py:33: syntax error: invalid syntax", id="import-syntax"),
    pytest.param(replaced(TINY_EXPERIMENT, "@dataclass(frozen=True)\nclass Params",
                          "@dataclass\nclass Params"),
                 "gradient_decay.py:86: Params must be frozen: @dataclass(frozen=True)",
                 id="not-frozen"),
    pytest.param(replaced(TINY_EXPERIMENT, "min=2, max=5000)", "min=5000, max=2)"),
                 'Params: parameter "T" declares min 5000 above max 2', id="min-above-max"),
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


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_experiment_that_calls_os_exit_in_a_worker_fails_alone(make_project, tmp_path, jobs):
    """In a worker it broke the pool: an internal error that named no experiment."""
    files = run_changed("    import os\n    os._exit(0)")
    files[CHAPTER] += ("\n```{experiment-figure} layernorm:ln_jacobian\n:name: fig-ln\n\n"
                       "LN.\n```\n")
    files.update(topic4_files("layernorm"))
    project = make_project(tmp_path / "project", files)
    result = build(project, tmp_path / "cache", "--jobs", jobs)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == (
        "Error: 1 of 2 experiment runs failed: gradient-decay (it called os._exit(0): an "
        "experiment returns its Result instead of ending the process)")
    assert "layernorm          computed in" in result.output


def test_what_an_experiment_prints_never_enters_the_json_on_stdout(make_project, tmp_path):
    project = make_project(tmp_path / "project", run_changed("    print('NOISE')"))
    result = CliRunner().invoke(cli, ["run", "gradient-decay", "--project", str(project),
                                      "--topic", TOPIC, "-p", "T=10", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["experiment"] == "gradient-decay"
    assert "NOISE" in result.stderr


def test_what_a_child_process_or_c_code_writes_never_enters_stdout(make_project, tmp_path):
    """print() went to stderr, but a child process the experiment started, or a write to
    file descriptor 1, reached the command's stdout: `run --json | jq` broke."""
    import subprocess
    import sys

    writes = ("    import os, subprocess\n    subprocess.run(['echo', 'CHILD'], check=True)\n"
              "    os.write(1, b'RAW\\n')")
    project = make_project(tmp_path / "project", run_changed(writes))
    done = subprocess.run([sys.executable, "-m", "topicgen", "run", "gradient-decay",
                           "--project", str(project), "--topic", TOPIC, "-p", "T=10", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["experiment"] == "gradient-decay"
    assert "CHILD" in done.stderr and "RAW" in done.stderr


def test_a_label_used_by_two_figures_is_named_before_values_are_looked_up(make_project,
                                                                          tmp_path):
    second = ("\n```{experiment-figure} gradient-decay:log10_grad_norm\n:name: fig-decay\n"
              ":params: T=10 hidden=4 seeds=2\n\nThe same again.\n```\n")
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


def test_figures_of_an_experiment_without_claims_say_that_nothing_is_checked(make_project,
                                                                           tmp_path):
    """Every other figure is checked against its data: one that is not says so, on the page
    and once in the build's output, and points to no claims under another figure."""
    second = ("\n```{experiment-figure} gradient-decay:grad_norm\n:name: fig-decay-again\n"
              ":params: T=10 hidden=4 seeds=2\n\nThe same again.\n```\n")
    files = claims_returning("[]")
    project = make_project(tmp_path / "project", {**files, CHAPTER: files[CHAPTER] + second})
    result = build(project, tmp_path / "cache")
    assert result.exit_code == 0, result.output
    warning = (f"warning: {project / TINY_EXPERIMENT} states no claims, so its figures are "
               "shown unchecked (add claims(result) to it)")
    assert result.output.count(warning) == 1, result.output
    page = (project / "output" / TOPIC / "handout.html").read_text()
    assert page.count("Its experiment states no claims") == 2
    assert "are listed under" not in page


def test_figures_of_an_experiment_with_claims_carry_no_such_note(make_project, tmp_path):
    project = make_project(tmp_path / "project", tiny_topic)
    result = build(project, tmp_path / "cache")
    assert result.exit_code == 0 and "states no claims" not in result.output, result.output
    assert "states no claims" not in (project / "output" / TOPIC / "handout.html").read_text()


def test_an_authors_alt_text_is_what_the_page_the_drawing_and_its_file_announce(make_project,
                                                                               tmp_path):
    """`:alt:` replaces the description read from the data in the page's label, in the
    inline drawing's <title> (which the PDF's /Alt is made from) and in the figure's file,
    so that no two of them say different things."""
    from topicgen.svg import svg_title

    alt = "Gradient norms of 2 seeds, falling {{ 1 + 1 }} decades & more"
    files = replaced(CHAPTER, ":name: fig-decay\n", f":name: fig-decay\n:alt: {alt}\n")
    project = make_project(tmp_path / "project", files)
    result = build(project, tmp_path / "cache")
    assert result.exit_code == 0, result.output
    said = "Gradient norms of 2 seeds, falling 2 decades & more"  # live values rendered
    page = (project / "output" / TOPIC / "handout.html").read_text()
    assert 'aria-label="Gradient norms of 2 seeds, falling 2 decades &amp; more"' in page
    inline = page[page.index('id="fig-decay"'):]
    assert svg_title(inline[inline.index("<svg"):]) == said
    drawing = (project / "output" / TOPIC / "figures" / "fig-decay.svg").read_text()
    assert svg_title(drawing) == said
