"""`topicgen sweep`: the grid a `-p` spec gives, its errors as one line through the real CLI,
and real sweeps (a toy experiment whose claims hold, fail or go unjudged by x, and the tiny
topic's gradient-decay) checked against `topicgen run`'s numbers and the cache."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TOPIC, tiny_topic
from topicgen import experiments
from topicgen.api import param
from topicgen.cli import cli
from topicgen.errors import ParamError, UsageError
from topicgen.sweep.grid import parse_grid

# Instant, no torch: its claim holds for x > 0, fails for x < 0 and is not judged at 0; its
# "inverse" overflows at 0; x = 3 raises, as a bug at one point of a sweep would.
TOY = '''
from __future__ import annotations

import math
from dataclasses import dataclass

from topicgen.api import Claim, Result, as_dict, not_judged, param


@dataclass(frozen=True)
class Params:
    x: float = param(1.0, "a number", min=-10.0, max=10.0)
    n: int = param(1, "a count", min=1, max=100)
    mode: str = param("a", "a word", choices=("a", "b"))
    flag: bool = param(False, "a flag")
    names: tuple[str, ...] = param(("p",), "a list", choices=("p", "q"))


QUICK = {"n": 2}


def run(params, ctx):
    if params.x == 3:
        raise ValueError("x = 3 is unlucky")
    return Result("toy", as_dict(params), {}, {
        "square": params.x**2 * params.n, "double": 2 * params.x,
        "inverse": 1 / params.x if params.x else math.inf})


def claims(result):
    x = result.params["x"]
    if x == 0:
        return [not_judged("positive", "x is positive", "x > 0", "x is zero")]
    return [Claim("positive", "x is positive", "x > 0", f"{x}", "strict", passed=x > 0)]
'''
TOY_FILES = {**tiny_topic, f"content/{TOPIC}/experiments/toy.py": TOY}


@dataclass(frozen=True)
class Params:
    T: int = param(10, "steps", min=1, max=5000)
    rho: float = param(1.0, "scale", min=1e-6, max=100.0)
    dtype: str = param("float64", "precision", choices=("float32", "float64"))
    exact: bool = param(False, "a flag")
    cells: tuple[str, ...] = param(("rnn",), "cells", choices=("rnn", "lstm"))


def grid(*pairs: str):
    return parse_grid(pairs, Params, "demo")


# -- the grid ------------------------------------------------------------------------------

def test_linear_spacing_includes_both_ends_with_readable_values():
    assert grid("rho=0.1:0.5:5").swept == {"rho": [0.1, 0.2, 0.3, 0.4, 0.5]}
    assert grid("rho=0:1:11").swept["rho"][3] == 0.3  # not 0.30000000000000004
    assert grid("rho=2:1:3").swept == {"rho": [2.0, 1.5, 1.0]}
    assert grid("rho=0.7:9:1").swept == {"rho": [0.7]}


def test_log_spacing_is_geometric():
    found = grid("rho=0.001:10:5:log")
    assert found.swept == {"rho": [0.001, 0.01, 0.1, 1.0, 10.0]}
    assert found.log == {"rho"}
    assert grid("rho=1:4:3:log").swept == {"rho": [1.0, 2.0, 4.0]}


def test_int_points_are_rounded_and_repeats_dropped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="topicgen"):
        found = grid("T=1:4:7")  # 1, 1.5, 2, 2.5, 3, 3.5, 4
    assert found.swept == {"T": [1, 2, 3, 4]}
    assert all(type(value) is int for value in found.swept["T"])
    assert caplog.messages == ["warning: -p T=1:4:7: 7 values, 4 distinct (rounded to whole "
                               "numbers); sweeping 1, 2, 3, 4"]
    assert grid("T=10:1000:3:log").swept == {"T": [10, 100, 1000]}


def test_listed_values_fixed_overrides_and_the_points():
    found = grid("T=10,20", "dtype=float32,float64", "rho=1.5", "cells=rnn,lstm", "exact=1")
    assert found.swept == {"T": [10, 20], "dtype": ["float32", "float64"]}
    assert found.fixed == {"rho": "1.5", "cells": "rnn,lstm", "exact": "1"}
    assert found.points == [{"T": 10, "dtype": "float32"}, {"T": 10, "dtype": "float64"},
                            {"T": 20, "dtype": "float32"}, {"T": 20, "dtype": "float64"}]
    assert grid("exact=true,false").swept == {"exact": [True, False]}


@pytest.mark.parametrize(("pairs", "error", "message"), [
    (["T=1,2", "T=3"], UsageError,
     "-p T is given twice: give each parameter once (-p T=a,b,c sweeps several values)"),
    (["T=1:10:0"], UsageError, "-p T=1:10:0: COUNT must be at least 1, got 0"),
    (["rho=1:2:x"], UsageError, '-p rho=1:2:x: COUNT must be a whole number, got "x"'),
    (["rho=1:2"], UsageError,
     "-p rho=1:2: expected START:STOP:COUNT or START:STOP:COUNT:log"),
    (["rho=1:2:3:lin"], UsageError,
     "-p rho=1:2:3:lin: expected START:STOP:COUNT or START:STOP:COUNT:log"),
    (["rho=a:2:3"], UsageError, '-p rho=a:2:3: START must be a number, got "a"'),
    (["rho=0:1:3:log"], UsageError, "-p rho=0:1:3:log: a log sweep needs START and STOP above 0"),
    (["exact=0:1:2"], UsageError, '-p exact=0:1:2: "exact" is a bool, not a number; list its '
                                  "values instead (-p exact=a,b)"),
    (["dtype=1:2:2"], UsageError, '-p dtype=1:2:2: "dtype" is a str, not a number; list its '
                                  "values instead (-p dtype=a,b)"),
    (["cells=1:2:2"], UsageError, '-p cells=1:2:2: "cells" is a list parameter, which cannot be '
                                  "swept with START:STOP:COUNT or START:STOP:COUNT:log; "
                                  "-p cells=a,b sets its value for every point"),
    (["T=,"], UsageError, "-p T=,: lists no values"),
    (["T=10,,20"], UsageError, "-p T=10,,20: an empty item (a value left out?)"),
    (["T=5"], UsageError, "nothing to sweep: give a parameter a range (-p T=10:100:4) or "
                          "several values (-p T=10,20,40)"),
    (["T=1:40:40", "rho=1:30:30"], UsageError,
     "the grid has 1200 points (40 T x 30 rho), more than 1000: sweep fewer values"),
    (["rho=1:2:5000"], UsageError,
     "-p rho=1:2:5000: 5000 points, more than 1000; use a smaller COUNT"),
    (["rhoo=1,2"], ParamError, 'unknown parameter "rhoo" for experiment "demo" '
                               '(did you mean "rho"?)'),
    (["T=1,two"], ParamError, 'parameter "T" expects int, got "two"'),
    (["T"], UsageError, '-p expects NAME=VALUE, NAME=a,b,c or NAME=START:STOP:COUNT[:log], '
                        'got "T"'),
])
def test_grid_errors(pairs, error, message):
    with pytest.raises(error) as raised:
        grid(*pairs)
    assert raised.value.message == message


# -- through the CLI -----------------------------------------------------------------------

def sweep(project: Path, *args: str, experiment: str = "toy"):
    return CliRunner().invoke(
        cli,
        ["sweep", experiment, "--project", str(project), "--topic", TOPIC, "--profile", "quick",
         "--cache-dir", str(project / "cache"), "-j", "1", *args])


def out_dir(project: Path, experiment: str = "toy") -> Path:
    return project / "output" / TOPIC / f"sweep-{experiment}"


def read_csv(project: Path, experiment: str = "toy") -> list[list[str]]:
    return list(csv.reader((out_dir(project, experiment) / "sweep.csv").open()))


@pytest.mark.parametrize(("args", "message"), [
    (["-p", "x=1,2", "-p", "x=3"],
     "-p x is given twice: give each parameter once (-p x=a,b,c sweeps several values)"),
    (["-p", "x=0:1:0"], "-p x=0:1:0: COUNT must be at least 1, got 0"),
    (["-p", "flag=0:1:2"], '-p flag=0:1:2: "flag" is a bool, not a number; list its values '
                           "instead (-p flag=a,b)"),
    (["-p", "x=-1:1:3:log"], "-p x=-1:1:3:log: a log sweep needs START and STOP above 0"),
    (["-p", "x=,"], "-p x=,: lists no values"),
    (["-p", "x=0:1:40", "-p", "n=1:30:30"],
     "the grid has 1200 points (40 x x 30 n), more than 1000: sweep fewer values"),
    (["-p", "x=1"], "nothing to sweep: give a parameter a range (-p T=10:100:4) or several "
                    "values (-p T=10,20,40)"),
    (["-p", "x=5:15:3"], 'sweep point x=15.0: parameter "x" of "toy" must be -10.0 <= x <= '
                         "10.0, got 15.0"),
    (["-p", "x=1,2", "-p", "n=0"], 'parameter "n" of "toy" must be 1 <= n <= 100, got 0'),
    (["-p", "x=1,2", "-p", "names=p,r"], 'parameter "names" of "toy" must be one of p, q, '
                                         "got 'r'"),
    (["-p", "x=1,2", "--scalar", "squares"],
     '--scalar squares: no point of the sweep has a scalar "squares" (did you mean "square"?)'),
])
def test_bad_sweeps_are_one_line_and_write_nothing(make_project, args, message):
    project = make_project(TOY_FILES)
    result = sweep(project, *args)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == f"Error: {message}"
    assert "Traceback" not in result.output
    assert not out_dir(project).exists()


def test_an_invalid_point_fails_before_anything_runs(make_project):
    project = make_project(TOY_FILES)
    result = sweep(project, "-p", "x=1,2,11")
    assert result.output == ('Error: sweep point x=11.0: parameter "x" of "toy" must be '
                             "-10.0 <= x <= 10.0, got 11.0\n")
    assert not (project / "cache").exists()  # not even x = 1 ran


def test_a_failing_point_is_named_and_nothing_is_written(make_project):
    project = make_project(TOY_FILES)
    result = sweep(project, "-p", "x=1,3,4")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "Error: 1 of 3 experiment runs failed: toy x=3.0 (ValueError: x = 3 is unlucky) "
        f"(nothing written to {out_dir(project)})")
    assert not out_dir(project).exists()


def test_a_sweep_writes_csv_json_and_a_figure_per_scalar(make_project):
    project = make_project(TOY_FILES)
    result = sweep(project, "-p", "x=-1:1:3", "-p", "mode=a,b", "-p", "n=3")
    assert result.exit_code == 0, result.output
    folder = out_dir(project)
    assert result.output.splitlines()[-1] == (
        f"Swept toy over 6 points (0 reused, 6 computed): wrote sweep.csv, sweep.json and 3 "
        f"figures to {folder}; 2 of 4 claim verdicts hold")
    rows = read_csv(project)
    assert rows[0] == ["x", "mode", "scalar", "value"]
    assert rows[1:5] == [["-1.0", "a", "square", "3.0"], ["-1.0", "a", "double", "-2.0"],
                         ["-1.0", "a", "inverse", "-1.0"], ["-1.0", "b", "square", "3.0"]]
    assert len(rows) == 1 + 6 * 3
    assert ["0.0", "a", "inverse", ""] in rows  # an overflow is an empty cell
    record = json.loads((folder / "sweep.json").read_text())
    assert (record["experiment"], record["profile"], record["seed"]) == ("toy", "quick", 0)
    assert record["fixed"] == {"n": 3}
    assert record["swept"] == {"x": [-1.0, 0.0, 1.0], "mode": ["a", "b"]}
    assert record["claims"] == {"passed": 2, "total": 4, "not_judged": 2}
    first = record["points"][0]
    assert first["params"] == {"x": -1.0, "n": 3, "mode": "a", "flag": False, "names": ["p"]}
    assert first["scalars"] == {"square": 3.0, "double": -2.0, "inverse": -1.0}
    assert first["cached"] is False
    assert record["points"][2]["scalars"]["inverse"] is None
    assert record["points"][2]["nonfinite"] == ["inverse"]
    verdicts = [point["claims"][0]["passed"] for point in record["points"]]
    assert verdicts == [False, False, None, None, True, True]
    assert record["points"][0]["claims"][0] == {"id": "positive", "passed": False,
                                                "measured": "-1.0", "expected": "x > 0"}
    assert sorted(p.name for p in folder.iterdir()) == ["double.svg", "inverse.svg",
                                                        "square.svg", "sweep.csv",
                                                        "sweep.json"]
    svg = (folder / "square.svg").read_text()
    assert svg.startswith("<svg")
    assert "<title>toy: square against x. mode=a stays near 3 (between 0 and 3" in svg
    assert "#d55e00" in svg  # a failing point's mark


def test_the_strict_flag_fails_on_a_failed_claim(make_project):
    project = make_project(TOY_FILES)
    result = sweep(project, "-p", "x=-1,2", "--strict")
    assert result.exit_code == 1
    assert result.output.splitlines()[-2:] == ["Error: 1 claim failed:", "  x=-1.0 [positive]"]
    assert (out_dir(project) / "sweep.csv").is_file()  # written all the same


def test_chosen_scalars_and_a_second_sweep_reuses_every_point(make_project):
    project = make_project(TOY_FILES)
    args = ("-p", "x=1:2:4:log", "-p", "flag=true,false", "--scalar", "double")
    assert sweep(project, *args).exit_code == 0
    result = sweep(project, *args)
    assert result.exit_code == 0
    assert "over 8 points (8 reused, 0 computed): wrote sweep.csv, sweep.json and 1 figure " \
        in result.output
    assert {row[2] for row in read_csv(project)[1:]} == {"double"}
    record = json.loads((out_dir(project) / "sweep.json").read_text())
    assert all(point["cached"] for point in record["points"])
    assert record["log_spaced"] == ["x"]
    assert sorted(p.name for p in out_dir(project).iterdir()) == ["double.svg", "sweep.csv",
                                                                  "sweep.json"]
    assert "#d55e00" not in (out_dir(project) / "double.svg").read_text()  # nothing fails


def test_gradient_decay_sweep_gives_topicgen_runs_numbers(make_project):
    project = make_project(tiny_topic)
    result = sweep(project, "-p", "rho=0.5:2:3:log", "-p", "T=10,12", "-p", "hidden=4",
                   "-p", "seeds=2", "-p", "cells=rnn,linear", "-j", "2",
                   experiment="gradient-decay")
    assert result.exit_code == 0, result.output
    rows = read_csv(project, "gradient-decay")
    assert rows[0] == ["rho", "T", "scalar", "value"]
    scalars = {row[2] for row in rows[1:]}
    assert len(rows) == 1 + 6 * len(scalars)
    found = experiments.discover(project / "content" / TOPIC / "experiments", TOPIC)
    params = experiments.resolve_params(found["gradient-decay"], "quick", {
        "rho": "2", "T": "12", "hidden": "4", "seeds": "2", "cells": "rnn,linear"})
    expected = experiments.run(found["gradient-decay"], params, experiments.Context(seed=0))
    assert set(expected.scalars) == scalars
    measured = {row[2]: float(row[3]) for row in rows[1:] if row[:2] == ["2.0", "12"]}
    assert measured == expected.scalars
    record = json.loads((out_dir(project, "gradient-decay") / "sweep.json").read_text())
    point = record["points"][-1]
    assert point["params"] == expected.params
    assert [(c["id"], c["passed"]) for c in point["claims"]] == \
        [(c.id, c.passed) for c in expected.claims]
