"""The MyST-flavoured Markdown parser and the directives it understands: `experiment-figure`,
and `exercise` holding its `solution`s (the names sphinx-exercise and Jupyter Book use).

A directive is a fenced block, with backticks or colons (MyST's colon fence), whose info
string is `{name}`; an exercise holds its solutions as fences of their own, so its fence is
the longer one (````` ````{exercise} ````` around ```` ```{solution} ````, or `::::` around
`:::`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin

from topicgen.errors import ContentError, did_you_mean

FIGURE_DIRECTIVE = "experiment-figure"
FIGURE_OPTIONS = ("name", "params", "alt")
EXERCISE, SOLUTION = "exercise", "solution"
EXERCISE_OPTIONS = ("label", "try")
SOLUTION_OPTIONS = ("claim",)
SLIDE, NOTES = "slide", "notes"
"""Slide-only content and speaker notes for the section they stand in (the handout skips
both)."""
DIRECTIVES = (FIGURE_DIRECTIVE, EXERCISE, SOLUTION, SLIDE, NOTES)
FENCE_CHARACTERS = {"`": "backticks", "~": "tildes", ":": "colons"}
_LABEL = re.compile(r"[A-Za-z][\w:.-]*")
# What a `$` in a paragraph can belong to, scanned from the left: a code span, an escaped
# dollar sign, display math's `$$`, or a single `$` of inline math.
DOLLAR = re.compile(r"(`+).*?\1|\\\$|\$\$|\$", re.DOTALL)


def make_parser(raw_html: bool = False) -> MarkdownIt:
    """CommonMark + tables + MyST roles, targets and dollar math; raw HTML is escaped unless
    `raw_html` (topicgen.toml's switch for trusted content) lets it through."""
    md = MarkdownIt("commonmark", {"html": raw_html})
    md.enable("table")
    md.use(dollarmath_plugin, allow_labels=True, allow_space=True, allow_digits=False,
           double_inline=True)
    md.use(myst_role_plugin)
    md.use(myst_block_plugin)
    md.use(colon_fence_plugin)
    # markdown-it would silently leave a `file:` or `javascript:` link as plain text; let every
    # URL through so the renderer, which knows the file and line, can refuse it with a message.
    md.validateLink = lambda url: True
    return md


def parse(text: str, raw_html: bool = False) -> list[Token]:
    return make_parser(raw_html).parse(text)


@dataclass(frozen=True)
class FigureRequest:
    """One `experiment-figure` directive: which run and figure it shows, and its caption."""

    label: str
    experiment: str
    figure: str
    overrides: dict[str, str]
    alt: str
    caption: str
    path: Path
    line: int
    caption_line: int  # where the caption starts in the file, for error messages
    params_line: int = 0  # where its :params: are (0: it has none), for their errors


@dataclass(frozen=True)
class Solution:
    body: list[Token]
    claim: str  # "FIGURE CLAIM", several separated by ";": claims of runs the handout shows
    line: int


@dataclass(frozen=True)
class Exercise:
    """One `exercise` directive: its body without its solutions, and those."""

    label: str | None
    try_command: str  # `topicgen run` arguments the student may try, or ""
    body: list[Token]
    solutions: list[Solution]
    line: int


def figure_requests(tokens: list[Token], path: Path) -> list[FigureRequest]:
    """Every figure directive, every other directive and fence checked on the way (a build
    finds a misplaced solution or an unclosed fence before it runs anything)."""
    requests = []
    for token in tokens:
        check_closed(token, path)
        if token.type == "inline":
            check_dollars(token, path)
        name = directive_name(token)
        if name == FIGURE_DIRECTIVE:
            requests.append(parse_figure(token, path))
        elif name == EXERCISE:
            parse_exercise(token, path)
        elif name in (SLIDE, NOTES):
            parse_aside(token, path)
        elif name == SOLUTION:
            raise ContentError(f"a {{{SOLUTION}}} must stand inside the {{{EXERCISE}}} it "
                               "answers (give the exercise's fence more backticks or colons "
                               "than the solution's)", path, token.map[0] + 1)
        elif name is not None:
            raise ContentError(f'unknown directive "{{{name}}}"' + did_you_mean(name, DIRECTIVES),
                               path, token.map[0] + 1)
    return requests


def check_dollars(token: Token, path: Path) -> None:
    """A paragraph's `$`s pair up. One left over is inline math that Markdown broke, and the
    handout would show the dollar signs: most often a wrapped line inside the math that
    starts with `+ ` or `- ` (a list item) or `1. ` (a numbered one). Paired from the left,
    the one left over is the last: the error names its line."""
    found = list(DOLLAR.finditer(token.content))
    singles = [match.start() for match in found if match.group(0) == "$"]
    doubles = [match.start() for match in found if match.group(0) == "$$"]
    if len(doubles) % 2:  # display math is a block of its own once closed: this one is not
        line = token.map[0] + 1 + token.content.count("\n", 0, doubles[-1])
        raise ContentError("a $$ without its pair: display math never closed? (end it with "
                           "a $$ of its own; write \\$ for a dollar sign)", path, line)
    if len(singles) % 2:
        line = token.map[0] + 1 + token.content.count("\n", 0, singles[-1])
        raise ContentError("a $ without its pair: inline math split by a line break? (a line "
                           "starting with '+ ', '- ' or '1. ' starts a list: rewrap it; "
                           "write \\$ for a dollar sign)", path, line)


def check_closed(token: Token, path: Path, container: Token | None = None) -> None:
    """A fence without its closing line runs on to the end of what holds it (CommonMark),
    taking the rest of the chapter or directive with it. Inside a `container`, one marked
    like the container's own fence took the container's closing line: the container is the
    fence to fix."""
    if token.type not in ("fence", "colon_fence") or is_closed(token):
        return
    fence, line = token.markup, token.map[0] + 1
    outer = container.markup if container is not None else ""
    if container is not None and fence[0] == outer[0] and len(fence) >= len(outer):
        raise ContentError(f"the {outer} fence opened here runs on to line {container.map[1]}, "
                           f"swallowing the fence opened on line {line} (close it before line "
                           f"{line}, or give it more {FENCE_CHARACTERS[outer[0]]} than that "
                           "one)", path, container.map[0] + 1)
    raise ContentError(f"the {fence} fence opened here is never closed (add a closing {fence} "
                       "line)", path, line)


def is_closed(fence: Token) -> bool:
    """Whether a fence has its closing line. Its map spans the opening line, the content and
    the closing line; an unclosed fence's content runs to the end of the map instead, its
    last line without a newline where it ends the file."""
    start, end = fence.map
    return fence.content.count("\n") == end - start - 2 and fence.content[-1:] in ("", "\n")


def directive_name(token: Token) -> str | None:
    """The name of a directive fence (`{name}` in its info string), else None."""
    info = token.info.strip()
    if token.type not in ("fence", "colon_fence") or not info.startswith("{"):
        return None
    return info[1:].partition("}")[0]


def parse_exercise(token: Token, path: Path, raw_html: bool = False) -> Exercise:
    """An exercise fence: `:label:` and `:try:` lines, then Markdown holding its solutions.
    Parsed once per token (numbering and rendering both ask)."""
    if "exercise" in token.meta:
        return token.meta["exercise"]
    line = token.map[0] + 1
    options, body = parse_body(token, path, EXERCISE, EXERCISE_OPTIONS, raw_html)
    if "label" in options:
        check_label(options["label"], path, line)
    kept, solutions = [], []
    for inner in body:
        name = directive_name(inner)
        inner_line = inner.map[0] + 1 if inner.map else line
        if name == SOLUTION:
            claim_options, solution = parse_body(inner, path, SOLUTION, SOLUTION_OPTIONS,
                                                 raw_html)
            for nested in solution:
                refuse_inside(nested, SOLUTION, path)
            solutions.append(Solution(solution, " ".join(claim_options.get("claim", "").split()),
                                      inner_line))
        else:
            refuse_inside(inner, EXERCISE, path)
            kept.append(inner)
    exercise = Exercise(options.get("label"), options.get("try", ""), kept, solutions, line)
    token.meta["exercise"] = exercise
    return exercise


def parse_aside(token: Token, path: Path, raw_html: bool = False) -> list[Token]:
    """A `slide` or `notes` directive's body: Markdown without directives or headings."""
    name = directive_name(token)
    _, body = parse_body(token, path, name, (), raw_html)
    for inner in body:
        refuse_inside(inner, name, path)
    return body


def refuse_inside(token: Token, container: str, path: Path) -> None:
    """What an exercise or solution may not hold: a heading (it would renumber the chapter's
    sections), a figure (planned from the chapter's top level) or another directive."""
    line = token.map[0] + 1 if token.map else 0
    name = directive_name(token)
    article = "an" if container[0] in "aeiou" else "a"
    if token.type == "heading_open":
        advice = ("write the exercise's title as its first sentence" if container == EXERCISE
                  else "a slide's title is its section's heading")
        raise ContentError(f"a heading cannot stand inside {article} {{{container}}}: {advice}",
                           path, line)
    if name is not None:
        hint = (" (put the figure before the exercise and refer to it with {numref})"
                if name == FIGURE_DIRECTIVE and container == EXERCISE else "")
        raise ContentError(f"{{{name}}} cannot stand inside {article} {{{container}}}{hint}",
                           path, line)


def parse_body(token: Token, path: Path, name: str, allowed: tuple[str, ...],
               raw_html: bool) -> tuple[dict[str, str], list[Token]]:
    """A directive's options and its body parsed as Markdown, each token's line numbers
    those of the file."""
    line = token.map[0] + 1
    argument = token.info.strip()[1:].partition("}")[2].strip()
    if argument:
        raise ContentError(f'{{{name}}} takes no argument, got "{argument}" (give its '
                           f"options as :key: value lines)", path, line)
    options, first = split_options(token.content, path, line, allowed)
    tokens = parse_inside(token, first, path, raw_html)
    for inner in tokens:
        if inner.type == "inline":
            check_dollars(inner, path)
    return options, tokens


def parse_inside(token: Token, first: int, path: Path, raw_html: bool = False) -> list[Token]:
    """A directive's content from its line `first` on, parsed as Markdown, each token's
    line numbers those of the file; a fence left open, the directive's or one inside it,
    refused."""
    # The directive's own fence first: what an unclosed one swallowed is no error of its own.
    check_closed(token, path)
    tokens = make_parser(raw_html).parse("\n".join(token.content.splitlines()[first:]))
    shift = token.map[0] + 1 + first  # the body's first line, counted from 0
    for inner in tokens:
        if inner.map:
            inner.map = [inner.map[0] + shift, inner.map[1] + shift]
        check_closed(inner, path, token)
    return tokens


def parse_figure(token: Token, path: Path) -> FigureRequest:
    """Read a directive fence: ```{experiment-figure} exp:fig, `:key: value` lines, caption."""
    line = token.map[0] + 1
    head = token.info.strip()
    name, _, argument = head[1:].partition("}")
    if name != FIGURE_DIRECTIVE:
        raise ContentError(f'unknown directive "{{{name}}}"'
                           + did_you_mean(name, DIRECTIVES), path, line)
    experiment, _, figure = argument.strip().partition(":")
    if not experiment or not figure:
        raise ContentError(f"{{{FIGURE_DIRECTIVE}}} needs an argument experiment:figure, "
                           f'got "{argument.strip()}"', path, line)
    options, first_caption_line = split_options(token.content, path, line)
    params_line = next((line + 1 + index for index, text
                        in enumerate(token.content.splitlines()[:first_caption_line])
                        if text.startswith(":params:")), 0)
    body = token.content.splitlines()[first_caption_line:]
    blank = next((i for i, text in enumerate(body) if text.strip()), len(body))
    if "name" not in options:
        raise ContentError(f"{{{FIGURE_DIRECTIVE}}} needs a :name: label", path, line)
    check_label(options["name"], path, line)
    for inner in parse_inside(token, first_caption_line, path):
        if (name := directive_name(inner)) is not None:  # a caption holds prose only
            raise ContentError(f"{{{name}}} cannot stand inside an {{{FIGURE_DIRECTIVE}}}: "
                               "put it after the figure", path, inner.map[0] + 1)
    return FigureRequest(
        label=options["name"], experiment=experiment.strip(), figure=figure.strip(),
        overrides=parse_overrides(options.get("params", ""), path, params_line or line),
        alt=options.get("alt", ""), caption="\n".join(body).strip(), path=path, line=line,
        caption_line=line + 1 + first_caption_line + blank, params_line=params_line,
    )


def check_label(label: str, path: Path, line: int) -> None:
    """Labels become HTML ids and #anchors, so they keep to characters that need no escaping."""
    if not _LABEL.fullmatch(label):
        raise ContentError(f'label "{label}" must start with a letter and use only '
                           "letters, digits, -, _, : and .", path, line)


def split_options(body: str, path: Path, line: int, allowed: tuple[str, ...] = FIGURE_OPTIONS
                  ) -> tuple[dict[str, str], int]:
    """Leading `:key: value` lines are options; returns them and the body's first line."""
    options: dict[str, str] = {}
    lines = body.splitlines()
    index = 0
    for index, text in enumerate(lines):  # noqa: B007 (index is read after the loop)
        match = re.match(r"^:([\w-]+):\s*(.*)$", text)
        if not match:
            break
        key, value = match.groups()
        if key not in allowed:
            raise ContentError(f'unknown option ":{key}:"' + did_you_mean(key, allowed),
                               path, line + 1 + index)
        options[key] = value.strip()
    else:
        index = len(lines)
    return options, index


def parse_overrides(text: str, path: Path, line: int) -> dict[str, str]:
    """`T=60 cells=rnn,lstm` -> {"T": "60", "cells": "rnn,lstm"}."""
    overrides = {}
    for pair in text.split():
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise ContentError(f'":params:" expects key=value pairs, got "{pair}"', path, line)
        if value.endswith(","):  # "T=8, hidden=4": no list ends in a comma
            raise ContentError(f'":params:" separates its pairs with spaces, not commas: '
                               f'"{pair}" ends with a comma', path, line)
        overrides[key] = value
    return overrides
