"""The slides target: a deck from the handout's own chapters, runs and figures.

slides.html is one self-contained file (each slide a <section>, keyboard, touch and button
navigation, a progress indicator, speaker notes) and slides.pdf has one 16:9 page per slide.
A title slide opens the deck and each chapter (`#`); each section (`##`) is a slide carrying
its display equations, its tables and, as its summary, its first paragraph's first sentence,
or instead what its `{slide}` directives say, then its figures, one to a slide (the first
on the section's own where the summary is all that slide says); a slide without figures
shows the section's lists too, and each exercise as its number and first sentence, linked
to the handout. The section's prose (and the exercises, without solutions) becomes the slide's
speaker notes, unless it has `{notes}`. Figures, formulas and verdicts are the handout's:
the same plan, so a slides build after a handout build finds every run and drawing in the
cache.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it.token import Token
from markupsafe import Markup

from topicgen.build import Built, Target
from topicgen.content.myst import (
    EXERCISE,
    FIGURE_DIRECTIVE,
    NOTES,
    SLIDE,
    directive_name,
    make_parser,
    parse_aside,
    parse_exercise,
)
from topicgen.content.render import Document, HandoutRenderer
from topicgen.publish.handout import page_files, plan, prepare


@dataclass
class Slide:
    """One slide as templates/slides.html receives it."""

    anchor: str
    kind: str  # "chapter", "section" or "figure" (the deck's title slide is the template's)
    number: str
    title: Markup
    body: list[Markup] = field(default_factory=list)
    """Its summary (or `{slide}` text) and display equations."""
    figures: list[Markup] = field(default_factory=list)
    notes: list[Markup] = field(default_factory=list)
    lists: list[Markup] = field(default_factory=list)
    """The section's lists: shown on the slide too where it has no figure to show."""


@dataclass(frozen=True)
class Deck:
    title: str
    label: str
    summary: str
    authors: list[str]
    slides: list[Slide]
    references: list[list[tuple[int, object]]]
    """The references slides, each a list of (number, content.topic.Reference)."""
    version: str
    profile: str


def files(built: Built) -> dict[Path, bytes | str]:
    from topicgen.pages import render_page, render_template

    project = built.config.project
    chapters, doc = prepare(built, lambda view: render_template(project, "slide_figure.html",
                                                                figure=view))
    slides = [slide for path, tokens in chapters for slide in chapter_slides(path, tokens, doc)]
    page = deck(built, doc, slides)
    built.record["slides"] = 1 + len(slides) + len(page.references)  # title, ..., references
    html = to_handout(render_page(project, "slides.html", page))
    return page_files("slides", html, built, pdf_styles="slides-pdf.css")


def to_handout(html: str) -> str:
    """Links to what the deck leaves out (a deeper section, an exercise, the code appendix)
    lead into the handout beside it instead."""
    ids = set(ID.findall(html))
    return INTERNAL_LINK.sub(lambda match: match.group(0) if match.group(1) in ids
                             else f'href="handout.html#{match.group(1)}"', html)


def deck(built: Built, doc: Document, slides: list[Slide]) -> Deck:
    import topicgen

    topic = built.topic
    return Deck(title=topic.title, label=topic.label, summary=topic.summary,
                authors=topic.authors, slides=slides,
                references=per_slide([(n, topic.references[key])
                                      for n, key in enumerate(doc.citations, start=1)]),
                version=topicgen.__version__, profile=built.config.profile)


REFERENCES_PER_SLIDE = 12
"""At the slides' reference size (11 pt, two columns), twelve of Topic 4's longest fill a
slide; all of its 22 on one slide were 8 pt, too small to read across a room."""


def per_slide(references: list) -> list[list]:
    """The references in as few slides of at most REFERENCES_PER_SLIDE as they need, filled
    evenly (22 go 11 and 11, not 12 and 10)."""
    count = -(-len(references) // REFERENCES_PER_SLIDE)
    slides, start = [], 0
    for index in range(count):
        size = len(references) // count + (index < len(references) % count)
        slides.append(references[start:start + size])
        start += size
    return slides


def chapter_slides(path: Path, tokens: list[Token], doc: Document) -> list[Slide]:
    """A chapter's slides: its title slide, then one per `##` section. Deeper headings stay
    in their section's slide; what stands before the first section goes to the chapter's."""
    renderer = HandoutRenderer(doc, path)
    options = make_parser(doc.raw_html).options
    slides: list[Slide] = []
    asides: dict[str, list[Token]] = {}
    summary_taken = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        end = block_end(tokens, index)
        name = directive_name(token)
        if token.type == "heading_open" and token.tag in ("h1", "h2"):
            finish(slides, asides, renderer, options)
            title = renderer.renderInline(tokens[index + 1].children or [], options, {})
            slides.append(Slide(token.attrGet("id"), "chapter" if token.tag == "h1"
                                else "section", token.meta["number"], Markup(title)))
            summary_taken = False
        elif not slides:
            pass  # nothing precedes a chapter's heading in a well-formed chapter
        elif name == FIGURE_DIRECTIVE:
            slides[-1].figures.append(Markup(renderer.render(tokens[index:end], options, {})))
        elif token.type in ("math_block", "math_block_label", "table_open"):
            slides[-1].body.append(Markup(renderer.render(tokens[index:end], options, {})))
        elif name == EXERCISE:  # what it asks on the slide, all of it in the notes
            exercise = parse_exercise(token, path, doc.raw_html)
            slides[-1].body.append(exercise_pointer(exercise.body, token.meta["anchor"], doc,
                                                    renderer, options))
            slides[-1].notes.append(Markup(renderer.render(exercise.body, options, {})))
        elif name in (SLIDE, NOTES):
            asides.setdefault(name, []).extend(parse_aside(token, path, doc.raw_html))
        elif name is None:  # prose: the notes, and its first sentence the summary
            if token.type == "paragraph_open" and not summary_taken:
                sentence = first_sentence(tokens[index + 1])
                summary = renderer.renderInline(sentence.children or [], options, {})
                slides[-1].body.insert(0, Markup(f'<p class="summary">{summary}</p>'))
                summary_taken = True
            slides[-1].notes.append(Markup(renderer.render(tokens[index:end], options, {})))
            if token.type in ("bullet_list_open", "ordered_list_open"):
                slides[-1].lists.append(Markup(renderer.render(outline(tokens[index:end]),
                                                               options, {})))
        index = end
    finish(slides, asides, renderer, options)
    return slides


def finish(slides: list[Slide], asides: dict[str, list[Token]], renderer: HandoutRenderer,
           options) -> None:
    """Give the last slide what its `{slide}` and `{notes}` directives said (the slide's
    own text replaces the summary taken from the prose, its notes replace the prose), and
    its figures their room: three side by side, or one beside equations, were drawn too
    small to read from the back of a room. The slide keeps its first figure only where its
    summary is all it says; each other figure follows on a slide of its own under the
    section's title. A slide left with no figure shows its section's lists."""
    if not slides:
        return
    slide = slides[-1]
    if SLIDE in asides:
        own = Markup(renderer.render(asides[SLIDE], options, {}))
        slide.body = [own] + [part for part in slide.body if 'class="summary"' not in part]
    if NOTES in asides:
        slide.notes = [Markup(renderer.render(asides[NOTES], options, {}))]
    asides.clear()
    kept = 1 if len(slide.body) <= 1 else 0
    moved, slide.figures = slide.figures[kept:], slide.figures[:kept]
    if not slide.figures:
        slide.body += slide.lists
    slides += [Slide(f"slide-{ID.search(figure).group(1)}", "figure", slide.number,
                     slide.title, figures=[figure]) for figure in moved]


ID = re.compile(r'\sid="([^"]+)"')
INTERNAL_LINK = re.compile(r'href="#([^"]+)"')
SENTENCE_END = re.compile(r"[.?!](?=\s)")
SHORTEST_SUMMARY = 40
"""Characters a summary has at least, so that "et al." does not end it."""


def exercise_pointer(body: list[Token], anchor: str, doc: Document,
                     renderer: HandoutRenderer, options) -> Markup:
    """'Exercise 1.2: its first sentence', the number linked to the exercise."""
    number = doc.targets[anchor].number
    opening = next((i for i, token in enumerate(body) if token.type == "paragraph_open"), None)
    prompt = "" if opening is None else ": " + renderer.renderInline(
        first_sentence(body[opening + 1]).children or [], options, {})
    return Markup(f'<p class="exercise-pointer"><a class="xref exercise" '
                  f'href="#{html.escape(anchor)}">Exercise {number}</a>{prompt}</p>')


def first_sentence(inline: Token) -> Token:
    """A paragraph's inline token cut after its first sentence (at a full stop, question or
    exclamation mark outside any emphasis or link, or at the end of an emphasised sentence,
    once SHORTEST_SUMMARY characters are in)."""
    kept: list[Token] = []
    depth = length = written = 0
    ended = False  # the last text so far ends a sentence
    for child in inline.children or []:
        depth += child.nesting
        if child.type == "text" and depth == 0:
            for match in SENTENCE_END.finditer(child.content + " "):
                if length + match.end() >= SHORTEST_SUMMARY:
                    cut = child.copy(content=child.content[:match.end()])
                    return inline.copy(children=kept + [cut])
            length += len(child.content)
        if child.type == "text":
            written += len(child.content)
            ended = child.content.rstrip().endswith((".", "?", "!"))
        kept.append(child)
        # A sentence set in bold or italics as a lead-in ends where its emphasis does.
        if child.type in ("strong_close", "em_close") and depth == 0 and ended \
                and written >= SHORTEST_SUMMARY:
            return inline.copy(children=kept)
    return inline


def outline(tokens: list[Token]) -> list[Token]:
    """A list (its tokens) with each item cut to its first paragraph's first sentence: the
    bullets of a slide, where the whole items are the notes."""
    level = tokens[0].level
    kept: list[Token] = []
    in_paragraph = taken = False
    for token in tokens:
        if token.level == level or (token.level == level + 1 and token.type.startswith(
                "list_item")):
            kept.append(token)
            taken = False
        elif token.level == level + 2 and token.type == "paragraph_open" and not taken:
            kept.append(token)
            in_paragraph = taken = True
        elif in_paragraph and token.type == "inline":
            kept.append(first_sentence(token))
        elif in_paragraph and token.type == "paragraph_close":
            kept.append(token)
            in_paragraph = False
    return kept


def block_end(tokens: list[Token], index: int) -> int:
    """Past the block that starts at `index` (its closing token at the same nesting)."""
    if tokens[index].nesting != 1:
        return index + 1
    depth, end = 0, index
    while True:
        depth += tokens[end].nesting
        end += 1
        if depth == 0:
            return end


TARGET = Target(name="slides", plan=plan, files=files, manifest="manifest-slides.json",
                claims_stop_it=True)
