"""Exercises and solutions: numbered per chapter, referenced like figures, and placed by the
edition (instructor: under each exercise; student: nowhere, or at the end)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TOPIC, tiny_topic
from topicgen.cli import cli

CHAPTER = f"content/{TOPIC}/01-decay.md"
EXERCISES = """
::::{exercise}
:label: ex-factor
:try: gradient-decay -p T=20 -p cells=rnn

Predict the factor by which the tanh RNN's gradient shrinks per step; see {numref}`fig-decay`.

:::{solution}
:claim: fig-decay tanh-falls-fastest; fig-decay linear-law

It shrinks by {{ result("fig-decay").scalars.decay_factor_rnn | sig(2) }} per step
{cite}`Pascanu13`.
:::
::::

````{exercise}
Why does $T$ not change the factor?

```{solution}
The factor is a property of one step, $\\partial h_t / \\partial h_{t-1}$.
```
````

{ref}`ex-factor` asks for a prediction.
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def chapter(T: int) -> str:
    """The tiny chapter and the exercises, its figure run for T steps (tanh-falls-fastest
    is judged from T = 16)."""
    return tiny_topic[CHAPTER].replace("T=10 hidden", f"T={T} hidden") + EXERCISES


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from conftest import write_project

    return write_project(tmp_path_factory.mktemp("exercises"),
                         {**tiny_topic, CHAPTER: chapter(16)})


def build(project: Path, cache_dir: Path, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project), "--topic",
                                      TOPIC, "--profile", "quick", "--format", "html",
                                      "--cache-dir", str(cache_dir), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def text(html: str) -> str:
    """The page's words: tags dropped, each formula by its spoken title."""
    html = html[html.index("<body"):]
    html = re.sub(r"<svg\b.*?<title[^>]*>(.*?)</title>.*?</svg>", r" \1 ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def page(project: Path, name: str) -> str:
    return (project / "output" / TOPIC / name).read_text("utf-8")


def test_instructor_edition_numbers_exercises_per_chapter_with_solutions_inline(project,
                                                                                cache_dir):
    build(project, cache_dir)
    html = page(project, "handout.html")
    words = text(html)
    assert "Exercise 1.1 Predict the factor" in words and "Exercise 1.2 Why does" in words
    assert words.count("Solution") == 2
    # The answer is the run's number, and the claim it rests on is judged on the same run.
    # It restates the claim, as the figure lists it, so the reader knows what was checked.
    assert re.search(r"It shrinks by 0\.\d+ per step \[ 1 \] \. ✓ holds , checked against "
                     r"the run of Figure 1 : At default initialisation .+? Expected: [^;]+; "
                     r"measured: rnn 0\.\d+; lstm", words), words
    assert words.count("checked against the run of Figure 1") == 2  # two claims, two verdicts
    assert f"Try: topicgen run gradient-decay --topic {TOPIC} -p T=20 -p cells=rnn" in words
    assert 'href="#ex-factor">Exercise 1.1</a> asks' in html
    assert 'id="ex-1-2"' in html  # an unlabelled exercise still has an anchor


def test_student_edition_has_no_solutions_and_the_same_numbers(project, cache_dir):
    build(project, cache_dir)
    output = build(project, cache_dir, "--edition", "student")
    assert "handout-student.html" in output
    student, instructor = page(project, "handout-student.html"), page(project,
                                                                      "handout.html")
    words = text(student)
    assert "Solution" not in words and "It shrinks by" not in words
    assert "Student edition" in words and "Student edition" not in text(instructor)
    assert "Exercise 1.1 Predict the factor" in words and "Exercise 1.2" in words
    # Cross-references read as in the instructor edition, whose files the build left alone.
    assert 'href="#ex-factor">Exercise 1.1</a>' in student
    assert (project / "output" / TOPIC / "handout.html").is_file()


def test_without_solutions_a_claim_a_solution_rests_on_keeps_its_verdict_not_its_numbers(
        project, cache_dir):
    """The student edition removed the solution, but the claims under the figure printed
    the numbers it rests on, a page before the question."""
    build(project, cache_dir)
    build(project, cache_dir, "--edition", "student")

    def claims(html: str) -> list[str]:
        return [text(f"<body>{item}") for item in
                re.findall(r'<li class="claim [^"]*">.*?</li>', html, re.S)]

    student, instructor = claims(page(project, "handout-student.html")), \
        claims(page(project, "handout.html"))
    withheld = [claim for claim in student if "leaves them out" in claim]
    assert len(withheld) == 2  # the solution's two claims: tanh-falls-fastest, linear-law
    assert all(claim.startswith("✓ holds") and "measured" not in claim
               and claim.endswith("Its numbers answer Exercise 1.1 , so this edition leaves "
                                  "them out.") for claim in withheld)
    # Every other claim keeps its numbers, and the instructor edition withholds nothing.
    def numbered(claim: str) -> bool:
        return "measured" in claim or "not judged:" in claim

    assert all(numbered(claim) for claim in student if claim not in withheld)
    assert len(instructor) == len(student) and all(map(numbered, instructor))


def test_solutions_appendix_prints_them_at_the_end_linked_both_ways(project, cache_dir):
    build(project, cache_dir, "--edition", "student", "--solutions", "appendix")
    html = page(project, "handout-student.html")
    end = html.index('id="solutions"')
    assert html.count('class="solution"') == 2 and html.index('class="solution"') > end
    assert 'href="#solution-ex-factor">Solution to Exercise 1.1</a>' in html[:end]
    assert 'href="#ex-factor">Exercise 1.1</a>' in html[end:]
    assert '<a href="#solutions">Solutions</a>' in html


def test_a_solution_reads_its_number_from_the_run_so_a_parameter_changes_it(tmp_path,
                                                                            cache_dir):
    from conftest import write_project

    answers = []
    for hidden in (4, 8):
        chapter = (tiny_topic[CHAPTER] + EXERCISES).replace("hidden=4", f"hidden={hidden}")
        project = write_project(tmp_path / f"hidden-{hidden}", {**tiny_topic, CHAPTER: chapter})
        build(project, cache_dir)
        answers.append(re.search(r"It shrinks by (\S+) per step",
                                 text(page(project, "handout.html"))).group(1))
    assert answers[0] != answers[1]


def test_a_student_edition_with_inline_solutions_is_a_usage_error(project, cache_dir):
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project),
                                      "--topic", TOPIC, "--edition", "student",
                                      "--solutions", "inline"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: the student edition never shows solutions inline: --solutions appendix "
        "prints them at the end")


def test_an_unknown_edition_in_topicgen_toml_is_named_with_a_suggestion(tmp_path):
    from conftest import write_project

    project = write_project(tmp_path, {**tiny_topic, "topicgen.toml": 'edition = "students"\n'})
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f'Error: {project / "topicgen.toml"}: edition must be one of instructor, student, '
        'got "students" (did you mean "student"?)')


def test_a_solution_resting_on_a_claim_not_judged_says_why(make_project, cache_dir):
    project = make_project({**tiny_topic, CHAPTER: chapter(10)})
    build(project, cache_dir)
    words = text(page(project, "handout.html"))
    assert re.search(r"– not judged , checked against the run of Figure 1 : .+? Not "
                     r"judged: judged at T >= 16", words), words
