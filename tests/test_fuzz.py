"""Fuzzing the parsers that read untrusted text: they fail only with TopicgenError.

Content arrives in students' pull requests, so a chapter, a topic.toml or a `-p` value may
hold anything. Whatever it holds, topicgen either accepts it or says what is wrong in one
line (a TopicgenError); any other exception would reach the user as an "internal error".
The strategies splice real syntax (MyST roles, directives, math, Jinja, TOML) with
arbitrary text, so the examples reach deep into the parsers instead of stopping at the
first unknown character. Derandomized, so CI sees the same examples on every run.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TOPIC4_EXPERIMENTS
from topicgen import experiments
from topicgen.api import Result
from topicgen.content.myst import figure_requests, parse
from topicgen.content.render import Document, FigureHtml, number_targets, render_chapter
from topicgen.content.topic import experiment_named, load_topic
from topicgen.content.values import make_environment, render_live_values
from topicgen.errors import TopicgenError

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# -- chapters ----------------------------------------------------------------------------------

MARKDOWN = [
    "\n", "\n\n", "# ", "## ", "(sec-a)=\n", "(sec a)=\n", "(9)=\n", "- ", "> ", "| a | b |\n",
    "|---|---|\n", "```\n", "```python\n", "```{experiment-figure} gradient-decay:grad_norm\n",
    "```{experiment-figure} nope:x\n", "```{note}\n", ":name: fig-a\n", ":name: fig-b\n",
    ":params: T=10\n", ":params: T\n", ":alt: x\n", ":atl: x\n", "$", "$$", "$x^2$", "$\\frac{1",
    "$$\n\\alpha\n$$ (eq-a)\n", "$$ (eq a)\n", "{ref}`sec-a`", "{numref}`fig-a`", "{eq}`eq-a`",
    "{cite}`K1`", "{cite}`K1,`", "{source}`gradient-decay:run`", "{source}`x`", "{nope}`x`",
    "[a](#sec-a)", "[a](https://example.org)", "[a](file:///etc/passwd)", "[a](javascript:x)",
    "![a](img.png)", "![a](../x.png)", "![a](http://evil/x.png)", "<script>", "<b>", "&amp;",
    "*", "_", "`", "\\", "[a]: file:x\n", "<http://x>", "+++\n", "% comment\n", "\t", "\x00",
]
JINJA = ["{{ ", " }}", "{% ", " %}", "{# ", " #}", "result('fig-a')", ".scalars.x", "| sig",
         "| sig(2)", "| pct", "''.__class__", "cycler", "self", "{% include 'x' %}",
         "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "'a' * 99999999", "2 ** 999999"]


def fragments(vocabulary: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(vocabulary), st.text(max_size=8)),
                    max_size=25).map("".join)


RESULT = Result(experiment="gradient-decay", params={"T": 10}, series={},
                scalars={"x": 0.5}, claims=[])
CHAPTER = Path("fuzz") / "01-chapter.md"


def render(text: str) -> str:
    """A chapter through every content stage a build runs: live values, parse, number, HTML."""
    text = render_live_values(text, CHAPTER, make_environment({"fig-a": RESULT}))
    tokens = parse(text)
    requests = figure_requests(tokens, CHAPTER)
    doc = Document(references={"K1": object()})
    doc.figures = {r.label: FigureHtml("<svg></svg>", [], "topicgen run x") for r in requests}
    number_targets([(CHAPTER, tokens)], doc)
    return render_chapter(CHAPTER, tokens, doc)


@FUZZ
@given(fragments(MARKDOWN + JINJA))
def test_a_chapter_renders_or_fails_with_a_topicgen_error(text):
    with contextlib.suppress(TopicgenError):
        render(text)


@FUZZ
@given(fragments(MARKDOWN))
def test_raw_html_never_reaches_the_handout(text):
    try:
        html = render(text + "\n\n<script>alert(1)</script>\n")
    except TopicgenError:
        return
    assert "<script>" not in html


# -- topic.toml and references.toml ------------------------------------------------------------

# Each key with a value that is valid for it, so about half the tables get past validation.
TOPIC_KEYS = {"title": '"T"', "label": '"L"', "summary": '"S"', "authors": '["A"]',
              "chapters": '["01-decay.md"]', "references": '"references.toml"', "titel": '"T"'}
REFERENCE_KEYS = {"authors": '"A"', "title": '"T"', "year": "2013", "venue": '"V"',
                  "url": '"https://example.org"', "note": '"N"', "venu": '"V"'}
VALUES = ['"x"', '["missing.md"]', '["../x.md"]', '["/etc/hostname"]', '["."]', "[]", "[1]",
          '"../../etc/hostname"', '"/etc"', '"."', "-1", "1e999", "true", "{ a = 1 }",
          '"""x"""', "'x'", "[[1]]", "1979-05-27", "nan", '"<script>"']


def table(keys: dict[str, str], required: list[str]) -> st.SearchStrategy[str]:
    """`key = value` lines: the required keys always, the others sometimes; values often bad."""
    def value(key: str) -> st.SearchStrategy[str]:
        return st.one_of(st.just(keys[key]), st.sampled_from(VALUES), st.text(max_size=6).map(repr))

    values = {k: st.one_of(st.just(v), value(k)) for k, v in keys.items()}
    return st.fixed_dictionaries({k: values[k] for k in required},
                                 optional={k: values[k] for k in keys if k not in required}) \
        .map(lambda d: "".join(f"{k} = {v}\n" for k, v in d.items()))


def garbled(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Well-formed TOML most of the time, with arbitrary text spliced in now and then."""
    return st.one_of(text, st.tuples(text, st.text(max_size=12), text).map("".join))


TOPIC_TOML = garbled(table(TOPIC_KEYS, ["title", "chapters"]))
REFERENCES_TOML = garbled(st.lists(st.tuples(st.sampled_from(["K1", "K2", "a b", "K1"]),
                                             table(REFERENCE_KEYS, ["authors", "title"])),
                                   max_size=3)
                          .map(lambda entries: "".join(f"[{k}]\n{t}" for k, t in entries)))


@pytest.fixture(scope="module")
def topic_root(tmp_path_factory) -> Path:
    """A content folder reused by every example: each one rewrites its two TOML files."""
    content = tmp_path_factory.mktemp("content")
    (content / "t1").mkdir()
    (content / "t1" / "01-decay.md").write_text("# Decay\n", encoding="utf-8")
    return content


@FUZZ
@given(topic=TOPIC_TOML, references=REFERENCES_TOML)
def test_topic_metadata_loads_or_fails_with_a_topicgen_error(topic_root, topic, references):
    (topic_root / "t1" / "topic.toml").write_text(topic, encoding="utf-8")
    (topic_root / "t1" / "references.toml").write_text(references, encoding="utf-8")
    with contextlib.suppress(TopicgenError):
        load_topic(topic_root, "t1")


@FUZZ
@given(st.text(max_size=12), st.text(max_size=12))
def test_any_topic_slug_is_found_or_refused(topic_root, slug, suffix):
    with contextlib.suppress(TopicgenError):
        load_topic(topic_root, slug + suffix)


# -- experiment parameters -------------------------------------------------------------------

FOUND = experiments.discover(TOPIC4_EXPERIMENTS, "topic4")
NAMES = sorted(FOUND)
PARAM_TEXT = ["0", "1", "-1", "2", "10", "1e-9", "1e9", "1e999", "-1e999", "nan", "inf", "1.5",
              "true", "no", "rnn", "lstm,gru", "rnn,", ",", "", " ", "float64", "1_000",
              "9" * 5000, "0x10", "½"]


@st.composite
def overrides(draw) -> tuple[str, str, dict[str, str]]:
    """An experiment, a profile and `-p` texts, mostly for parameters the experiment has."""
    name = draw(st.one_of(st.sampled_from(NAMES), st.sampled_from(NAMES), st.text(max_size=10)))
    fields = [f.name for f in dataclasses.fields(experiments.load(FOUND[name]).Params)] \
        if name in FOUND else ["T"]
    profile = draw(st.sampled_from([*experiments.PROFILES * 3, "ful"]))
    text = st.one_of(st.sampled_from(PARAM_TEXT), st.text(max_size=10),
                     st.lists(st.sampled_from(PARAM_TEXT), max_size=4).map(",".join))
    keys = st.one_of(st.sampled_from(fields), st.sampled_from(fields), st.text(max_size=6))
    return name, profile, draw(st.dictionaries(keys, text, max_size=3))


@FUZZ
@given(overrides())
def test_parameters_resolve_or_fail_with_a_topicgen_error(case):
    name, profile, texts = case
    try:
        experiment = experiment_named(FOUND, name, TOPIC4_EXPERIMENTS.parent)
        params = experiments.resolve_params(experiment, profile, texts)
    except TopicgenError:
        return
    assert dataclasses.is_dataclass(params)
