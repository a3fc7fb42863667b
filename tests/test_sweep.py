"""`topicgen sweep`: the grid a `-p` spec gives and its errors as one line."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from topicgen.api import param
from topicgen.errors import ParamError, UsageError
from topicgen.sweep.grid import parse_grid


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
