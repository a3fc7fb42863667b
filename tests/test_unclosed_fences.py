"""A fence left without its closing line fails the build, naming the line that opens it.

CommonMark lets such a fence run on to the end of what holds it, so the rest of the chapter
(or of the directive holding it) would silently become code or a figure's caption. Each case
changes the tiny topic's chapter, whose 13 lines hold a figure fence on lines 6 to 11.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import TOPIC, tiny_topic
from topicgen.cli import cli

CHAPTER = f"content/{TOPIC}/01-decay.md"
CLOSED_FIGURE = "distance $k$.\n```\n"  # the caption's last line and the figure's closing line
AFTER = "\nAfter the fences.\n"  # prose that must stay prose, not be swallowed by a fence


def appended(text: str) -> str:
    return tiny_topic[CHAPTER] + text


def figure_closed_by(closing: str) -> str:
    """The tiny chapter with the figure's closing line replaced by `closing` ("" drops it)."""
    return tiny_topic[CHAPTER].replace(CLOSED_FIGURE, "distance $k$.\n" + closing, 1)


UNCLOSED = [
    pytest.param(figure_closed_by(""),
                 "6: the ``` fence opened here is never closed (add a closing ``` line)",
                 id="figure-directive"),
    pytest.param(figure_closed_by("").rstrip("\n"),
                 "6: the ``` fence opened here is never closed (add a closing ``` line)",
                 id="figure-directive-at-the-end-of-a-file-without-a-newline"),
    pytest.param(appended("\n::::{exercise}\nShow it.\n\n:::{solution}\nDone.\n:::\n"),
                 "15: the :::: fence opened here is never closed (add a closing :::: line)",
                 id="colon-exercise"),
    pytest.param(appended("\n```python\nx = 1\n"),
                 "15: the ``` fence opened here is never closed (add a closing ``` line)",
                 id="plain-code"),
    pytest.param(appended("\n~~~\nx = 1\n```\n"),
                 "15: the ~~~ fence opened here is never closed (add a closing ~~~ line)",
                 id="tildes-not-closed-by-backticks"),
    pytest.param(appended("\n::::{exercise}\nRun\n\n```python\nx = 1\n::::\n" + AFTER),
                 "18: the ``` fence opened here is never closed (add a closing ``` line)",
                 id="code-inside-a-colon-exercise"),
    pytest.param(appended("\n::::{exercise}\nShow it.\n\n:::{solution}\nDone.\n::::\n" + AFTER),
                 "18: the ::: fence opened here is never closed (add a closing ::: line)",
                 id="solution-inside-a-colon-exercise"),
    pytest.param(appended("\n1. Run\n\n   ```bash\n   topicgen build\n```\n" + AFTER),
                 "17: the ``` fence opened here is never closed (add a closing ``` line)",
                 id="closing-line-outside-its-list-item"),
    pytest.param(appended("\n> ```\n> x = 1\n" + AFTER),
                 "15: the ``` fence opened here is never closed (add a closing ``` line)",
                 id="inside-a-blockquote"),
    # Its closing line gone, the figure ends at the next fence's closing line instead.
    pytest.param(figure_closed_by("") + "\n```python\nx = 1\n```\n" + AFTER,
                 "6: the ``` fence opened here runs on to line 16, swallowing the fence opened "
                 "on line 14 (close it before line 14, or give it more backticks than that one)",
                 id="figure-closed-by-the-next-fence"),
    pytest.param(appended("\n```{exercise}\nShow it.\n\n```{solution}\nDone.\n```\n```\n"),
                 "15: the ``` fence opened here runs on to line 20, swallowing the fence "
                 "opened on line 18 (close it before line 18, or give it more backticks than "
                 "that one)", id="exercise-as-short-as-its-solution"),
]

CLOSED = [
    pytest.param(appended(AFTER + "\n```python\nx = 1\n```"), id="closing-line-ends-the-file"),
    pytest.param(figure_closed_by("`````\n") + AFTER, id="longer-closing-line"),
    pytest.param(figure_closed_by("   ```  \n") + AFTER, id="indented-closing-line"),
    pytest.param(appended("\n~~~\n```\n~~~~\n" + AFTER), id="tildes-around-backticks"),
    pytest.param(appended("\n::::{exercise}\nRun\n\n```python\nx = 1\n```\n\n:::{solution}\n"
                          "~~~\ny = 2\n~~~\n:::\n::::\n" + AFTER),
                 id="fences-inside-a-colon-exercise"),
    pytest.param(appended("\n````{exercise}\nShow it.\n\n```{solution}\nDone.\n```\n````\n"
                          + AFTER), id="solution-inside-a-longer-backtick-exercise"),
    pytest.param(appended("\n- Run\n\n  ```bash\n  topicgen build\n  ```\n- Read\n\n"
                          "> ```\n> x = 1\n> ```\n" + AFTER), id="in-a-list-and-a-blockquote"),
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """One result cache for the module, so the tiny experiment runs once, not per case."""
    return tmp_path_factory.mktemp("cache")


def build(make_project, cache_dir: Path, chapter: str) -> tuple[Path, Result]:
    project = make_project({**tiny_topic, CHAPTER: chapter})
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project), "--topic",
                                      TOPIC, "--profile", "quick", "--format", "html",
                                      "--cache-dir", str(cache_dir)])
    return project, result


@pytest.mark.parametrize(("chapter", "message"), UNCLOSED)
def test_an_unclosed_fence_is_one_error_naming_the_line_it_opens(make_project, cache_dir,
                                                                  chapter, message):
    project, result = build(make_project, cache_dir, chapter)
    expected = f"Error: {project / CHAPTER}:{message}"
    lines = result.output.splitlines()
    assert (result.exit_code, lines[-1]) == (1, expected), result.output
    assert [line for line in lines if line.startswith("Error:")] == [expected]
    assert "Traceback" not in result.output
    assert not (project / "output" / TOPIC / "handout.html").exists()


@pytest.mark.parametrize("chapter", CLOSED)
def test_a_closed_fence_builds_and_the_text_after_it_stays_prose(make_project, cache_dir,
                                                                  chapter):
    project, result = build(make_project, cache_dir, chapter)
    assert result.exit_code == 0, result.output
    html = (project / "output" / TOPIC / "handout.html").read_text("utf-8")
    assert "<p>After the fences.</p>" in html
