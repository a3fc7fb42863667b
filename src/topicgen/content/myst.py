"""The MyST-flavoured Markdown parser and the `experiment-figure` directive it understands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin

from topicgen.errors import ContentError, did_you_mean

FIGURE_DIRECTIVE = "experiment-figure"
FIGURE_OPTIONS = ("name", "params", "alt")
_LABEL = re.compile(r"[A-Za-z][\w:.-]*")


def make_parser(raw_html: bool = False) -> MarkdownIt:
    """CommonMark + tables + MyST roles, targets and dollar math; raw HTML is escaped unless
    `raw_html` (topicgen.toml's switch for trusted content) lets it through."""
    md = MarkdownIt("commonmark", {"html": raw_html})
    md.enable("table")
    md.use(dollarmath_plugin, allow_labels=True, allow_space=True, allow_digits=False,
           double_inline=True)
    md.use(myst_role_plugin)
    md.use(myst_block_plugin)
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


def figure_requests(tokens: list[Token], path: Path) -> list[FigureRequest]:
    return [parse_figure(token, path) for token in tokens if is_directive(token)]


def is_directive(token: Token) -> bool:
    return token.type == "fence" and token.info.strip().startswith("{")


def parse_figure(token: Token, path: Path) -> FigureRequest:
    """Read a directive fence: ```{experiment-figure} exp:fig, `:key: value` lines, caption."""
    line = token.map[0] + 1
    head = token.info.strip()
    name, _, argument = head[1:].partition("}")
    if name != FIGURE_DIRECTIVE:
        raise ContentError(f'unknown directive "{{{name}}}"'
                           + did_you_mean(name, [FIGURE_DIRECTIVE]), path, line)
    experiment, _, figure = argument.strip().partition(":")
    if not experiment or not figure:
        raise ContentError(f"{{{FIGURE_DIRECTIVE}}} needs an argument experiment:figure, "
                           f'got "{argument.strip()}"', path, line)
    options, first_caption_line = split_options(token.content, path, line)
    body = token.content.splitlines()[first_caption_line:]
    blank = next((i for i, text in enumerate(body) if text.strip()), len(body))
    if "name" not in options:
        raise ContentError(f"{{{FIGURE_DIRECTIVE}}} needs a :name: label", path, line)
    check_label(options["name"], path, line)
    return FigureRequest(
        label=options["name"], experiment=experiment.strip(), figure=figure.strip(),
        overrides=parse_overrides(options.get("params", ""), path, line),
        alt=options.get("alt", ""), caption="\n".join(body).strip(), path=path, line=line,
        caption_line=line + 1 + first_caption_line + blank,
    )


def check_label(label: str, path: Path, line: int) -> None:
    """Labels become HTML ids and #anchors, so they keep to characters that need no escaping."""
    if not _LABEL.fullmatch(label):
        raise ContentError(f'label "{label}" must start with a letter and use only '
                           "letters, digits, -, _, : and .", path, line)


def split_options(body: str, path: Path, line: int) -> tuple[dict[str, str], int]:
    """Leading `:key: value` lines are options; returns them and the caption's first line."""
    options: dict[str, str] = {}
    lines = body.splitlines()
    index = 0
    for index, text in enumerate(lines):  # noqa: B007 (index is read after the loop)
        match = re.match(r"^:([\w-]+):\s*(.*)$", text)
        if not match:
            break
        key, value = match.groups()
        if key not in FIGURE_OPTIONS:
            raise ContentError(f'unknown option ":{key}:"' + did_you_mean(key, FIGURE_OPTIONS),
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
        overrides[key] = value
    return overrides
