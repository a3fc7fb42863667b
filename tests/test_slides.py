"""The deck: a slide per section from the handout's chapters, runs and figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TOPIC, tiny_topic, write_project
from topicgen import experiments
from topicgen.cli import cli

CHAPTER = f"content/{TOPIC}/01-decay.md"
SECTIONS = """
## Why it fades

Each step multiplies the gradient by a Jacobian. Its norm is below one here, so the product
shrinks geometrically.

$$ \\|\\partial h_t / \\partial h_k\\| \\le \\lambda^{t-k} $$ (eq-bound)

More prose that only the speaker needs, and the code: {source}`gradient-decay:linear_step`.

```{experiment-figure} gradient-decay:grad_norm
:name: fig-fade
:params: T=12 hidden=4 seeds=2

The same decay over twelve steps.
```

## What to do

:::{slide}
Clip, gate, or add a residual path.
:::

:::{notes}
Say that clipping fixes only explosions.
:::

The prose of this section, which the notes replace.

## Takeaways

1. **Gradients through time multiply Jacobians.** So they shrink or grow geometrically, as
   {eq}`eq-bound` says.
2. **Clipping bounds every step it takes.** It does nothing for a gradient that vanishes.

| year | what changed |
|---|---|
| 1997 | the LSTM's additive cell |

## Exercises

::::{exercise}
:label: ex-fade
Take the bound of the first section and set lambda to one half. What is left after ten steps?

```{solution}
A thousandth of it.
```
::::
"""


def build(project: Path, cache: Path, target: str, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["build", target, "--project", str(project), "--topic",
                                      TOPIC, "--profile", "quick", "--cache-dir", str(cache),
                                      *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The tiny topic with two sections, its handout and its slides built; the project."""
    project = write_project(tmp_path_factory.mktemp("slides"),
                            {**tiny_topic, CHAPTER: tiny_topic[CHAPTER] + SECTIONS})
    cache = tmp_path_factory.mktemp("cache")
    build(project, cache, "handout")
    build(project, cache, "slides")
    return project


def slides(project: Path) -> dict[str, str]:
    """id -> the HTML of each slide, in order."""
    html = (project / "output" / TOPIC / "slides.html").read_text("utf-8")
    return dict(re.findall(r'<section class="slide[^"]*" id="([^"]+)"(.*?)</section>', html,
                           re.S))


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", " ", html,
                                                   flags=re.S)).split())


def notes(slide: str) -> str:
    return words(re.search(r'<aside class="notes".*?</aside>', slide, re.S).group(0))


def test_a_slide_per_chapter_and_section_with_its_figures_equations_and_summary(built):
    deck = slides(built)
    assert list(deck) == ["title", "sec-decay", "sec-why-it-fades", "slide-fig-fade",
                          "sec-what-to-do", "sec-takeaways", "sec-exercises", "references"]
    chapter, fades, todo = deck["sec-decay"], deck["sec-why-it-fades"], deck["sec-what-to-do"]
    # The chapter's figure, with the verdict count of its run's claims, as in the handout.
    assert 'id="fig-decay"' in chapter
    assert re.search(r"\d of \d claims checked against this run hold", words(chapter))
    summary = re.search(r'<p class="summary">(.*?)</p>', fades, re.S).group(1)
    assert words(summary) == "Each step multiplies the gradient by a Jacobian."
    assert 'id="eq-bound"' in fades
    # A figure beside equations would be drawn small: it follows on a slide of its own.
    assert 'id="fig-fade"' not in fades and 'id="fig-fade"' in deck["slide-fig-fade"]
    assert "> 1.1 Why it fades (continued) Figure 2." in words(deck["slide-fig-fade"])
    assert "More prose that only the speaker needs" in notes(fades)
    # The code appendix is the handout's: the link leads there.
    assert 'href="handout.html#code-gradient-decay-linear_step"' in fades
    # {slide} replaces the summary; {notes} replaces the prose as the notes.
    assert "Clip, gate, or add a residual path." in words(todo)
    assert 'class="summary"' not in todo
    assert "clipping fixes only explosions" in notes(todo)
    assert "which the notes replace" not in notes(todo)


def test_exercises_tables_and_lists_reach_the_slide(built):
    """An exercises section was a slide with its title alone, and a table or a list (a
    checklist) went to the notes only, leaving its slide all but empty."""
    deck = slides(built)
    takeaways, exercises = deck["sec-takeaways"], deck["sec-exercises"]
    on_slide = words(takeaways.split('<aside class="notes"')[0])
    # Each item's lead-in sentence on the slide, the whole item in the notes.
    assert ("Gradients through time multiply Jacobians. Clipping bounds every step it takes."
            in on_slide)
    assert "geometrically" not in on_slide and "geometrically" in notes(takeaways)
    assert "1997 the LSTM's additive cell" in on_slide
    # An exercise: its number, linked into the handout, and its first sentence; the whole
    # question in the notes, and its solution nowhere in the deck.
    assert ('<a class="xref exercise" href="handout.html#ex-fade">Exercise 1.1</a>: Take the '
            "bound of the first section and set lambda to one half.") in exercises
    assert "What is left after ten steps?" in notes(exercises)
    assert "A thousandth" not in exercises


def test_the_handout_shows_neither_slide_nor_notes_text(built):
    handout = words((built / "output" / TOPIC / "handout.html").read_text("utf-8"))
    assert "The prose of this section" in handout
    assert "Clip, gate" not in handout and "clipping fixes only" not in handout


def test_the_pdf_has_one_16_by_9_page_per_slide_without_notes(built):
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(built / "output" / TOPIC / "slides.pdf"))
    sizes = [pdf[i].get_size() for i in range(len(pdf))]
    assert len(sizes) == len(slides(built))
    manifest = json.loads((built / "output" / TOPIC / "manifest-slides.json").read_text())
    assert manifest["slides"] == len(sizes)
    assert all(abs(width / height - 16 / 9) < 0.01 for width, height in sizes)
    texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    assert "Why it fades" in texts[2]
    assert not any("More prose that only" in text for text in texts)
    pdf.close()


def test_slides_after_the_handout_run_and_draw_nothing(tmp_path, monkeypatch):
    project = write_project(tmp_path / "project", tiny_topic)
    build(project, tmp_path / "cache", "handout")

    def fail(*args, **kwargs):
        raise AssertionError("the handout's runs and drawings must be reused")

    monkeypatch.setattr(experiments, "run", fail)
    monkeypatch.setattr("topicgen.figures.style.save", fail)
    assert "(1 reused, 0 computed)" in build(project, tmp_path / "cache", "slides")


@pytest.mark.parametrize(("count", "sizes"), [(0, []), (1, [1]), (12, [12]), (13, [7, 6]),
                                              (22, [11, 11]), (25, [9, 8, 8])])
def test_references_go_to_slides_of_twelve_at_most_evenly_filled(count, sizes):
    from topicgen.publish.slides import per_slide

    references = list(range(count))
    slides = per_slide(references)
    assert [len(slide) for slide in slides] == sizes
    assert [number for slide in slides for number in slide] == references


def test_topic4_every_slide_fits_its_page_with_one_figure_at_most(topic4_site):
    """Figures were drawn a third of the slide's width, three abreast or beside equations;
    each now has the slide's room, and none of Topic 4's slides spills onto a second page.
    Its 22 references were one slide at 8 pt: two now, at 11 pt."""
    import pypdfium2

    html = (topic4_site / "topic4" / "slides.html").read_text("utf-8")
    deck = re.findall(r'<section class="slide[^"]*" id="([^"]+)"(.*?)</section>', html, re.S)
    assert all(slide.count('class="slide-figure"') <= 1 for _, slide in deck)
    assert [anchor for anchor, _ in deck][-2:] == ["references", "references-2"]
    # Numbered on from the first slide's, on paper too (WeasyPrint reads neither start nor
    # value, only the counter).
    assert '<ol start="12" style="counter-reset: list-item 11">' in deck[-1][1]
    pdf = pypdfium2.PdfDocument(str(topic4_site / "topic4" / "slides.pdf"))
    assert len(pdf) == len(deck)
    pdf.close()
