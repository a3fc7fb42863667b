"""The CLI as users meet it: exact messages and exit codes, fast --help, nothing half-written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import topicgen
from conftest import ROOT, TINY_EXPERIMENT, TOPIC, WRONG_CLAIM
from topicgen.cli import cli

HEAVY = ("torch", "matplotlib", "weasyprint")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def build_args(project: Path, *extra: str) -> list[str]:
    return ["build", "handout", "--project", str(project), "--topic", TOPIC, "--profile", "quick",
            "--cache-dir", str(project / "cache"), *extra]


@pytest.mark.parametrize("args", [["--help"], ["build", "--help"], ["build", "handout", "--help"],
                                  ["run", "--help"], ["list", "--help"],
                                  ["sweep", "--help"]])
def test_help_imports_no_heavy_library(args):
    code = (
        "import sys\nfrom topicgen.cli import cli\n"
        f"try:\n    cli({args!r}, prog_name='topicgen')\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Example:" in out.stdout
    assert out.stdout.strip().endswith("HEAVY []")


def test_every_command_has_an_example_and_every_option_says_what_it_does():
    """`clean --help` listed --project with no words."""
    import click

    def commands(group: click.Group, path: tuple[str, ...] = ()):
        for name, command in group.commands.items():
            yield (*path, name), command
            if isinstance(command, click.Group):
                yield from commands(command, (*path, name))

    for path, command in commands(cli):
        assert "Example" in (command.help or ""), " ".join(path)
        for option in command.params:
            if isinstance(option, click.Option):
                assert option.help, f"{' '.join(path)} {option.opts[0]}"


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == f"topicgen, version {topicgen.__version__}\n"


def test_unknown_topic_suggests_the_closest(make_project, tiny_topic):
    project = make_project(tiny_topic)
    result = invoke("build", "handout", "--project", str(project), "--topic", "t2")
    assert result.exit_code == 2
    assert result.output == (f'Error: unknown topic "t2" in {project / "content"} '
                             '(did you mean "t1"?)\n')


def test_unknown_format_is_a_usage_error(make_project, tiny_topic):
    result = invoke(*build_args(make_project(tiny_topic), "--format", "docx"))
    assert result.exit_code == 2
    # One line, as every error: click's usage and hint lines came first.
    assert result.output == ("Error: Invalid value for '--format': 'docx' is not one of "
                             "'html', 'pdf', 'all'. (topicgen build handout -h lists the "
                             "options)\n")


def test_missing_content_folder(tmp_path):
    result = invoke("build", "handout", "--project", str(tmp_path))
    assert result.exit_code == 2
    assert result.output == (f"Error: content folder {tmp_path / 'content'} does not exist "
                             "(run topicgen from the project root or pass --project)\n")


def test_figure_naming_an_unknown_experiment(make_project, tiny_topic):
    chapter = f"content/{TOPIC}/01-decay.md"
    tiny_topic[chapter] = tiny_topic[chapter].replace("gradient-decay:", "gradient-decy:")
    project = make_project(tiny_topic)
    result = invoke(*build_args(project))
    assert result.exit_code == 1
    assert result.output.endswith(
        f'Error: {project / chapter}:6: unknown experiment "gradient-decy" '
        '(did you mean "gradient-decay"?)\n')
    assert "Traceback" not in result.output


def test_out_of_range_figure_parameter(make_project, tiny_topic):
    chapter = f"content/{TOPIC}/01-decay.md"
    tiny_topic[chapter] = tiny_topic[chapter].replace("T=10", "T=0")
    project = make_project(tiny_topic)
    result = invoke(*build_args(project))
    assert result.exit_code == 1
    assert result.output.endswith(f'Error: {project / chapter}:8: parameter "T" of '
                                  '"gradient-decay" must be 2 <= T <= 5000, got 0\n')


def test_a_failed_build_keeps_the_previous_handout(make_project, tiny_topic):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project)).exit_code == 0
    out = project / "output" / TOPIC
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert out / "handout.html" in before and out / "handout.pdf" in before

    chapter = project / "content" / TOPIC / "01-decay.md"
    chapter.write_text(chapter.read_text() + "\nA broken formula $\\frac{1}{$ here.\n")
    result = invoke(*build_args(project))
    assert result.exit_code == 1
    assert result.output.endswith(f"Error: {chapter}:15: cannot typeset $\\frac{{1}}{{$: "
                                  "column 9: '{' without a matching '}'\n")
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in out.rglob("*.tmp")]


def test_a_failed_claim_fails_the_build_naming_it(make_project, tiny_topic):
    tiny_topic[TINY_EXPERIMENT] += WRONG_CLAIM
    project = make_project(tiny_topic)
    result = invoke(*build_args(project, "--format", "html"))
    assert result.exit_code == 1
    # A first line that says it all, then the claim, where the chapter shows its run and
    # the command that runs it alone with the parameters it failed at.
    assert result.output.endswith(
        "Error: 1 claim failed, so no file was written (the last build's stay):\n"
        "  gradient-decay [deliberately-wrong], shown as fig-decay (01-decay.md:6): Gradients "
        "never vanish. Expected decay factor 1, measured 0.5 (tolerance 0)\n"
        "    topicgen run gradient-decay --topic t1 -p cells=rnn,lstm,gru,linear -p T=10 "
        "-p hidden=4 -p seeds=2 -p rho=1.0 -p dtype=float64\n")
    assert not (project / "output").exists()


def test_a_value_a_variant_removed_says_the_variant_changed_the_run(make_project, tiny_topic):
    """The error read as a typo in the chapter ("did you mean"), though the chapter was
    right and the variant had changed the run it reads."""
    project = make_project(tiny_topic)
    result = invoke(*build_args(project, "--format", "html", "--out", project / "variant",
                                "-p", "gradient-decay.cells=linear"))
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].endswith(
        'result("fig-decay").scalars has no "decay_factor_rnn" (did you mean '
        '"decay_factor_linear"?); the variant\'s -p gradient-decay.cells=linear changed that '
        "run")


def test_a_write_that_fails_midway_replaces_no_output(make_project, tiny_topic):
    """publish wrote the outputs one at a time: with one path blocked, the new handout.html
    and figure were in place beside the old data files and manifest."""
    project = make_project(tiny_topic)
    assert invoke(*build_args(project, "--format", "html")).exit_code == 0
    out = project / "output" / TOPIC
    chapter = project / "content" / TOPIC / "01-decay.md"
    chapter.write_text(chapter.read_text().replace("T=10", "T=12"))
    blocked = out / "data" / "fig-decay.json"
    blocked.unlink()
    blocked.mkdir()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = invoke(*build_args(project, "--format", "html"))
    assert result.exit_code == 1
    assert result.output.endswith(f"Error: cannot write {blocked}: a folder is in its place\n")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not list(out.rglob("*.tmp"))


def test_corrupt_cache_entry_is_recomputed(make_project, tiny_topic):
    project = make_project(tiny_topic)
    assert invoke(*build_args(project, "--format", "html")).exit_code == 0
    for entry in (project / "cache").glob("*-gradient-decay-*.json"):
        entry.write_text("{not json")
    shutil.rmtree(project / "output")  # otherwise the build is up to date and reads nothing
    result = invoke(*build_args(project, "--format", "html"))
    assert result.exit_code == 0
    assert "(0 reused, 1 computed)" in result.output


def test_run_json_contract():
    result = invoke("run", "gradient-decay", "--profile", "quick", "-p", "cells=rnn,linear",
                    "-p", "T=12", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) >= {"experiment", "params", "series", "scalars", "claims", "provenance"}
    assert data["params"]["cells"] == ["rnn", "linear"]
    assert data["series"]["grad_norm"]["x"] == list(range(12))
    assert set(data["series"]["grad_norm"]["y"]) == {"rnn", "linear"}
    assert set(data["provenance"]) >= {"seeds", "device", "torch", "topicgen", "code_hash",
                                       "wall_s"}
    verdicts = {c["id"]: (c["passed"], c["not_judged"]) for c in data["claims"]}
    assert verdicts["linear-law"] == (True, "")
    assert verdicts["tanh-falls-fastest"] == (None, "needs lstm or gru among the cells")


def test_run_figures_refuses_the_sources_as_its_folder(make_project, tiny_topic):
    """`run --figures` wrote into content/, templates/ or the project folder, exit 0; every
    other command that writes refuses them."""
    project = make_project(tiny_topic)
    for folder, reason in (("content", "is content/"), (".", "is the project folder")):
        result = invoke("run", "gradient-decay", "--project", str(project), "--figures",
                        str(project / folder))
        assert result.exit_code == 2
        assert result.output == (f"Error: will not write to {project / folder}: it {reason}; "
                                 "give the output a folder of its own\n")


def test_run_reads_profile_and_seed_from_topicgen_toml(make_project, tiny_topic):
    """`run` took the full profile and seed 0 whatever topicgen.toml said, while every build
    read them: a figure's command then ran something other than what the handout showed."""
    project = make_project({**tiny_topic, "topicgen.toml": 'profile = "quick"\nseed = 5\n'})
    where = ["--project", str(project), "--json", "-p", "T=10"]
    configured = json.loads(invoke("run", "gradient-decay", *where).stdout)
    assert configured["params"]["hidden"] == 32  # the quick profile's; full has 64
    assert configured["provenance"]["seeds"][0] == 5
    given = json.loads(invoke("run", "gradient-decay", *where, "--profile", "full",
                              "--seed", "0").stdout)
    assert given["params"]["hidden"] == 64 and given["provenance"]["seeds"][0] == 0


@pytest.mark.parametrize("args, message", [
    (["-p", "Tx=4"], 'Error: unknown parameter "Tx" for experiment "gradient-decay" '
                     '(did you mean "T"?)\n'),
    (["-p", "T=abc"], 'Error: parameter "T" expects int, got "abc"\n'),
    (["-p", "rho=-1"], 'Error: parameter "rho" of "gradient-decay" must be '
                       "1e-06 <= rho <= 100.0, got -1.0\n"),
    (["-p", "T"], 'Error: -p expects name=value, got "T"\n'),
])
def test_run_bad_parameters(args, message):
    result = invoke("run", "gradient-decay", *args)
    assert result.exit_code == 2
    assert result.output == message


def test_run_unknown_experiment():
    result = invoke("run", "gradient-decai")
    assert result.exit_code == 2
    assert result.output == 'Error: unknown experiment "gradient-decai" ' \
                            '(did you mean "gradient-decay"?)\n'


def test_list_json_names_every_experiment_and_parameter():
    result = invoke("list", "--json")
    assert result.exit_code == 0
    entries = {e["name"]: e for e in json.loads(result.output)}
    decay = {p["name"]: p for p in entries["gradient-decay"]["params"]}
    assert decay["T"] == {"name": "T", "type": "int", "default": 100, "quick": 40,
                          "range": "2 <= T <= 5000",
                          "help": "sequence length (steps of backpropagation through time)"}
    assert decay["cells"]["default"] == "rnn,lstm,gru,linear"


def test_list_says_a_lists_range_is_each_items():
    """`(list of int; 2 <= sizes <= 100000)` read as a bound on the list."""
    lines = invoke("list").output.splitlines()
    assert "  -p cells=rnn,lstm,gru,linear  (list of str; each one of rnn, lstm, gru, linear; " \
           "quick: rnn,lstm,gru,linear) cells to unroll" in lines
    assert any(line.startswith("  -p T=100  (int; 2 <= T <= 5000; quick: 40)") for line in lines)


def test_source_date_epoch_sets_the_shown_date(make_project, tiny_topic, monkeypatch):
    project = make_project(tiny_topic)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert invoke(*build_args(project, "--format", "html")).exit_code == 0
    assert "· 14 November 2023" in (project / "output" / TOPIC / "handout.html").read_text()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    result = invoke(*build_args(project, "--format", "html"))
    assert result.exit_code == 2
    assert result.output.endswith('Error: SOURCE_DATE_EPOCH must be seconds since 1970, '
                                  'got "yesterday"\n')


def test_a_topics_date_is_printed_as_written(make_project, tiny_topic, monkeypatch):
    toml = f"content/{TOPIC}/topic.toml"
    project = make_project({**tiny_topic, toml: tiny_topic[toml] + 'date = "Week 4, autumn"\n'})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the author's words win
    assert invoke(*build_args(project, "--format", "html")).exit_code == 0
    html = (project / "output" / TOPIC / "handout.html").read_text()
    assert "· Week 4, autumn" in html and "2023" not in html


def test_check_judges_claims_without_rendering(tmp_path):
    args = ["check", "gradient-decay", "--profile", "quick", "--project", str(ROOT)]
    result = CliRunner(env={"TOPICGEN_CACHE_DIR": str(tmp_path / "cache")}).invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()  # the progress lines go to stderr
    assert lines[0].startswith("gradient-decay (")
    assert lines[1].startswith("  [PASS] linear-law: expected ")  # as `topicgen run` has it
    assert "; measured max relative error " in lines[1]
    assert lines[2].startswith("  [PASS] vanishes-above-the-bound: expected $\\lambda_1 > 1$")
    assert lines[-1] == "All claims hold."
    assert not (tmp_path / "output").exists()
    again = CliRunner(env={"TOPICGEN_CACHE_DIR": str(tmp_path / "cache")}).invoke(cli, args)
    assert again.stdout.splitlines()[0] == "gradient-decay (cached)"


SEED_PARITY_CLAIM = """

def claims(result):
    first = result.provenance["seeds"][0]
    return [Claim(id="even", statement="s", expected="an even first seed",
                  measured=str(first), tolerance="none", passed=first % 2 == 0)]
"""


def test_check_over_several_seeds_names_the_seeds_where_a_claim_fails(make_project,
                                                                      tiny_topic):
    """A claim that holds at the seed a handout is built with can fail at the next."""
    project = make_project({**tiny_topic,
                            TINY_EXPERIMENT: tiny_topic[TINY_EXPERIMENT] + SEED_PARITY_CLAIM})
    args = ["check", "--project", str(project), "--topic", TOPIC, "--profile", "quick",
            "--cache-dir", str(project / "cache"), "--jobs", "1"]
    assert invoke(*args).exit_code == 0  # seed 0: it holds
    result = CliRunner().invoke(cli, [*args, "--seed", "4", "--seeds", "4"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "First seeds 4 to 7:", "gradient-decay",
        "  [FAIL] even: holds at 2; fails at 2 (--seed 5, 7)",
        "gradient-decay (fig-decay)",  # the chapter's own parameters
        "  [FAIL] even: holds at 2; fails at 2 (--seed 5, 7)"]
    assert result.stderr.endswith("Error: 2 claims failed at some seed\n")
    # Progress is a line per seed; each run's lines only with -v.
    assert [line for line in result.stderr.splitlines() if not line.startswith("Error")] == [
        f"first seed {seed} ({seed - 3} of 4)" for seed in range(4, 8)]
    again = CliRunner().invoke(cli, [*args, "--seed", "4", "--seeds", "1"])
    assert again.exit_code == 0 and again.stdout.endswith("All claims hold.\n")
    past = invoke(*args, "--seed", str(2**31 - 2), "--seeds", "3")
    assert past.exit_code == 2 and "go past the largest first seed" in past.output


T_CLAIM = """

def claims(result):
    T = result.params["T"]
    return [Claim(id="short", statement="s", expected="T below 20", measured=str(T),
                  tolerance="none", passed=T < 20)]
"""


def test_check_judges_at_the_parameters_given(make_project, tiny_topic):
    """An instructor who changes a parameter checks the claims there, over seeds too."""
    project = make_project({**tiny_topic,
                            TINY_EXPERIMENT: tiny_topic[TINY_EXPERIMENT] + T_CLAIM})
    args = ["check", "--project", str(project), "--topic", TOPIC, "--profile", "quick",
            "--cache-dir", str(project / "cache"), "--jobs", "1"]
    assert invoke(*args, "gradient-decay", "-p", "T=10").exit_code == 0
    result = CliRunner().invoke(cli, [*args, "gradient-decay", "-p", "T=30", "--seeds", "2"])
    assert result.exit_code == 1
    assert "  [FAIL] short: fails at 2 (--seed 0, 1)" in result.stdout.splitlines()
    unnamed = invoke(*args, "-p", "T=30")
    assert unnamed.exit_code == 2 and "-p applies to the experiments named" in unnamed.output
    unknown = invoke(*args, "gradient-decay", "-p", "X=1")
    assert unknown.exit_code == 2 and 'unknown parameter "X"' in unknown.output


def test_check_judges_the_runs_the_handout_shows_too(make_project, tiny_topic):
    """The tiny chapter draws its figure at T = 10, the quick profile runs T = 40: a claim
    failing only at T = 10 passed `check` ("All claims hold.") and then failed `build`."""
    claim = T_CLAIM.replace("T below 20", "T above 20").replace("T < 20", "T > 20")
    project = make_project({**tiny_topic, TINY_EXPERIMENT: tiny_topic[TINY_EXPERIMENT] + claim})
    result = CliRunner().invoke(cli, ["check", "--project", str(project), "--topic", TOPIC,
                                      "--profile", "quick", "--cache-dir",
                                      str(project / "cache"), "--jobs", "1"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("gradient-decay (") and "fig-decay" not in lines[0]
    assert lines[1].startswith("  [PASS] short: expected T above 20; measured 40")  # profile
    assert lines[2].startswith("gradient-decay (fig-decay) (")
    assert lines[3].startswith("  [FAIL] short: expected T above 20; measured 10")


def test_check_says_so_where_an_experiment_states_no_claims(make_project, tiny_topic):
    """With claims() renamed, check printed only "All claims hold."."""
    experiment = tiny_topic[TINY_EXPERIMENT].replace("def claims(", "def claim(")
    project = make_project({**tiny_topic, TINY_EXPERIMENT: experiment})
    result = invoke("check", "gradient-decay", "--project", str(project), "--topic", TOPIC,
                    "--profile", "quick", "--cache-dir", str(project / "cache"), "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "  no claims: nothing of it is judged (add claims(result) to its file)" in \
        result.output.splitlines()


def test_cuda_where_there_is_none_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = invoke("run", "gradient-decay", "--profile", "quick", "--device", "cuda")
    assert result.exit_code == 2  # the environment lacks what was asked for
    assert result.output == ("Error: device cuda (--device, or device in topicgen.toml): no "
                             "CUDA device is available here; use cpu\n")
