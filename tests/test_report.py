"""The experiment report, built once for Topic 4 in the quick profile, read as CI would."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT, TINY_EXPERIMENT, TOPIC, TOPIC4_EXPERIMENTS, WRONG_CLAIM, topic4
from topicgen.cli import cli
from topicgen.experiments import discover


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def built(topic4_site) -> Path:
    """The real topic4 output folder the docs-site build wrote (handout and report)."""
    return topic4_site.parent / "topic4"


@pytest.fixture(scope="module")
def html(built) -> str:
    return (built / "report.html").read_text("utf-8")


@pytest.fixture(scope="module")
def data(built) -> dict:
    return json.loads((built / "report.json").read_text("utf-8"))


def tiny_project(make_project, tiny_topic, quick_cache) -> Path:
    """The tiny topic, with the Topic 4 build's cache: only its own gradient-decay run computes."""
    project = make_project(tiny_topic)
    shutil.copytree(quick_cache, project / "cache")
    return project


def tiny_args(project: Path, *extra: str) -> list:
    return ["build", *extra, "--project", project, "--topic", TOPIC, "--profile", "quick",
            "--cache-dir", project / "cache", "--format", "html", "--jobs", "1"]


def test_every_listed_experiment_has_a_section(html):
    names = [entry["name"] for entry in json.loads(invoke("list", "--json").output)]
    assert len(names) == 15
    for name in names:
        assert f'<section class="run" id="run-{name}">' in html, name
        assert f'<td><a href="#run-{name}">{name}</a></td>' in html, name


def test_every_claim_of_every_result_is_shown_with_its_verdict(quick_cache, html):
    from topicgen.check import check_claims
    from topicgen.config import load_config

    config = load_config(ROOT, profile="quick", cache_dir=quick_cache)
    for name, result, _ in check_claims(config):
        if " (" in name:  # a run only a figure asks for ("gradient-decay (fig-underflow)")
            continue      # has its own run id in the report; each profile run is named here
        assert result.claims, name
        for claim in result.claims:
            kind, verdict = {True: ("pass", "PASS"), None: ("not-judged", "NOT JUDGED")}[
                claim.passed]
            row = re.search(rf'<tr class="claim {kind}" id="run-{name}-{claim.id}">(.*?)</tr>',
                            html, re.S)
            assert row, (name, claim.id)
            assert f'<td class="verdict">{verdict}</td>' in row.group(1)


def decay_entry(data: dict) -> dict:
    return next(e for e in data["experiments"] if e["experiment"] == "gradient-decay")


def test_json_contract(data):
    assert set(data) == {"topic", "profile", "experiments", "claims", "planted_bugs", "versions"}
    assert (data["topic"], data["profile"]) == ("topic4", "quick")
    assert {"torch", "topicgen", "python", "matplotlib", "weasyprint"} <= set(data["versions"])
    names = [entry["experiment"] for entry in data["experiments"]]
    assert set(names) == set(discover(TOPIC4_EXPERIMENTS, "topic4"))
    entry = decay_entry(data)
    assert set(entry) >= {"experiment", "params", "non_default", "seeds", "device", "wall_s",
                          "cache", "claims", "scalars", "code_hash"}
    assert entry["experiment"] == "gradient-decay"
    assert entry["cache"] == "miss" and entry["device"] == "cpu"
    assert set(entry["claims"][0]) == {"id", "statement", "expected", "measured", "tolerance",
                                       "passed", "kind", "not_judged"}
    counts = data["claims"]
    assert counts["total"] + counts["not_judged"] == sum(
        len(e["claims"]) for e in data["experiments"])
    assert counts["total"] > 30
    assert data["claims"]["passed"] == data["claims"]["total"]


def test_the_mutation_score_is_the_topics_planted_bugs(data, html):
    planted = json.loads((ROOT / "content" / "topic4" / "planted-bugs.json").read_text())["bugs"]
    score = data["planted_bugs"]
    assert score["planted"] == len(planted) > 80
    assert score["evidence"] + score["sanity"] + score["none"] == score["planted"]
    entry = next(e for e in data["experiments"] if e["experiment"] == "truncated-bptt")
    assert [bug["bug"] for bug in entry["planted_bugs"]] == sorted(
        bug["bug"] for bug in planted if bug["experiment"] == "truncated-bptt")
    text = " ".join(re.sub(r"<[^>]+>", "", html).split())
    assert (f"of {score['planted']} plausible bugs planted in these experiments by the test "
            f"suite, {score['evidence']} make an evidence claim fail") in text
    caught = sum(bug["caught_by"] == "evidence" for bug in entry["planted_bugs"])
    assert f"Planted bugs: {caught} of {len(entry['planted_bugs'])} fail an evidence claim" in text


def test_quick_profile_values_are_non_defaults_and_highlighted(data, html):
    decay = decay_entry(data)
    assert decay["params"]["T"] == 40 and "T" in decay["non_default"]
    assert "rho" not in decay["non_default"]
    assert '<tr class="non-default"><td><code>T</code></td>' in html
    assert '<tr><td><code>rho</code></td>' in html


def test_each_run_shows_its_figures_numbers_and_provenance(data, html):
    from topicgen import experiments

    for entry in data["experiments"]:
        name = entry["experiment"]
        for figure in experiments.figure_names(topic4(name)):
            assert f'id="run-{name}-fig-{figure}"' in html, (name, figure)
        assert f"Reproduce: <code>{entry['command']}</code>" in html
        assert f"code <code>{entry['code_hash']}</code>" in html
        seeds = entry["seeds"]  # a run of seeds as first–last, not a column on a phone
        shown = f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 2 else ", ".join(map(str, seeds))
        assert f"Seeds {shown} on " in html, name
    # gradient-decay records decay_factor_rnn_std beside decay_factor_rnn: one row, with spread
    std = decay_entry(data)["scalars"]["decay_factor_rnn_std"]
    assert re.search(rf"<td><code>decay_factor_rnn</code></td><td class=\"num\">[^<]+</td>"
                     rf"<td class=\"num\">{std:.6g}</td>", html)
    assert "<code>decay_factor_rnn_std</code>" not in html


def test_the_pdf_is_written(built):
    assert (built / "report.pdf").read_bytes().startswith(b"%PDF")


def test_compare_reports_the_number_that_moved(quick_cache, data, tmp_path):
    previous = json.loads(json.dumps(data))
    scalars = decay_entry(previous)["scalars"]
    scalars["decay_factor_rnn"] = scalars["decay_factor_rnn"] * 2
    (tmp_path / "previous.json").write_text(json.dumps(previous))
    result = CliRunner().invoke(cli, [str(a) for a in (
        "build", "report", "--project", ROOT, "--profile", "quick", "--out", tmp_path / "out",
        "--cache-dir", quick_cache, "--format", "html", "--json",
        "--compare", tmp_path / "previous.json")])
    assert result.exit_code == 0, result.output
    compare = json.loads(result.stdout)["compare"]
    new = decay_entry(data)["scalars"]["decay_factor_rnn"]
    assert compare["scalars"] == [{"run": "gradient-decay", "name": "decay_factor_rnn",
                                   "old": new * 2, "new": new, "change": new - new * 2,
                                   "relative": pytest.approx(-0.5)}]
    assert compare["claims"] == compare["added"] == compare["removed"] == []
    html = (tmp_path / "out" / "report.html").read_text("utf-8")
    assert "<h2>Changes since the previous report</h2>" in html
    assert "<td>gradient-decay</td><td><code>decay_factor_rnn</code></td>" in html
    assert "-50 %" in html


@pytest.mark.parametrize("text, message", [
    ("{not json", "not JSON (Expecting property name enclosed in double quotes: "
                  "line 1 column 2 (char 1))"),
    ('{"topic": "topic4"}', 'not a topicgen report.json (expected "experiments": a list of '
                            'runs with "experiment", "scalars" and "claims")'),
])
def test_compare_refuses_a_file_that_is_not_a_report(make_project, tiny_topic, tmp_path,
                                                     text, message):
    project = make_project(tiny_topic)
    (tmp_path / "old.json").write_text(text)
    result = invoke(*tiny_args(project, "report"), "--compare", tmp_path / "old.json")
    assert result.exit_code == 2
    assert result.output == f"Error: --compare {tmp_path / 'old.json'}: {message}\n"
    assert not (project / "output").exists()


def test_a_failed_claim_is_shown_as_failed_and_exits_1(make_project, tiny_topic, quick_cache):
    tiny_topic[TINY_EXPERIMENT] += WRONG_CLAIM
    project = tiny_project(make_project, tiny_topic, quick_cache)
    result = invoke(*tiny_args(project, "report"))
    assert result.exit_code == 1
    error = result.output[result.output.index("Error:"):].splitlines()
    assert error[:2] == [
        "Error: 1 claim failed; the report was written and marks them:",
        "  gradient-decay [deliberately-wrong], shown as fig-decay (01-decay.md:6): Gradients "
        "never vanish. Expected decay factor 1, measured 0.5 (tolerance 0)"]
    assert error[2].startswith("    topicgen run gradient-decay --topic t1 -p ")
    out = project / "output" / TOPIC
    html = (out / "report.html").read_text("utf-8")
    row = re.search(r'<tr class="claim fail" id="run-gradient-decay-deliberately-wrong">(.*?)'
                    r"</tr>", html, re.S)
    assert row and '<td class="verdict">FAIL</td>' in row.group(1)
    assert "0/1 FAIL</td>" in html
    data = json.loads((out / "report.json").read_text("utf-8"))
    assert data["claims"]["passed"] == data["claims"]["total"] - 1
    assert not (out / "handout.html").exists()


def test_build_all_with_a_failed_claim_says_the_report_marks_it(make_project, tiny_topic,
                                                                quick_cache):
    """`build all` wrote the report and then stopped at the handout's claim check, printing
    only the handout's error: nothing said the report had been written."""
    tiny_topic[TINY_EXPERIMENT] += WRONG_CLAIM
    project = tiny_project(make_project, tiny_topic, quick_cache)
    result = invoke(*tiny_args(project, "all"))
    assert result.exit_code == 1
    assert re.search(r"^Built report.html, report.json in .*; 0 of 1 claims hold$",
                     result.output, re.M)
    assert ("Error: 1 claim failed; the report marks them, and the handouts and slides were "
            "left as they were:\n  gradient-decay [deliberately-wrong]") in result.output
    assert not list((project / "output" / TOPIC).glob("handout*"))


def test_build_all_runs_each_experiment_once(make_project, tiny_topic, quick_cache):
    project = tiny_project(make_project, tiny_topic, quick_cache)
    result = invoke(*tiny_args(project, "all"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.match(r"Built report.html, report.json in .* \(\d+ reused, \d+ computed\); "
                    r"(\d+) of \1 claims hold$", lines[-4])
    assert re.match(r"Built handout.html in .* in \d+\.\d s$", lines[-3])
    assert re.match(r"Built handout-student.html in .* in \d+\.\d s$", lines[-2])
    assert re.match(r"Built slides.html in .* in \d+\.\d s$", lines[-1])
    out = project / "output" / TOPIC
    decay = json.loads((out / "report.json").read_text())["experiments"][0]
    assert (decay["figures"], decay["cache"]) == (["fig-decay"], "miss")
    manifest = json.loads((out / "manifest.json").read_text())
    assert [run["cache"] for run in manifest["runs"]] == ["hit"]  # the report's result


@pytest.mark.parametrize("command", ["report", "all", "slides"])
def test_help_imports_no_heavy_library(command):
    code = ("import sys\nfrom topicgen.cli import cli\n"
            f"try:\n    cli(['build', {command!r}, '--help'], prog_name='topicgen')\n"
            "except SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in ('torch', 'matplotlib', 'weasyprint')"
            " if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Example:" in out.stdout
    assert out.stdout.strip().endswith("HEAVY []")
