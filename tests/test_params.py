"""Experiment parameters (profiles, `-p` overrides, ranges) and the Result JSON contract."""

from __future__ import annotations

import json
import math

import pytest

from conftest import ROOT, topic4
from topicgen import experiments
from topicgen.api import Claim, Result, Series
from topicgen.content.topic import load_topic
from topicgen.errors import ParamError, UsageError

ALL_CELLS = ("rnn", "lstm", "gru", "linear")


def resolve(profile: str = "quick", **overrides: str):
    return experiments.resolve_params(topic4("gradient-decay"), profile, overrides)


def resolve_error(profile: str = "quick", **overrides: str) -> str:
    with pytest.raises(UsageError) as excinfo:
        resolve(profile, **overrides)
    assert excinfo.value.exit_code == 2
    return f"Error: {excinfo.value.format_message()}"


def fields(params) -> dict:
    return {name: getattr(params, name) for name in params.__dataclass_fields__}


def test_full_profile_is_the_dataclass_defaults():
    assert fields(resolve("full")) == {
        "cells": ALL_CELLS, "T": 100, "hidden": 64, "seeds": 10, "rho": 1.0, "dtype": "float64",
    }


def test_quick_profile_shrinks_the_run():
    assert fields(resolve("quick")) == {
        "cells": ALL_CELLS, "T": 40, "hidden": 32, "seeds": 10, "rho": 1.0, "dtype": "float64",
    }


def test_overrides_are_parsed_by_type():
    params = resolve("full", T="7", rho="1.5", cells="rnn, lstm", dtype="float32", seeds="2")
    assert fields(params) == {
        "cells": ("rnn", "lstm"), "T": 7, "hidden": 64, "seeds": 2, "rho": 1.5,
        "dtype": "float32",
    }
    assert type(params.T) is int and type(params.rho) is float


def test_overrides_apply_on_top_of_the_profile():
    assert (resolve("quick", hidden="4").T, resolve("quick", hidden="4").hidden) == (40, 4)


def test_float_param_accepts_an_int_and_exponent():
    assert resolve(rho="2").rho == 2.0
    assert resolve(rho="1e-3").rho == 0.001


def test_minus_zero_is_zero():
    """-0.0 passed "min=0" and reached gate-saturation as a weight scale: erfc(x / -0.0) = 2
    made its saturation floor 2 and failed both its claims, where 0 passes them."""
    experiment = topic4("gate-saturation")
    scales = experiments.resolve_params(experiment, "quick", {"scales": "-0.0,1"}).scales
    assert scales == (0.0, 1.0) and math.copysign(1, scales[0]) == 1
    with pytest.raises(ParamError, match="lists 0.0 twice"):
        experiments.resolve_params(experiment, "quick", {"scales": "0,-0.0"})


def test_unknown_param_suggests_the_closest():
    assert resolve_error(hiden="4") == (
        'Error: unknown parameter "hiden" for experiment "gradient-decay" '
        '(did you mean "hidden"?)'
    )


def test_unknown_param_without_a_close_match_lists_them_all():
    assert resolve_error(width="4") == (
        'Error: unknown parameter "width" for experiment "gradient-decay" '
        "(choose from: T, cells, dtype, hidden, rho, seeds)"
    )


@pytest.mark.parametrize(("name", "text", "message"), [
    ("T", "7.5", 'parameter "T" expects int, got "7.5"'),
    ("T", "ten", 'parameter "T" expects int, got "ten"'),
    ("rho", "abc", 'parameter "rho" expects float, got "abc"'),
])
def test_wrong_type(name, text, message):
    assert resolve_error(**{name: text}) == f"Error: {message}"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("T", "0", 'parameter "T" of "gradient-decay" must be 2 <= T <= 5000, got 0'),
    ("T", "5001", 'parameter "T" of "gradient-decay" must be 2 <= T <= 5000, got 5001'),
    ("rho", "0", 'parameter "rho" of "gradient-decay" must be 1e-06 <= rho <= 100.0, got 0.0'),
    ("rho", "-1",
     'parameter "rho" of "gradient-decay" must be 1e-06 <= rho <= 100.0, got -1.0'),
    ("rho", "nan", 'parameter "rho" of "gradient-decay" must be 1e-06 <= rho <= 100.0, got nan'),
    ("rho", "inf", 'parameter "rho" of "gradient-decay" must be 1e-06 <= rho <= 100.0, got inf'),
    ("seeds", "0", 'parameter "seeds" of "gradient-decay" must be 1 <= seeds <= 1000, got 0'),
    ("cells", "",
     'parameter "cells" of "gradient-decay" must be one of rnn, lstm, gru, linear, '
     "got an empty list"),
    ("cells", " , ",
     'parameter "cells" of "gradient-decay" must be one of rnn, lstm, gru, linear, '
     "got an empty list"),
    ("cells", "rnn,foo",
     'parameter "cells" of "gradient-decay" must be one of rnn, lstm, gru, linear, '
     "got 'foo'"),
    ("dtype", "float16",
     "parameter \"dtype\" of \"gradient-decay\" must be one of float32, float64, "
     "got 'float16'"),
])
def test_out_of_range(name, text, message):
    with pytest.raises(ParamError):
        resolve(**{name: text})
    assert resolve_error(**{name: text}) == f"Error: {message}"


@pytest.mark.parametrize(("text", "message"), [
    ("rnn,,lstm", 'parameter "cells" has an empty item in "rnn,,lstm"'),
    ("rnn,lstm,", 'parameter "cells" has an empty item in "rnn,lstm,"'),
    ("rnn,lstm,rnn", 'parameter "cells" of "gradient-decay" lists \'rnn\' twice'),
])
def test_a_list_with_a_gap_or_a_repeat_is_refused(text, message):
    """A repeat would be computed twice and drawn as two points at one x; a gap is a value
    left out, not a shorter list."""
    assert resolve_error(cells=text) == f"Error: {message}"


def test_repeated_numbers_are_repeats_however_written():
    with pytest.raises(ParamError, match="lists 0.9 twice"):
        experiments.resolve_params(topic4("residual-depth"), "quick",
                                   {"shortcut_scales": "1.1,0.9,.90"})


def test_unknown_profile():
    assert resolve_error("quik") == 'Error: unknown profile "quik" (did you mean "quick"?)'


def test_unknown_experiment():
    with pytest.raises(UsageError) as excinfo:
        load_topic(ROOT / "content", "topic4").experiment("gradient-decy")
    assert excinfo.value.format_message() == (
        'unknown experiment "gradient-decy" (did you mean "gradient-decay"?)'
    )


# -- Result JSON ----------------------------------------------------------------------------

def strict_loads(text: str):
    """json.loads that refuses the non-standard NaN/Infinity tokens Python would accept."""
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def make_result() -> Result:
    return Result(
        experiment="gradient-decay",
        params={"T": 3, "cells": ["rnn", "linear"], "rho": 1.0},
        series={"grad_norm": Series(
            x=[0.0, 1.0, 2.0], x_label="k",
            y={"rnn": [1.0, 0.5, 0.25], "linear": [1.0, math.inf, math.nan]},
            y_label="norm",
            y_std={"rnn": [0.0, 0.1, 0.1], "linear": [0.0, -math.inf, 0.0]},
        ), "plain": Series(x=[1, 2], x_label="x", y={"a": [3, 4]}, y_label="y")},
        scalars={"decay_factor_rnn": 0.5, "violations": 0, "blowup": math.inf,
                 "undefined": math.nan},
        claims=[Claim(id="tanh-bound", statement="Bounded.", expected="0", measured="0",
                      tolerance="0", passed=True)],
        provenance={"seeds": [0, 1], "device": "cpu"},
    )


def test_nonfinite_numbers_become_null_and_are_flagged():
    data = strict_loads(make_result().to_json())
    assert data["series"]["grad_norm"]["y"] == {"rnn": [1.0, 0.5, 0.25],
                                                "linear": [1.0, None, None]}
    assert data["series"]["grad_norm"]["y_std"]["linear"] == [0.0, None, 0.0]
    assert data["scalars"] == {"decay_factor_rnn": 0.5, "violations": 0, "blowup": None,
                               "undefined": None}
    assert data["flags"] == {"nonfinite": [
        "series.grad_norm.y.linear", "series.grad_norm.y_std.linear",
        "scalars.blowup", "scalars.undefined",
    ]}
    assert "y_std" not in data["series"]["plain"]
    assert data["claims"] == [{"id": "tanh-bound", "statement": "Bounded.", "expected": "0",
                               "measured": "0", "tolerance": "0", "passed": True,
                               "kind": "evidence", "not_judged": ""}]


def test_json_has_no_nan_or_infinity_tokens():
    text = make_result().to_json()
    assert "NaN" not in text and "Infinity" not in text


def test_finite_result_has_no_flags():
    result = make_result()
    result.series = {"plain": result.series["plain"]}
    result.scalars = {"a": 1.0}
    assert strict_loads(result.to_json())["flags"] == {"nonfinite": []}


def test_json_round_trip():
    original = make_result()
    back = Result.from_json_dict(strict_loads(original.to_json()))
    assert (back.experiment, back.params, back.claims, back.provenance) == (
        original.experiment, original.params, original.claims, original.provenance)
    assert back.series["plain"] == original.series["plain"]
    grad = back.series["grad_norm"]
    assert grad.x == [0.0, 1.0, 2.0]
    assert grad.y["rnn"] == [1.0, 0.5, 0.25]
    # null comes back as NaN: "not a measurement", kept out of plots and fits.
    assert grad.y["linear"][0] == 1.0 and all(map(math.isnan, grad.y["linear"][1:]))
    assert grad.y_std["rnn"] == [0.0, 0.1, 0.1]
    assert back.series["plain"].y_std is None
    assert back.scalars["decay_factor_rnn"] == 0.5 and back.scalars["violations"] == 0
    assert math.isnan(back.scalars["blowup"]) and math.isnan(back.scalars["undefined"])
    assert back.to_json() == original.to_json()


def test_exploding_run_writes_standard_json():
    """A real (tiny) run whose float32 gradients overflow: the JSON stays standard."""
    params = resolve(cells="linear", T="30", rho="100", dtype="float32", hidden="4", seeds="2")
    result = experiments.run(topic4("gradient-decay"), params, experiments.Context())
    data = strict_loads(result.to_json())
    flagged = data["flags"]["nonfinite"]
    assert {"series.grad_norm.y.linear", "series.log10_grad_norm.y.linear"} <= set(flagged)
    assert data["series"]["grad_norm"]["y"]["linear"][-1] is None  # 100^29 > float32 max
    for path in flagged:  # every flag points at a null
        value = data
        for key in path.split("."):
            value = value[key]
        assert value is None or None in value, path
    assert data["params"] == {"cells": ["linear"], "T": 30, "hidden": 4, "seeds": 2,
                              "rho": 100.0, "dtype": "float32"}
