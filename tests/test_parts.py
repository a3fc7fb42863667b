"""A build computes what its figures need: the parts of a split experiment that a shown
figure is drawn from, each cached on its own, and claims on the others not judged."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import TOPIC, topic4, topic4_files
from topicgen import experiments
from topicgen.api import Claim, Context
from topicgen.cli import cli
from topicgen.errors import ContentError

CHAPTER = f"content/{TOPIC}/01-decay.md"
SWEEP = """
```{experiment-figure} gate-saturation:saturated_fraction
:name: fig-sweep
:params: scales=1,8 seeds=2 T=10 batch=16

The sweep.
```
"""
TRAINING = SWEEP.replace("saturated_fraction", "saturation_during_training").replace(
    "fig-sweep", "fig-training").replace("The sweep.", "The training run.")


@pytest.fixture(name="computed_parts")
def computed_parts_fixture(monkeypatch) -> list:
    """Every part computed in this process, in order (builds here use --jobs 1)."""
    computed: list = []
    real = experiments.run_part

    def recording(experiment, params, ctx, part):
        computed.append(part)
        return real(experiment, params, ctx, part)

    monkeypatch.setattr(experiments, "run_part", recording)
    return computed


def build(project, *extra: str):
    result = CliRunner().invoke(cli, [
        "build", "handout", "--project", str(project), "--topic", TOPIC, "--profile", "quick",
        "--cache-dir", str(project / "cache"), "--format", "html", "--jobs", "1", *extra])
    assert result.exit_code == 0, result.output
    return result


def manifest_claims(project) -> dict:
    manifest = json.loads((project / "output" / TOPIC / "manifest.json").read_text())
    return {run["experiment"]: run["claims"] for run in manifest["runs"]}


def test_a_handout_showing_only_the_sweep_never_trains_and_a_later_figure_adds_only_training(
        make_project, tiny_topic, computed_parts):
    project = make_project({**tiny_topic, **topic4_files("gate_saturation"),
                            CHAPTER: tiny_topic[CHAPTER] + SWEEP})
    build(project)
    assert sorted(computed_parts) == ["sweep-gru", "sweep-lstm"]
    # The two training claims (one per cell) say why they were not judged.
    assert manifest_claims(project)["gate-saturation"]["not_judged"] == 2
    html = (project / "output" / TOPIC / "handout.html").read_text()
    assert "training was not computed" in html

    computed_parts.clear()
    build(project)  # nothing changed: the sweep's result is reused as it is
    assert computed_parts == []

    (project / CHAPTER).write_text(tiny_topic[CHAPTER] + SWEEP + TRAINING)
    build(project)
    assert sorted(computed_parts) == ["training-gru", "training-lstm"]
    assert manifest_claims(project)["gate-saturation"]["not_judged"] == 0


def test_a_result_combined_from_cached_and_new_parts_is_the_whole_runs(
        make_project, tiny_topic):
    project = make_project({**tiny_topic, **topic4_files("gate_saturation"),
                            CHAPTER: tiny_topic[CHAPTER] + SWEEP})
    build(project)
    (project / CHAPTER).write_text(tiny_topic[CHAPTER] + SWEEP + TRAINING)
    build(project)
    data = json.loads((project / "output" / TOPIC / "data" / "fig-training.json").read_text())
    experiment = topic4("gate-saturation")
    params = experiments.resolve_params(experiment, "quick", {
        "scales": "1,8", "seeds": "2", "T": "10", "batch": "16"})
    whole = experiments.run(experiment, params, Context()).to_json_dict()
    assert data["scalars"] == whole["scalars"]
    assert data["series"] == whole["series"]


def test_the_report_computes_only_the_parts_the_handout_left_out(
        make_project, tiny_topic, computed_parts):
    project = make_project({**tiny_topic, **topic4_files("gate_saturation"),
                            CHAPTER: tiny_topic[CHAPTER] + SWEEP})
    build(project)
    computed_parts.clear()
    result = CliRunner().invoke(cli, [
        "build", "report", "--project", str(project), "--topic", TOPIC, "--profile", "quick",
        "--cache-dir", str(project / "cache"), "--format", "html", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    # The report shows every figure of the handout's run: its sweep is reused.
    assert sorted(computed_parts) == ["training-gru", "training-lstm"]


def test_parts_for_may_name_only_parts_the_experiment_has(monkeypatch):
    experiment = topic4("gate-saturation")
    module = experiments.load(experiment)
    params = experiments.resolve_params(experiment, "quick")
    assert experiments.needed_parts(experiment, params, {"saturated_fraction"}) == [
        "sweep-lstm", "sweep-gru"]
    assert experiments.needed_parts(experiment, params, set()) == module.parts(params)
    monkeypatch.setattr(module, "parts_for", lambda params, figure: ["sweep-rnn"])
    with pytest.raises(ContentError, match="'sweep-rnn', which parts"):
        experiments.needed_parts(experiment, params, {"saturated_fraction"})


def test_a_claim_on_a_part_not_computed_says_which_and_why():
    from topicgen.api import not_computed

    claim = Claim("c", "A statement.", "x", "measured 1", "exact", True)
    marked = not_computed(claim, "training run")
    assert marked.passed is None and marked.measured == "" and marked.statement == "A statement."
    assert marked.line("gate-saturation [c]").startswith(
        "[NOT JUDGED] gate-saturation [c]: the training run was not computed")


def test_a_value_from_a_part_not_computed_says_which_figures_the_build_computed_for(
        make_project, tiny_topic):
    prose = ('\nThe trained loss is {{ result("fig-sweep").scalars.train_loss_last_lstm '
             '| sig }}.\n')
    project = make_project({**tiny_topic, **topic4_files("gate_saturation"),
                            CHAPTER: tiny_topic[CHAPTER] + SWEEP + prose})
    result = CliRunner().invoke(cli, [
        "build", "handout", "--project", str(project), "--topic", TOPIC, "--profile", "quick",
        "--cache-dir", str(project / "cache"), "--format", "html", "--jobs", "1"])
    assert result.exit_code == 1
    error = result.output.splitlines()[-1]
    assert error.startswith("Error: ") and 'has no "train_loss_last_lstm"' in error
    assert error.endswith("; this build computed only what fig-sweep needs of gate-saturation, "
                          "and a value drawn for another of its figures needs that figure shown "
                          "too")

    # Shown, the training figure computes the training part, and the same value reads.
    (project / CHAPTER).write_text(tiny_topic[CHAPTER] + SWEEP + TRAINING + prose)
    build(project)


def test_what_a_build_shows_does_not_depend_on_what_the_cache_held(make_project, tiny_topic,
                                                                   computed_parts, tmp_path):
    """Built with both figures first, then with the sweep alone: the sweep's data and the
    build's verdict are those of a build from an empty cache, which computes no training,
    however much the cache holds. (Before, the whole cached result served it: its data
    carried the training series, and prose quoting a training number built only warm.)"""
    warm = make_project(tmp_path / "warm", {
        **tiny_topic, **topic4_files("gate_saturation"),
        CHAPTER: tiny_topic[CHAPTER] + SWEEP + TRAINING})
    build(warm)
    (warm / CHAPTER).write_text(tiny_topic[CHAPTER] + SWEEP)
    computed_parts.clear()
    build(warm)
    assert computed_parts == []  # the sweep's parts were cached with the whole run
    cold = make_project(tmp_path / "cold", {
        **tiny_topic, **topic4_files("gate_saturation"), CHAPTER: tiny_topic[CHAPTER] + SWEEP})
    build(cold)
    data = f"output/{TOPIC}/data/fig-sweep.json"
    assert (warm / data).read_text() == (cold / data).read_text()
    quoting = SWEEP + '\n{{ result("fig-sweep").scalars.train_loss_last_lstm }}\n'
    for project in (warm, cold):
        (project / CHAPTER).write_text(tiny_topic[CHAPTER] + quoting)
        result = CliRunner().invoke(cli, [
            "build", "handout", "--project", str(project), "--topic", TOPIC, "--profile",
            "quick", "--cache-dir", str(project / "cache"), "--format", "html", "--jobs", "1"])
        assert result.exit_code == 1 and "computed only what" in result.output, result.output


def test_a_figure_counts_only_the_claims_this_build_judged():
    """"0 of 1 sanity checks of the code hold" when its one check was not computed, with
    "measured: ." after it; the slide said "2 of 4 claims hold" when 2 were not judged."""
    from markupsafe import Markup

    from topicgen.api import Claim, not_computed
    from topicgen.content.render import FigureView
    from topicgen.pages import render_template

    def claim(id: str, kind: str, passed: bool) -> Claim:
        return Claim(id, "s", "e", "m", "t", passed, kind)

    claims = [claim("a", "evidence", True), not_computed(claim("b", "evidence", True), "fit"),
              not_computed(claim("c", "sanity", True), "fit")]
    figure = FigureView("fig-x", "1", "alt", Markup("<svg></svg>"), Markup("Caption."), claims,
                        None, None, ["topicgen"], [])
    handout = render_template(None, "figure.html", figure=figure)
    assert "<summary>1 sanity check of the code not judged</summary>" in handout
    assert "Expected: e; not judged: the fit was not computed" in handout
    assert "measured: ." not in handout
    slide = " ".join(render_template(None, "slide_figure.html", figure=figure).split())
    assert "1 of 1 claims checked against this run hold</span> <span class=\"unjudged\">(1 not " \
           "judged in this build)</span>" in slide


def test_a_part_output_the_cache_cannot_keep_is_named_where_it_ran(monkeypatch):
    """A part's output travels and is kept as torch.save writes it: an object torch.load
    refuses (a numpy number) fails that run with the contract in words, not later in
    combine, in whichever process combines it."""
    import numpy

    from topicgen.api import as_dict
    from topicgen.results.runner import compute

    experiment = topic4("gate-saturation")
    monkeypatch.setattr(experiments, "run_part", lambda *args: {"mean": numpy.float64(1)})
    values = as_dict(experiments.resolve_params(experiment, "quick"))
    outcome = compute(experiment, values, Context(seed=0), "sweep-lstm")
    assert outcome.result is None and outcome.output is None
    assert "run_part(params, ctx, 'sweep-lstm') returned what a part's output cannot hold: " \
           "tensors, numbers, strings, and lists or dicts of them (it holds a numpy." \
           in outcome.summary
