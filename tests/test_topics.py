"""A topic is a folder: its experiments are found beside its prose, keyed by what they import,
started by `topicgen new`, chosen with --topic, and reported in one line when broken."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT, TOPIC, TOPIC4_EXPERIMENTS, tiny_topic, topic4_module
from topicgen.cli import cli

# Two tiny experiments in pure Python (each runs in microseconds): alpha imports the topic's
# helper _shared, beta does not. Their figures live beside them.
SHARED = "SCALE = 2.0\n"
ALPHA = '''"""Alpha: doubles its input."""
from dataclasses import dataclass

from topicgen.api import Claim, Result, Series, as_dict, param

from ._shared import SCALE


@dataclass(frozen=True)
class Params:
    x: float = param(1.0, "input", min=0.0, max=10.0)


def run(params, ctx):
    y = params.x * SCALE
    return Result("alpha", as_dict(params), {"line": Series([0, 1], "x", {"y": [0, y]}, "y")},
                  {"y": y})


def claims(result):
    return [Claim("positive", "y is positive.", "> 0", str(result.scalars["y"]), "0",
                  result.scalars["y"] > 0)]
'''
BETA = ALPHA.replace("Alpha: doubles", "Beta: triples").replace(
    "from ._shared import SCALE\n", "SCALE = 3.0\n").replace('"alpha"', '"beta"')
FIGURES = '''from topicgen.api import new_figure


def draw_line(result):
    series = result.series["line"]
    fig, (ax,) = new_figure()
    ax.plot(series.x, series.y["y"], label="y")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return fig


FIGURES = {"line": draw_line}
'''
CHAPTER = """# Two experiments

```{experiment-figure} alpha:line
:name: fig-alpha

Alpha.
```

```{experiment-figure} beta:line
:name: fig-beta

Beta, {{ result("fig-beta").scalars.y | sig(2) }}.
```
"""
EXPERIMENTS = f"content/{TOPIC}/experiments"
TWO = {
    f"content/{TOPIC}/topic.toml": 'title = "Two"\nchapters = ["01.md"]\n',
    f"content/{TOPIC}/01.md": CHAPTER,
    f"{EXPERIMENTS}/_shared.py": SHARED,
    f"{EXPERIMENTS}/alpha.py": ALPHA,
    f"{EXPERIMENTS}/alpha_figures.py": FIGURES,
    f"{EXPERIMENTS}/beta.py": BETA,
    f"{EXPERIMENTS}/beta_figures.py": FIGURES,
}


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def build(project: Path, *extra: str):
    return invoke("build", "handout", "--project", project, "--profile", "quick",
                  "--cache-dir", project / "cache", "--format", "html", "--jobs", "1", *extra)


def cache_states(project: Path) -> dict[str, str]:
    """experiment -> hit/miss of the last build, from manifest.json's public contract."""
    manifest = json.loads((project / "output" / TOPIC / "manifest.json").read_text())
    return {run["experiment"]: run["cache"] for run in manifest["runs"]}


def edit(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def two(make_project) -> Path:
    project = make_project(TWO)
    result = build(project)
    assert result.exit_code == 0, result.output
    assert cache_states(project) == {"alpha": "miss", "beta": "miss"}
    return project


# -- cache keys: what reruns after an edit ----------------------------------------------------

def test_adding_an_experiment_reruns_nothing(two):
    (two / EXPERIMENTS / "gamma.py").write_text(ALPHA.replace('"alpha"', '"gamma"'))
    assert build(two).exit_code == 0
    assert cache_states(two) == {"alpha": "hit", "beta": "hit"}


def test_editing_one_experiment_reruns_only_it(two):
    edit(two, f"{EXPERIMENTS}/beta.py", "SCALE = 3.0", "SCALE = 4.0")
    assert build(two).exit_code == 0
    assert cache_states(two) == {"alpha": "hit", "beta": "miss"}
    assert "Beta, 4." in (two / "output" / TOPIC / "handout.html").read_text()


def test_editing_a_shared_helper_reruns_exactly_its_importers(two):
    edit(two, f"{EXPERIMENTS}/_shared.py", "2.0", "2.5")
    assert build(two).exit_code == 0
    assert cache_states(two) == {"alpha": "miss", "beta": "hit"}


def test_restyling_a_figure_reruns_nothing_and_redraws_only_it(two):
    svgs = {name: (two / "output" / TOPIC / "figures" / f"{name}.svg").read_text()
            for name in ("fig-alpha", "fig-beta")}
    edit(two, f"{EXPERIMENTS}/alpha_figures.py", 'label="y"', 'label="y", linewidth=4')
    assert build(two).exit_code == 0
    assert cache_states(two) == {"alpha": "hit", "beta": "hit"}
    figures = two / "output" / TOPIC / "figures"
    assert (figures / "fig-alpha.svg").read_text() != svgs["fig-alpha"]
    assert (figures / "fig-beta.svg").read_text() == svgs["fig-beta"]


def test_a_result_key_names_no_runner_cli_or_error_module(two):
    from topicgen.experiments import discover
    from topicgen.results.keys import experiment_code

    alpha = discover(two / EXPERIMENTS, TOPIC)["alpha"]
    assert set(experiment_code(alpha)) == {
        f"{TOPIC}/experiments/alpha.py", f"{TOPIC}/experiments/_shared.py",
        "topicgen/__init__.py", "topicgen/api.py", "topicgen/results/__init__.py",
        "topicgen/results/model.py"}


# -- broken experiment files: one line naming the file and line, nothing lost ---------------

def broken_build(project: Path, relative: str, text: str, *extra: str) -> str:
    """Break `relative`, build, and return the one error line; the last build is intact."""
    out = project / "output" / TOPIC
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (project / relative).write_text(text)
    result = build(project, "--force", *extra)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    return result.output.strip().splitlines()[-1]


def test_a_syntax_error_names_the_file_and_line(two):
    path = two / EXPERIMENTS / "beta.py"
    line = broken_build(two, f"{EXPERIMENTS}/beta.py", BETA.replace("def run(", "def run(("))
    number = BETA.splitlines().index("def run(params, ctx):") + 1
    assert line.startswith(f"Error: {path}:{number}: syntax error: ")


def test_an_exception_at_import_names_the_line_that_raised(two):
    text = BETA.replace("SCALE = 3.0\n", "SCALE = 3.0\nLIMIT = 1 / 0\n")
    number = text.splitlines().index("LIMIT = 1 / 0") + 1
    line = broken_build(two, f"{EXPERIMENTS}/beta.py", text)
    assert line == (f"Error: {two / EXPERIMENTS / 'beta.py'}:{number}: ZeroDivisionError while "
                    "importing beta.py: division by zero")


def test_a_missing_helper_is_named_without_the_package_plumbing(two):
    line = broken_build(two, f"{EXPERIMENTS}/alpha.py", ALPHA.replace("._shared", "._shard"))
    assert line.endswith("ModuleNotFoundError while importing alpha.py: No module named "
                         "'_shard'")
    assert "_topicgen_content" not in line


def test_an_experiment_without_params_is_named(two):
    line = broken_build(two, f"{EXPERIMENTS}/beta.py", BETA.replace("class Params", "class P"))
    assert line == (f"Error: {two / EXPERIMENTS / 'beta.py'}: defines no Params: add a frozen "
                    "dataclass `Params` of its parameters (docs/writing-experiments.md)")


def test_two_experiments_with_one_name_are_refused(two):
    (two / EXPERIMENTS / "gam_ma.py").write_text(BETA)
    line = broken_build(two, f"{EXPERIMENTS}/gam-ma.py", BETA)
    assert line == (f"Error: {two / EXPERIMENTS / 'gam_ma.py'}: two experiments are named "
                    '"gam-ma": gam-ma.py and gam_ma.py; rename one')


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_figure_that_raises_names_its_line(two, jobs):
    """With two jobs and a cache without the runs' costs, a worker of the run stage draws the
    figure once its run ends; the error reads the same."""
    text = FIGURES.replace('    ax.set_xlabel("x")\n', '    ax.set_xlabel(series.missing)\n')
    number = text.splitlines().index("    ax.set_xlabel(series.missing)") + 1
    line = broken_build(two, f"{EXPERIMENTS}/beta_figures.py", text, "--jobs", jobs,
                        "--cache-dir", str(two / f"cache-{jobs}"))
    assert line == (f"Error: {two / EXPERIMENTS / 'beta_figures.py'}:{number}: figure \"line\" "
                    "of beta failed: AttributeError: 'Series' object has no attribute 'missing'")


def test_figures_of_no_experiment_are_named(two):
    line = broken_build(two, f"{EXPERIMENTS}/delta_figures.py", FIGURES)
    assert line == (f"Error: {two / EXPERIMENTS / 'delta_figures.py'}: figures of no "
                    "experiment: delta.py does not exist (delete delta_figures.py with it; a "
                    "helper's name starts with _)")


# -- topicgen new, --topic and several topics ------------------------------------------------

def test_new_topic_builds_at_once_with_a_checked_figure(tmp_path):
    result = invoke("new", "first-steps", "--title", "First steps", "--project", tmp_path)
    assert result.exit_code == 0, result.output
    root = tmp_path / "content" / "first-steps"
    # In an empty folder it makes the project too: topicgen.toml names the topic to build,
    # .gitignore what builds write.
    assert result.output.splitlines()[:2] == [
        f"Created {root}, {tmp_path / 'topicgen.toml'}, {tmp_path / '.gitignore'}.",
        "Build it with: topicgen build handout --profile quick"]
    assert {p.name for p in root.iterdir()} == {"topic.toml", "references.toml",
                                                "01-averages.md", "experiments"}
    assert (tmp_path / ".gitignore").read_text().splitlines()[1:] == ["output/", ".topicgen/"]
    built = invoke("build", "handout", "--project", tmp_path, "--profile", "quick",
                   "--cache-dir", tmp_path / "cache")
    assert built.exit_code == 0, built.output
    html = (tmp_path / "output" / "first-steps" / "handout.html").read_text()
    assert "First steps" in html and 'class="claim pass"' in html
    assert (tmp_path / "output" / "first-steps" / "handout.pdf").read_bytes()[:4] == b"%PDF"
    listed = invoke("list", "--project", tmp_path, "--topic", "first-steps", "--json")
    assert [e["name"] for e in json.loads(listed.output)] == ["standard-error"]


def test_new_numbers_its_topic_after_those_the_course_has(tmp_path):
    """Every new topic was labelled "Topic 1"."""
    for slug in ("first", "second"):
        assert invoke("new", slug, "--project", tmp_path).exit_code == 0
    from topicgen.content.topic import read_toml

    labels = [read_toml(tmp_path / "content" / slug / "topic.toml")["label"]
              for slug in ("first", "second")]
    assert labels == ["Topic 1", "Topic 2"]
    # The first made topicgen.toml, which the second leaves alone and names.
    assert read_toml(tmp_path / "topicgen.toml")["topic"] == "first"
    third = invoke("new", "third", "--project", tmp_path)
    assert third.output.splitlines()[:2] == [
        f"Created {tmp_path / 'content' / 'third'}.",
        'Build it with: topicgen build handout --profile quick --topic third (topicgen.toml '
        'builds "first" by default)']


def test_new_refuses_an_existing_folder_and_a_bad_slug(tmp_path):
    assert invoke("new", "t", "--project", tmp_path).exit_code == 0
    again = invoke("new", "t", "--project", tmp_path)
    assert again.exit_code == 2
    assert again.output == (f"Error: {tmp_path / 'content' / 't'} already exists: choose "
                            "another name, or edit that topic\n")
    bad = invoke("new", "../t", "--project", tmp_path)
    assert bad.exit_code == 2
    assert bad.output.startswith('Error: "../t" cannot name a topic')
    # A topic named site built into output/site, the docs site's folder: each build of one
    # removed the other's files as stale.
    site = invoke("new", "site", "--project", tmp_path)
    assert site.exit_code == 2
    assert site.output.startswith('Error: "site" cannot name a topic: output/site is the docs '
                                  "site's folder")
    assert sorted(p.name for p in (tmp_path / "content").iterdir()) == ["t"]
    (tmp_path / "content" / "t").rename(tmp_path / "content" / "site")  # renamed by hand
    swept = invoke("sweep", "standard-error", "-p", "repeats=100,200", "--project", tmp_path,
                   "--topic", "site")
    assert swept.exit_code == 1 and "cannot be named" in swept.output  # it wrote output/site
    built = invoke("build", "handout", "--project", tmp_path, "--topic", "site")
    assert built.exit_code == 1
    assert built.output == (f"Error: {tmp_path / 'content' / 'site' / 'topic.toml'}: a topic "
                            "cannot be named \"site\": output/site is the docs site's folder, "
                            "and a build of either would remove the other's files; rename its "
                            "folder\n")


@pytest.fixture
def two_topics(make_project) -> Path:
    """tiny_topic (t1, with gradient-decay) and TWO's experiments as topic t2."""
    second = {path.replace(f"content/{TOPIC}/", "content/t2/"): text
              for path, text in TWO.items()}
    return make_project({**tiny_topic, **second})


def test_a_chapter_topic_toml_does_not_list_is_named(make_project):
    """A new chapter not added to "chapters" was left out of the handout without a word
    (and then `build all` said so once per target)."""
    project = make_project({**tiny_topic, f"content/{TOPIC}/02-new.md": "# New\n",
                            f"content/{TOPIC}/README.md": "Notes for the authors.\n"})
    result = invoke("build", "all", "--project", project, "--topic", TOPIC, "--profile",
                    "quick", "--format", "html", "--cache-dir", project / "cache")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: {project / 'content' / TOPIC / '02-new.md'} is not among "
                        "the chapters topic.toml lists, so the handout leaves it out"]


def test_several_topics_without_a_default_name_them(two_topics):
    result = invoke("build", "handout", "--project", two_topics)
    assert result.exit_code == 2
    assert result.output == (f"Error: several topics in {two_topics / 'content'} (t1, t2): "
                             "choose one with --topic, or set topic in topicgen.toml\n")
    (two_topics / "topicgen.toml").write_text('topic = "t2"\n')
    listed = invoke("list", "--project", two_topics, "--json")
    assert [e["name"] for e in json.loads(listed.output)] == ["alpha", "beta"]


def test_a_name_in_another_topic_than_the_default_says_which(two_topics):
    """With topicgen.toml's topic set, a name from the other topic was only "unknown"."""
    (two_topics / "topicgen.toml").write_text(f'topic = "{TOPIC}"\n')
    ran = invoke("run", "beta", "--project", two_topics)
    assert ran.exit_code == 2
    assert ran.output == (f'Error: unknown experiment "beta" in topic {TOPIC} (topic t2 has '
                          "it: add --topic t2)\n")
    drawn = invoke("figures", "beta", "--project", two_topics)
    assert drawn.output.endswith(f'"beta" in topic {TOPIC} (topic t2 has it: add --topic t2)\n')


def test_a_second_topic_built_into_the_same_folder_leaves_the_firsts_files(two_topics):
    """The last manifest in the folder listed the other topic's files, and each build of one
    removed them as stale (78 of Topic 4's in a robustness audit)."""
    shared = two_topics / "shared"
    for topic in (TOPIC, "t2"):
        result = invoke("build", "handout", "--project", two_topics, "--topic", topic,
                        "--profile", "quick", "--format", "html", "--out", shared,
                        "--cache-dir", two_topics / "cache")
        assert result.exit_code == 0, result.output
    assert (shared / "figures" / "fig-decay.svg").is_file()  # t1's, still there
    assert f'warning: {shared} held topic "{TOPIC}": its files are left in place' in \
        result.output


def test_run_finds_an_experiment_unique_across_topics(two_topics):
    result = invoke("run", "beta", "--project", two_topics, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["scalars"] == {"y": 3.0}
    unknown = invoke("run", "gamma", "--project", two_topics)
    assert unknown.exit_code == 2
    assert unknown.output == (f'Error: unknown experiment "gamma": no topic in '
                              f"{two_topics / 'content'} has it (choose from: alpha, beta, "
                              "gradient-decay)\n")
    typo = invoke("run", "alpah", "--project", two_topics)
    assert typo.output.endswith('has it (did you mean "alpha"?)\n')


def test_figures_finds_the_topic_of_a_figure_label(two_topics):
    """`topicgen figures NAME` takes a figure's label as well as an experiment's name."""
    result = invoke("figures", "fig-decay", "--project", two_topics, "--profile", "quick",
                    "--jobs", "1", "--out", two_topics / "figs")
    assert result.exit_code == 0, result.output
    assert (two_topics / "figs" / "fig-decay.svg").is_file()
    unknown = invoke("figures", "fig-nothing", "--project", two_topics)
    assert unknown.exit_code == 2
    assert unknown.output == (f'Error: unknown experiment or figure "fig-nothing": no topic '
                              f"in {two_topics / 'content'} has it (did you mean \"fig-beta\"?)\n")


def test_a_handouts_reproduce_command_runs_as_printed_beside_a_twin_topic(make_project):
    """Two topics with an experiment of one name (two `topicgen new` topics both start with
    standard-error): the command under a figure names its topic, so it runs as printed."""
    twin = {path.replace(f"content/{TOPIC}/", "content/t2/"): text
            for path, text in tiny_topic.items()}
    project = make_project({**tiny_topic, **twin})
    built = invoke("build", "handout", "--project", project, "--topic", TOPIC, "--profile",
                   "quick", "--format", "html", "--jobs", "1")
    assert built.exit_code == 0, built.output
    html = (project / "output" / TOPIC / "handout.html").read_text()
    words = re.search(r'class="reproduce">Reproduce: <code>(.*?)</code>', html).group(1)
    command = re.sub(r"<[^>]+>", "", words).split()
    assert command[:5] == ["topicgen", "run", "gradient-decay", "--topic", TOPIC]
    result = invoke(*command[1:], "--project", project)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_the_second_topic_of_this_repository_holds_its_claims(tmp_path, profile):
    result = CliRunner(env={"TOPICGEN_CACHE_DIR": str(tmp_path)}).invoke(
        cli, ["check", "--project", str(ROOT), "--topic", "init-scale", "--profile", profile])
    assert result.exit_code == 0, result.output
    assert [line.split(" (")[0] for line in result.stdout.splitlines()
            if not line.startswith(" ")] == ["signal-scale", "standard-error", "All claims hold."]


def test_a_project_figure_template_restyles_figures_and_the_gallery_still_lists_them(
        make_project):
    """Figure markup is a template a project may override; the site's gallery is made from
    what the build recorded, so it does not depend on that markup."""
    mine = ('<figure class="mine" id="{{ figure.label }}">{{ figure.svg }}<figcaption>Fig. '
            "{{ figure.number }}: {{ figure.caption }}</figcaption></figure>\n")
    project = make_project({**TWO, "templates/figure.html": mine})
    result = invoke("build", "site", "--project", project, "--profile", "quick",
                    "--cache-dir", project / "cache")
    assert result.exit_code == 0, result.output
    handout = (project / "output" / TOPIC / "handout.html").read_text()
    assert '<figure class="mine" id="fig-beta">' in handout and "Fig. 2: Beta, 3.0." in handout
    gallery = (project / "output" / "site" / TOPIC / "gallery.html").read_text()
    assert 'src="figures/fig-alpha.svg"' in gallery and 'src="figures/fig-beta.svg"' in gallery
    assert "Figure 2.</span> Beta, 3.0." in gallery


# -- claim kinds and claims that are not judged -----------------------------------------------

MORE_CLAIMS = """

def claims(result):
    return [Claim("positive", "y is positive.", "> 0", str(result.scalars["y"]), "0",
                  result.scalars["y"] > 0),
            Claim("finite", "y is a number.", "finite", "finite", "exact", True, kind="sanity"),
            not_judged("linear", "y grows linearly.", "y = 2x", "needs x above 5")]
"""
KINDS = ALPHA.replace("as_dict, param", "as_dict, not_judged, param") + MORE_CLAIMS


def test_sanity_checks_fold_away_and_a_claim_not_judged_says_why(make_project):
    project = make_project({**TWO, f"{EXPERIMENTS}/alpha.py": KINDS})
    assert build(project).exit_code == 0
    html = (project / "output" / TOPIC / "handout.html").read_text()
    figure = html[html.index('id="fig-alpha"'):html.index('id="fig-beta"')]
    assert figure.count('<li class="claim pass">') == 2  # positive, and the folded sanity check
    assert '<details class="sanity"><summary>1 of 1 sanity checks of the code hold</summary>' \
        in figure
    assert ('<li class="claim not-judged"><span class="verdict">– not judged</span> y grows '
            "linearly. <span class=\"claim-numbers\">Theory: y = 2x; not judged: needs x above "
            "5.</span></li>") in figure
    result = invoke("run", "alpha", "--project", project, "--json")
    claims = json.loads(result.output)["claims"]
    assert [(c["id"], c["kind"], c["passed"], c["not_judged"]) for c in claims] == [
        ("positive", "evidence", True, ""), ("finite", "sanity", True, ""),
        ("linear", "evidence", None, "needs x above 5")]
    assert "[NOT JUDGED] linear: needs x above 5" in invoke("run", "alpha", "--project",
                                                             project).output
    manifest = json.loads((project / "output" / TOPIC / "manifest.json").read_text())
    assert manifest["runs"][0]["claims"] == {"passed": 2, "total": 2, "not_judged": 1}


def test_a_claim_is_either_judged_or_says_why_not():
    from topicgen.api import Claim

    with pytest.raises(ValueError, match="kind must be one of evidence, sanity"):
        Claim("a", "s", "e", "m", "t", True, kind="proof")
    with pytest.raises(ValueError, match="either judged"):
        Claim("a", "s", "e", "m", "t", None)
    with pytest.raises(ValueError, match="either judged"):
        Claim("a", "s", "e", "m", "t", False, not_judged="why")


def test_deviations_from_the_published_recipe_are_printed_beside_the_figure(make_project):
    alpha = ALPHA + '\nDEVIATIONS = ["one seed, not five", "x below 10"]\n'
    project = make_project({**TWO, f"{EXPERIMENTS}/alpha.py": alpha})
    assert build(project).exit_code == 0
    html = (project / "output" / TOPIC / "handout.html").read_text()
    assert ('<p class="deviations"><span class="deviations-label">Differs from the published '
            "recipe:</span> one seed, not five; x below 10.</p>") in html
    assert html.count('class="deviations"') == 1  # beta discloses nothing
    result = json.loads(invoke("run", "alpha", "--project", project, "--json").output)
    assert result["deviations"] == ["one seed, not five", "x below 10"]


def test_every_topic4_experiment_declares_how_it_departs_from_its_paper():
    """An empty list is a declaration too (with a comment saying why); forgetting is not."""
    stems = [p.stem for p in TOPIC4_EXPERIMENTS.glob("[!_]*.py")
             if not p.stem.endswith("_figures")]
    silent = [stem for stem in stems if not hasattr(topic4_module(stem), "DEVIATIONS")
              and not hasattr(topic4_module(stem), "deviations")]
    assert len(stems) >= 12 and silent == []


def test_claim_statements_typeset_their_math_and_a_broken_formula_names_it(make_project):
    math_claim = ALPHA.replace('"y is positive."', r'"$y = 2x$ is positive."')
    project = make_project({**TWO, f"{EXPERIMENTS}/alpha.py": math_claim})
    assert build(project).exit_code == 0
    html = (project / "output" / TOPIC / "handout.html").read_text()
    statement = html[html.index('<span class="verdict">✓ holds</span> '):][:3000]
    assert statement.startswith('<span class="verdict">✓ holds</span> <span class="math"><svg')
    assert "y equals 2 x" in statement  # the formula's accessible name
    (project / EXPERIMENTS / "alpha.py").write_text(
        ALPHA.replace('"y is positive."', r'"$\\frac{1}{$ is positive."'))
    broken = build(project)
    assert broken.exit_code == 1
    assert broken.output.splitlines()[-1].startswith(  # the file and the claim, not the page
        f'Error: {project / EXPERIMENTS / "alpha.py"}: claim "positive": cannot typeset '
        '$\\frac{1}{$ in its statement: ')
