"""Markdown tokens -> HTML: numbered sections, equations and figures, references, citations.

Rendering is two passes over every chapter's tokens: `number_targets` gives each section,
equation and figure its number and anchor (so a reference may point forward or into
another chapter), then `render_chapter` writes HTML, resolving every role against them.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup

from topicgen.content.myst import (
    EXERCISE,
    FIGURE_DIRECTIVE,
    NOTES,
    SLIDE,
    Exercise,
    check_label,
    directive_name,
    make_parser,
    parse_exercise,
    parse_figure,
)
from topicgen.errors import ContentError, TopicgenError, did_you_mean
from topicgen.mathtex import MathError, render_math
from topicgen.svg import prefix_ids, retitled, svg_title

KIND_NAMES = {"section": "Section", "equation": "Equation", "figure": "Figure",
              "exercise": "Exercise"}

LINK_SCHEMES = ("http", "https", "mailto")
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp", ".svg": "image/svg+xml"}
# A display formula wider than this scrolls sideways on the narrowest screen a page must fit
# (WCAG's 320 CSS px, less handout.css's margins and an equation number's room, 1 em = 16 px).
SCROLLS_BEYOND_EM = 16
# A keyboard scrolls only what it can focus; scrolling boxes are tab stops (see handout.css).
FOCUSABLE = ' tabindex="0"'
HANG = 4  # characters a wrapped code line starts right of its own indent


def is_image(kind: str, data: bytes) -> bool:
    """Whether `data` begins as an image of media type `kind` does: a browser shows a broken
    image where it does not, and the PDF leaves a hole."""
    if kind == "image/svg+xml":
        return b"<svg" in data[:4096]
    if kind == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    signatures = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
                  "image/gif": (b"GIF87a", b"GIF89a")}
    return data.startswith(signatures[kind])


@dataclass
class Target:
    kind: str  # section | equation | figure
    number: str
    path: Path
    line: int
    title_html: str = ""
    level: int = 0
    labelled: bool = True  # False: an exercise known by the anchor it was given (ex-1-2)


@dataclass
class FigureHtml:
    """What the build drew for one figure directive."""

    svg: str
    claims: list  # of api.Claim
    run_command: str
    claims_shown_at: str | None = None  # label of the figure that already lists this run's claims
    deviations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FigureView:
    """What templates/figure.html receives as `figure`; also the site gallery's record."""

    label: str
    number: str
    alt: str
    svg: Markup
    caption: Markup
    claims: list  # of api.Claim
    claims_shown_at: str | None
    claims_shown_at_number: str | None
    command_words: list[str]  # the reproducing command, split where it may wrap
    deviations: list[str]  # how the run's recipe differs from the published one
    withheld: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Claims whose numbers this edition leaves out: claim id -> the anchor and number of the
    exercise whose solution rests on it (printed a page before the question, the numbers
    would give its answer away)."""


@dataclass
class SourceRef:
    anchor: str
    experiment: str
    function: str
    module: str
    qualname: str
    file: str
    line: int
    code: str


@dataclass
class Document:
    """Everything shared across chapters while rendering one handout."""

    targets: dict[str, Target] = field(default_factory=dict)
    figures: dict[str, FigureHtml] = field(default_factory=dict)
    references: dict = field(default_factory=dict)  # key -> content.topic.Reference
    experiments: dict = field(default_factory=dict)  # name -> experiments.Experiment
    raw_html: bool = False  # let raw HTML in the Markdown through (trusted content only)
    citations: list[str] = field(default_factory=list)  # keys, in order of first citation
    sources: dict[str, SourceRef] = field(default_factory=dict)
    math_count: int = 0
    render_figure: Callable[[FigureView], str] | None = None  # default: the theme's figure.html
    views: dict[str, FigureView] = field(default_factory=dict)  # every figure, as rendered
    solutions: str = "inline"  # config.PLACEMENTS: under each exercise, at the end, nowhere
    appendix: list[SolutionView] = field(default_factory=list)  # with solutions="appendix"
    answers: dict[tuple[str, str], str] = field(default_factory=dict)
    """(figure label, claim id) -> the anchor of the exercise whose solution rests on it."""


@dataclass(frozen=True)
class SolutionView:
    """A solution as the end of an edition prints it: which exercise it answers, its HTML."""

    exercise: str  # the exercise's anchor
    number: str
    html: Markup


def slugify(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", text.lower()).strip("-")
    return f"sec-{slug}" if slug else "sec"


def number_targets(chapters: list[tuple[Path, list[Token]]], doc: Document) -> None:
    """Pass 1: number every heading, labelled equation, figure and exercise, across all
    chapters (exercises per chapter: Exercise 3.2). Solutions are numbered in every edition,
    shown or not, so both editions number alike."""
    counters = [0, 0, 0, 0, 0, 0]
    equations = figures = 0
    exercises: dict[int, int] = {}

    def visit(path: Path, tokens: list[Token]) -> None:
        nonlocal equations, figures
        pending_label = None
        for index, token in enumerate(tokens):
            line = token.map[0] + 1 if token.map else 0
            if token.type == "myst_target":
                if index + 1 >= len(tokens) or tokens[index + 1].type != "heading_open":
                    raise ContentError(f'label "({token.content})=" must stand on the line '
                                       "right before a heading", path, line)
                check_label(token.content, path, line)
                pending_label = token.content
            elif token.type == "heading_open":
                level = int(token.tag[1])
                counters[level - 1] += 1
                counters[level:] = [0] * (6 - level)
                number = ".".join(str(n) for n in counters[:level])
                title = tokens[index + 1].content
                if not title.strip():
                    raise ContentError("heading without a title (write one after the #)",
                                       path, line)
                label = pending_label or unique_slug(slugify(title), doc.targets)
                add_target(doc, label, Target("section", number, path, line, level=level))
                token.attrSet("id", label)
                token.meta["number"] = number
                pending_label = None
            elif token.type == "math_block_label":
                check_label(token.info, path, line)
                equations += 1
                add_target(doc, token.info, Target("equation", str(equations), path, line))
            elif directive_name(token) == EXERCISE:
                exercise = parse_exercise(token, path, doc.raw_html)
                exercises[counters[0]] = exercises.get(counters[0], 0) + 1
                number = f"{counters[0]}.{exercises[counters[0]]}"
                label = exercise.label or f"ex-{number.replace('.', '-')}"
                add_target(doc, label, Target("exercise", number, path, line,
                                              labelled=exercise.label is not None))
                token.meta["anchor"] = label
                visit(path, exercise.body)
                for solution in exercise.solutions:
                    visit(path, solution.body)
                    for spec in solution.claim.split(";"):
                        figure, _, claim_id = spec.strip().partition(" ")
                        doc.answers[(figure, claim_id)] = label
            elif directive_name(token) == FIGURE_DIRECTIVE:
                figures += 1
                request = parse_figure(token, path)
                add_target(doc, request.label, Target("figure", str(figures), path, line))

    for path, tokens in chapters:
        visit(path, tokens)


def unique_slug(slug: str, taken: dict) -> str:
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    return candidate


def add_target(doc: Document, label: str, target: Target) -> None:
    if label in doc.targets:
        first = doc.targets[label]
        raise ContentError(f'label "{label}" is already used at {first.path.name}:{first.line}',
                           target.path, target.line)
    doc.targets[label] = target


def render_chapter(path: Path, tokens: list[Token], doc: Document) -> str:
    """Pass 2: the chapter's HTML."""
    renderer = HandoutRenderer(doc, path)
    return renderer.render(tokens, make_parser(doc.raw_html).options, {})


class HandoutRenderer(RendererHTML):
    """markdown-it's HTML renderer plus MyST roles, math, numbering and figures."""

    def __init__(self, doc: Document, path: Path):
        super().__init__()
        self.doc = doc
        self.path = path
        self.line = 0
        self.line_offset = 0  # where the tokens being rendered start in the file

    def render(self, tokens, options, env):
        out = []
        for index, token in enumerate(tokens):
            if token.map:
                self.line = self.line_offset + token.map[0] + 1
            if token.type == "inline":
                out.append(self.renderInline(token.children or [], options, env))
            elif token.type in self.rules:
                out.append(self.rules[token.type](tokens, index, options, env))
            else:
                out.append(self.renderToken(tokens, index, options, env))
        return "".join(out)

    def error(self, message: str, tokens: list[Token] | None = None, idx: int = 0) -> ContentError:
        """A ContentError at the current line (counting soft breaks inside a paragraph)."""
        extra = sum(t.type in {"softbreak", "hardbreak"} for t in (tokens or [])[:idx])
        return ContentError(message, self.path, self.line + extra)

    # -- headings ---------------------------------------------------------------------------
    def heading_open(self, tokens, idx, options, env):
        token = tokens[idx]
        level = min(int(token.tag[1]) + 1, 6)  # the handout title is the page's only <h1>
        title = self.renderInline(tokens[idx + 1].children or [], options, env)
        target = self.doc.targets[token.attrGet("id")]
        target.title_html = title
        return (f'<h{level} id="{token.attrGet("id")}"><span class="secno">'
                f'{token.meta["number"]}</span> ')

    def heading_close(self, tokens, idx, options, env):
        return f"</h{min(int(tokens[idx].tag[1]) + 1, 6)}>\n"

    def myst_target(self, tokens, idx, options, env):
        return ""

    # -- math ---------------------------------------------------------------------------------
    def math(self, tex: str, display: bool, tokens=None, idx: int = 0) -> str:
        try:
            svg = render_math(tex.strip(), display)
        except MathError as error:
            raise self.error(f"cannot typeset ${tex.strip()}$: {error}", tokens, idx) from None
        self.doc.math_count += 1
        return prefix_ids(svg, f"m{self.doc.math_count}")

    def math_inline(self, tokens, idx, options, env):
        return f'<span class="math">{self.math(tokens[idx].content, False, tokens, idx)}</span>'

    def math_inline_double(self, tokens, idx, options, env):
        svg = self.math(tokens[idx].content, True, tokens, idx)
        return f'<span class="math display-inline">{svg}</span>'

    def math_block(self, tokens, idx, options, env):
        svg = self.math(tokens[idx].content, True)
        return f'<div class="math-display"{scroll_focus(svg)}>{svg}</div>\n'

    def math_block_label(self, tokens, idx, options, env):
        token = tokens[idx]
        number = self.doc.targets[token.info].number
        svg = self.math(token.content, True)
        return (f'<div class="math-display numbered" id="{html.escape(token.info)}"'
                f'{scroll_focus(svg)}>{svg}<span class="eqno">({number})</span></div>\n')

    # -- tables, code and directives ----------------------------------------------------------
    def table_open(self, tokens, idx, options, env):  # a table scrolls sideways on a phone
        return self.renderToken(tokens, idx, options, env).replace("<table", "<table" + FOCUSABLE)

    def fence(self, tokens, idx, options, env):
        token = tokens[idx]
        name = directive_name(token)
        if name == FIGURE_DIRECTIVE:
            return self.figure(parse_figure(token, self.path))
        if name == EXERCISE:
            return self.exercise(parse_exercise(token, self.path, self.doc.raw_html),
                                 token.meta["anchor"], options, env)
        if name in (SLIDE, NOTES):
            return ""  # for the slides alone (see publish.slides)
        if name is not None:  # build.plan_figures refused it already, naming file:line
            raise self.error(f'{{{name}}} cannot stand here')
        return highlight(token.content, token.info.strip().split(" ")[0])

    colon_fence = fence

    def exercise(self, exercise: Exercise, anchor: str, options, env) -> str:
        """An exercise and, as the edition places them, its solutions. Solutions are
        rendered in every edition, so that citations in them number alike in all."""
        number = self.doc.targets[anchor].number
        body = self.render(exercise.body, options, env)
        solutions = [self.render(solution.body, options, env) + self.claim_verdict(solution)
                     for solution in exercise.solutions]
        parts = [f'<div class="exercise" id="{html.escape(anchor)}">'
                 f'<p class="exercise-title">Exercise {number}</p>', body]
        if exercise.try_command:
            name, _, rest = exercise.try_command.partition(" ")
            experiment = self.doc.experiments.get(name)  # the handout's plan checked it
            topic = f" --topic {experiment.topic}" if experiment else ""
            parts.append('<p class="exercise-try">Try: <code>topicgen run '
                         f"{html.escape(f'{name}{topic} {rest}'.strip())}</code></p>")
        if solutions and self.doc.solutions == "inline":
            parts += [f'<div class="solution"><p class="solution-title">Solution</p>{text}</div>'
                      for text in solutions]
        elif solutions and self.doc.solutions == "appendix":
            parts.append(f'<p class="solution-pointer"><a class="xref solution" '
                         f'href="#solution-{html.escape(anchor)}">Solution to Exercise '
                         f"{number}</a> (at the end)</p>")
            self.doc.appendix.append(SolutionView(anchor, number,
                                                  Markup("".join(solutions))))
        return "".join(parts) + "</div>\n"

    def claim_verdict(self, solution) -> str:
        """The verdicts of the claims a solution rests on (`:claim: FIGURE CLAIM`, several
        separated by `;`), as their figures print them: the answer is checked against the
        same runs."""
        return "".join(self.one_verdict(claim.strip(), solution.line)
                       for claim in solution.claim.split(";") if claim.strip())

    def one_verdict(self, spec: str, line: int) -> str:
        from topicgen.pages import inline_math

        label, _, claim_id = spec.partition(" ")
        drawn = self.doc.figures.get(label)
        if drawn is None:
            raise ContentError(f'":claim: {spec}": no figure "{label}" in this handout'
                               + did_you_mean(label, self.doc.figures), self.path, line)
        claims = {claim.id: claim for claim in drawn.claims}
        if claim_id not in claims:
            raise ContentError(f'":claim: {spec}": the run of "{label}" has no claim '
                               f'"{claim_id}"' + did_you_mean(claim_id, claims), self.path, line)
        claim = claims[claim_id]
        verdict = {True: "✓ holds", False: "✗ fails", None: "– not judged"}[claim.passed]
        ids = f"{label}-{claim_id}-solution"
        detail = f"Not judged: {html.escape(claim.not_judged)}" if claim.passed is None else \
            (f"Expected: {inline_math(claim.expected, f'{ids}-e')}; measured: "
             f"{inline_math(claim.measured, f'{ids}-m')}")
        return (f'<p class="claim-check"><span class="verdict">{verdict}</span>, checked '
                f'against the run of <a class="xref figure" href="#{html.escape(label)}">'
                f"Figure {self.doc.targets[label].number}</a>: "
                f"{inline_math(claim.statement, f'{ids}-s')} {detail}.</p>")

    def code_block(self, tokens, idx, options, env):
        return highlight(tokens[idx].content, "")

    def figure(self, request) -> str:
        target = self.doc.targets[request.label]
        drawn = self.doc.figures.get(request.label)
        if drawn is None:
            raise self.error(f'figure "{request.label}" was not planned: figure directives must '
                             "be written in the Markdown, not produced by Jinja")
        caption = self.render_caption(request)
        first = drawn.claims_shown_at
        # An author's :alt: replaces the description read from the data everywhere it is
        # announced: the page's label, the drawing's <title> and so the PDF's /Alt.
        svg = retitled(drawn.svg, request.alt) if request.alt else drawn.svg
        view = FigureView(
            label=request.label, number=target.number,
            alt=request.alt or svg_title(svg) or caption_text(caption),
            svg=Markup(prefix_ids(svg, f"f-{html.escape(request.label)}")),
            caption=Markup(caption), claims=drawn.claims, claims_shown_at=first,
            claims_shown_at_number=self.doc.targets[first].number if first else None,
            command_words=re.split(r" (?=-)", drawn.run_command),
            deviations=drawn.deviations, withheld=self.withheld(request.label),
        )
        self.doc.views[request.label] = view
        return (self.doc.render_figure or theme_figure)(view)

    def withheld(self, label: str) -> dict[str, tuple[str, str]]:
        """Where the edition prints no solutions, the claims under figure `label` that a
        solution rests on (named by this figure or by another of the same run), with their
        exercise."""
        if self.doc.solutions != "none":
            return {}
        return {claim_id: (exercise, self.doc.targets[exercise].number)
                for (named, claim_id), exercise in self.doc.answers.items()
                if named in self.doc.figures
                and (self.doc.figures[named].claims_shown_at or named) == label}

    def render_caption(self, request) -> str:
        """The caption's HTML; errors inside it point at the caption's own lines."""
        if not request.caption:
            return ""
        outer = self.line_offset, self.line
        self.line_offset = request.caption_line - 1
        parser = make_parser(self.doc.raw_html)
        try:
            caption = self.render(parser.parse(request.caption), parser.options, {})
        finally:
            self.line_offset, self.line = outer
        return re.sub(r"^<p>(.*)</p>\n?$", r"\1", caption, flags=re.S)  # one-paragraph caption

    # -- links and images: content is untrusted, so it may not point out of the project --------
    def link_open(self, tokens, idx, options, env):
        href = tokens[idx].attrGet("href") or ""
        if not href.startswith("#") and urlsplit(href).scheme not in LINK_SCHEMES:
            raise self.error(f'link to "{href}": a link may go to a label in the handout '
                             '(#sec-x) or to a web page (https://...)', tokens, idx)
        return self.renderToken(tokens, idx, options, env)

    def image(self, tokens, idx, options, env):
        token = tokens[idx]
        token.attrSet("src", self.image_data(token.attrGet("src") or "", tokens, idx))
        return super().image(tokens, idx, options, env)

    def image_data(self, src: str, tokens, idx) -> str:
        """An image file in the topic folder as a data: URL, so the handout stays one file."""
        path = self.path.parent / unquote(src)
        if urlsplit(src).scheme or src.startswith("/") \
                or not path.resolve().is_relative_to(topic_root(self.path).resolve()):
            raise self.error(f'image "{src}" is not a file in the topic folder (copy it there '
                             "and give its path relative to the chapter)", tokens, idx)
        kind = IMAGE_TYPES.get(path.suffix.lower())
        if kind is None:
            raise self.error(f'image "{src}" must be one of: {", ".join(IMAGE_TYPES)}',
                             tokens, idx)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise self.error(f'image "{src}": {error.strerror}', tokens, idx) from None
        if not is_image(kind, data):
            raise self.error(f'image "{src}" is not a {path.suffix.lower()[1:].upper()} file '
                             "(its bytes do not begin as one): save it again in that format",
                             tokens, idx)
        return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"

    # -- roles --------------------------------------------------------------------------------
    def myst_role(self, tokens, idx, options, env):
        token = tokens[idx]
        role, content = token.meta["name"], token.content.strip()
        handlers = {"ref": self.role_ref, "numref": self.role_ref, "eq": self.role_ref,
                    "cite": self.role_cite, "source": self.role_source}
        if role not in handlers:
            raise self.error(f'unknown role "{{{role}}}"' + did_you_mean(role, handlers),
                             tokens, idx)
        return handlers[role](role, content, tokens, idx)

    def role_ref(self, role, label, tokens, idx):
        target = self.doc.targets.get(label)
        if target is None:
            unlabelled = [t.number for t in self.doc.targets.values()
                          if t.kind == "exercise" and not t.labelled]
            verb = "has" if len(unlabelled) == 1 else "have"
            # An exercise is labelled only with :label:; a label like "fig-x" is no exercise's.
            hint = (f' (Exercise {", ".join(unlabelled)} {verb} no :label:; give it '
                    f'":label: {label}" to refer to it)'
                    if unlabelled and label.startswith("ex")
                    else did_you_mean(label, self.doc.targets))
            raise self.error(f'unknown label "{label}" in {{{role}}}{hint}', tokens, idx)
        if role == "eq" and target.kind != "equation":
            raise self.error(f'{{eq}} needs an equation label, "{label}" is a {target.kind}',
                             tokens, idx)
        text = f"({target.number})" if target.kind == "equation" and role == "eq" \
            else f"{KIND_NAMES[target.kind]} {target.number}"
        return f'<a class="xref {target.kind}" href="#{html.escape(label)}">{text}</a>'

    def role_cite(self, role, keys, tokens, idx):
        links = []
        for key in (k.strip() for k in keys.split(",")):
            if key not in self.doc.references:
                raise self.error(f'unknown citation "{key}"'
                                 + did_you_mean(key, self.doc.references), tokens, idx)
            if key not in self.doc.citations:
                self.doc.citations.append(key)
            number = self.doc.citations.index(key) + 1
            links.append(f'<a class="cite" href="#ref-{html.escape(key)}">{number}</a>')
        return f'<span class="citation">[{", ".join(links)}]</span>'

    def role_source(self, role, spec, tokens, idx):
        try:
            ref = self.doc.sources.get(spec) or find_source(spec, self.doc.experiments)
        except TopicgenError as error:
            raise self.error(error.message, tokens, idx) from None
        self.doc.sources[spec] = ref
        return (f'<a class="source-ref" href="#{ref.anchor}"><code>'
                f"{html.escape(ref.qualname)}()</code></a>")


def topic_root(chapter: Path) -> Path:
    """The topic folder a chapter belongs to: the nearest one holding topic.toml."""
    return next((folder for folder in chapter.parents if (folder / "topic.toml").is_file()),
                chapter.parent)


def find_source(spec: str, experiments: dict) -> SourceRef:
    """`gradient-decay:hidden_state_gradients` -> the function, its file, line and code."""
    from topicgen import sources

    name, _, function = (part.strip() for part in spec.partition(":"))
    if name not in experiments:
        raise ContentError(f'unknown experiment "{name}"' + did_you_mean(name, experiments))
    path = experiments[name].path
    own = sources.definitions(path)  # not what it imports: that is not its code
    if function not in own:
        raise ContentError(f'experiment "{name}" has no function "{function}"'
                           + did_you_mean(function, own))
    line, code = own[function]
    return SourceRef(
        anchor=f"code-{name}-{function}", experiment=name, function=function,
        module=path.stem, qualname=f"{path.stem}.{function}",
        file=f"content/{experiments[name].topic}/experiments/{path.name}", line=line,
        code=code,
    )


def scroll_focus(svg: str) -> str:
    """FOCUSABLE for a display formula wide enough to scroll, else "": a tab stop on every
    formula would make keyboard users step through those that fit too."""
    width = re.search(r'\swidth="([\d.]+)em"', svg[:svg.index(">")])
    return FOCUSABLE if width and float(width.group(1)) > SCROLLS_BEYOND_EM else ""


def theme_figure(view: FigureView) -> str:
    """The figure through the default theme's figure.html (a build passes the project's)."""
    from topicgen.pages import render_template

    return render_template(None, "figure.html", figure=view)


def caption_text(caption_html: str) -> str:
    """Plain text of a caption for alt text: tags and math SVGs reduced to their words."""
    text = re.sub(r"<svg.*?</svg>",  # each SVG becomes its <title>, the words it speaks
                  lambda m: " " + " ".join(re.findall(r"<title[^>]*>(.*?)</title>",
                                                      m.group(0), flags=re.S)) + " ",
                  caption_html, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def highlight(code: str, language: str) -> str:
    """Code as HTML, a `<span>` for each run of tokens that the style shows apart from
    plain text. Pygments would wrap names, punctuation and spaces too, which look like plain
    text: two thirds of a listing's elements, each laid out on its own in the PDF."""
    from pygments import format as format_tokens
    from pygments import lex
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.token import Text
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    formatter = HtmlFormatter(cssclass="code")
    tokens = ((kind if shown(formatter.style, kind, value) else Text, value)
              for kind, value in lex(code, lexer))
    listing = format_tokens(tokens, formatter)
    listing = re.sub(r"(<pre>)(.*)(</pre>)", lambda m: m[1] + hanging_lines(m[2]) + m[3],
                     listing, count=1, flags=re.S)
    return listing.replace('<div class="code">', f'<div class="code"{FOCUSABLE}>', 1)


def hanging_lines(listing: str) -> str:
    """Each line of highlighted code in a span that knows its indent, so that a line too
    long for the printed page wraps under its own indent and a bit more (print.css), not at
    column 0, where it would read as a statement of its own. Pygments closes every span at
    the end of a line, so the lines split cleanly."""
    lines = listing.split("\n")
    spans = []
    for line in lines[:-1]:  # the listing ends with a newline
        text = html.unescape(re.sub(r"<[^>]+>", "", line))
        hang = len(text) - len(text.lstrip()) + HANG
        spans.append(f'<span class="line" style="--hang:{hang}ch">{line}\n</span>')
    return "".join(spans) + lines[-1]


def shown(style, kind, value: str) -> bool:
    """Whether Pygments' `style` shows `value`, a token of `kind`, apart from plain text."""
    look = style.style_for_token(kind)
    if look["bgcolor"] or look["underline"] or look["border"]:
        return True
    return bool(value.strip()) and bool(look["color"] or look["bold"] or look["italic"])

