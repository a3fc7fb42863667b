"""Content: loading a topic folder, parsing MyST figure directives, rendering chapters.

Rendering tests call `number_targets` and `render_chapter` on a `Document` directly and
hand-make the `FigureHtml` a build would draw, so no experiment runs here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import TOPIC, TOPIC4_EXPERIMENTS, tiny_topic, topic4
from topicgen.api import Claim
from topicgen.content.myst import FigureRequest, figure_requests, parse
from topicgen.content.render import Document, FigureHtml, number_targets, render_chapter
from topicgen.content.topic import Reference, load_topic
from topicgen.errors import ContentError, UsageError

TOPIC_DIR = f"content/{TOPIC}"


def error_line(excinfo: pytest.ExceptionInfo) -> str:
    """The line the CLI prints for this error."""
    return f"Error: {excinfo.value.format_message()}"


# -- loading a topic ------------------------------------------------------------------------

def with_topic_toml(text: str) -> dict[str, str]:
    return {**tiny_topic, f"{TOPIC_DIR}/topic.toml": text}


def test_tiny_topic_loads(make_project, tmp_path):
    project = make_project(tmp_path, tiny_topic)
    topic = load_topic(project / "content", TOPIC)
    assert (topic.slug, topic.title, topic.label) == (TOPIC, "A tiny topic", "Topic T")
    assert topic.authors == ["topicgen tests"]
    assert [c.path.name for c in topic.chapters] == ["01-decay.md"]
    assert topic.chapters[0].text == tiny_topic[f"{TOPIC_DIR}/01-decay.md"]
    assert topic.references["Pascanu13"] == Reference(
        key="Pascanu13", authors="R. Pascanu, T. Mikolov, Y. Bengio",
        title="On the difficulty of training recurrent neural networks", year=2013,
        venue="ICML 2013",
    )


def test_unknown_topic_suggests_the_closest(make_project, tmp_path):
    project = make_project(tmp_path, {**tiny_topic, "content/t2/notes.md": "no topic.toml"})
    with pytest.raises(UsageError) as excinfo:
        load_topic(project / "content", "t2")
    assert error_line(excinfo) == (
        f'Error: unknown topic "t2" in {project / "content"}: its folder has no topic.toml '
        '(did you mean "t1"?)')
    assert excinfo.value.exit_code == 2


def test_missing_content_folder(tmp_path):
    with pytest.raises(UsageError) as excinfo:
        load_topic(tmp_path / "content", TOPIC)
    assert error_line(excinfo) == (
        f"Error: content folder {tmp_path / 'content'} does not exist "
        "(run topicgen from the project root or pass --project)"
    )


def test_toml_syntax_error_starts_with_file_and_line(make_project, tmp_path):
    project = make_project(tmp_path, with_topic_toml('title = "x"\ntitle = "y"\n'))
    with pytest.raises(ContentError) as excinfo:
        load_topic(project / "content", TOPIC)
    path = project / TOPIC_DIR / "topic.toml"
    assert error_line(excinfo) == f"Error: {path}:2: invalid TOML: Cannot overwrite a value"


def test_unknown_key_and_wrong_type_are_reported_together(make_project, tmp_path):
    toml = 'titel = "x"\nchapters = ["01-decay.md"]\nlabel = 4\n'
    project = make_project(tmp_path, with_topic_toml(toml))
    with pytest.raises(ContentError) as excinfo:
        load_topic(project / "content", TOPIC)
    path = project / TOPIC_DIR / "topic.toml"
    assert error_line(excinfo) == (
        f'Error: {path}: unknown key "titel" (did you mean "title"?); '
        '"label" must be str, got int; missing key "title"'
    )
    assert excinfo.value.exit_code == 1


def test_reference_keys_are_checked_with_the_entry_name(make_project, tmp_path):
    refs = '[Pascanu13]\nauthors = "a"\ntitle = "t"\nyear = "2013"\nvenu = "ICML"\n'
    project = make_project(tmp_path, {**tiny_topic, f"{TOPIC_DIR}/references.toml": refs})
    with pytest.raises(ContentError) as excinfo:
        load_topic(project / "content", TOPIC)
    path = project / TOPIC_DIR / "references.toml"
    assert error_line(excinfo) == (
        f'Error: {path}: "Pascanu13.year" must be int, got str; '
        'unknown key "Pascanu13.venu" (did you mean "venue"?)'
    )


def test_empty_chapters(make_project, tmp_path):
    project = make_project(tmp_path, with_topic_toml('title = "x"\nchapters = []\n'))
    with pytest.raises(ContentError) as excinfo:
        load_topic(project / "content", TOPIC)
    path = project / TOPIC_DIR / "topic.toml"
    assert error_line(excinfo) == (
        f'Error: {path}: "chapters" is empty: list at least one Markdown file'
    )


def test_missing_chapter_file_is_blamed_on_topic_toml(make_project, tmp_path):
    toml = 'title = "x"\nchapters = ["01-decay.md", "02-gates.md"]\n'
    project = make_project(tmp_path, with_topic_toml(toml))
    with pytest.raises(ContentError) as excinfo:
        load_topic(project / "content", TOPIC)
    path = project / TOPIC_DIR / "topic.toml"
    assert error_line(excinfo) == f"Error: {path}: 02-gates.md does not exist"


def test_chapter_that_is_not_utf8(make_project, tmp_path):
    project = make_project(tmp_path, tiny_topic)
    chapter = project / TOPIC_DIR / "01-decay.md"
    chapter.write_bytes("# Décor\n".encode("latin-1"))
    with pytest.raises(ContentError) as excinfo:
        load_topic(project / "content", TOPIC)
    assert error_line(excinfo) == f"Error: {chapter}:1: not UTF-8 text (byte 3); save it as UTF-8"


def test_chapter_outside_the_topic_folder(make_project, tmp_path):
    files = with_topic_toml('title = "x"\nchapters = ["../secret.md"]\n')
    project = make_project(tmp_path, {**files, "content/secret.md": "# Not mine\n"})
    with pytest.raises(ContentError) as excinfo:
        load_topic(project / "content", TOPIC)
    path = project / TOPIC_DIR / "topic.toml"
    assert error_line(excinfo) == (
        f'Error: {path}: chapter "../secret.md" lies outside the topic folder'
    )


def test_chapter_symlinked_outside_the_topic_folder(make_project, tmp_path):
    project = make_project(tmp_path, {**tiny_topic, "elsewhere.md": "# Not mine\n"})
    chapter = project / TOPIC_DIR / "01-decay.md"
    chapter.unlink()
    chapter.symlink_to(project / "elsewhere.md")
    with pytest.raises(ContentError) as excinfo:
        load_topic(project / "content", TOPIC)
    assert error_line(excinfo) == (
        f'Error: {project / TOPIC_DIR / "topic.toml"}: '
        'chapter "01-decay.md" lies outside the topic folder'
    )


# -- MyST: the experiment-figure directive --------------------------------------------------

CHAPTER = Path("01-decay.md")

FIGURE = """\
Some prose.

```{experiment-figure} gradient-decay:grad_norm
:name: fig-decay
:params: T=10 cells=rnn,linear
:alt: Gradient norm on a log axis

Caption on line 8 with $k$.
Caption line 9.
```
"""


def figures_in(text: str) -> list[FigureRequest]:
    return figure_requests(parse(text), CHAPTER)


def figure_error(text: str) -> str:
    with pytest.raises(ContentError) as excinfo:
        figures_in(text)
    return error_line(excinfo)


def test_figure_directive_is_parsed():
    assert figures_in(FIGURE) == [FigureRequest(
        label="fig-decay", experiment="gradient-decay", figure="grad_norm",
        overrides={"T": "10", "cells": "rnn,linear"}, alt="Gradient norm on a log axis",
        caption="Caption on line 8 with $k$.\nCaption line 9.", path=CHAPTER, line=3,
        caption_line=8, params_line=5,
    )]


def test_caption_line_without_blank_line_or_options():
    text = "```{experiment-figure} gradient-decay:grad_norm\n:name: f\nCaption.\n```\n"
    (request,) = figures_in("\n\n" + text)
    assert (request.line, request.caption_line, request.caption) == (3, 5, "Caption.")
    assert request.overrides == {}


def test_unknown_option_names_its_own_line():
    assert figure_error(FIGURE.replace(":alt:", ":atl:")) == (
        'Error: 01-decay.md:6: unknown option ":atl:" (did you mean "alt"?)'
    )


def test_missing_name():
    assert figure_error(FIGURE.replace(":name: fig-decay\n", "")) == (
        "Error: 01-decay.md:3: {experiment-figure} needs a :name: label"
    )


def test_bad_label():
    assert figure_error(FIGURE.replace("fig-decay", "3-decay")) == (
        'Error: 01-decay.md:3: label "3-decay" must start with a letter and use only '
        "letters, digits, -, _, : and ."
    )


def test_bad_params():
    assert figure_error(FIGURE.replace("T=10", "T10")) == (
        'Error: 01-decay.md:5: ":params:" expects key=value pairs, got "T10"'
    )


def test_missing_figure_in_argument():
    assert figure_error(FIGURE.replace("gradient-decay:grad_norm", "gradient-decay")) == (
        "Error: 01-decay.md:3: {experiment-figure} needs an argument experiment:figure, "
        'got "gradient-decay"'
    )


def test_unknown_directive():
    assert figure_error(FIGURE.replace("{experiment-figure}", "{experiment-figur}")) == (
        'Error: 01-decay.md:3: unknown directive "{experiment-figur}" '
        '(did you mean "experiment-figure"?)'
    )


# -- rendering ------------------------------------------------------------------------------

REFERENCES = {
    key: Reference(key=key, authors="A. Author", title=f"Paper {key}", year=2000)
    for key in ("Pascanu13", "Hochreiter97", "Xiong20")
}
SVG = ('<svg><defs><clipPath id="clip1"><rect/></clipPath></defs>'
       '<g clip-path="url(#clip1)" fill="#0072B2"/></svg>')


def render(*chapters: str, figures: dict[str, FigureHtml] | None = None):
    """Each text as chapter c1.md, c2.md, ...: their HTML and the shared Document."""
    doc = Document(references=dict(REFERENCES), figures=figures or {},
                   experiments={"gradient-decay": topic4("gradient-decay")})
    parsed = [(Path(f"c{i}.md"), parse(text)) for i, text in enumerate(chapters, start=1)]
    number_targets(parsed, doc)
    return [render_chapter(path, tokens, doc) for path, tokens in parsed], doc


def render_error(*chapters: str, figures: dict[str, FigureHtml] | None = None) -> str:
    with pytest.raises(ContentError) as excinfo:
        render(*chapters, figures=figures)
    return error_line(excinfo)


def without_svg(html: str) -> str:
    return re.sub(r"<svg.*?</svg>", "<svg/>", html, flags=re.S)


def test_sections_are_numbered_across_chapters():
    (one, two), doc = render("# A\n\n## A one\n\n### Deep\n\n## A two\n", "# B\n")
    assert {label: t.number for label, t in doc.targets.items()} == {
        "sec-a": "1", "sec-a-one": "1.1", "sec-deep": "1.1.1", "sec-a-two": "1.2", "sec-b": "2",
    }
    assert one == (
        '<h2 id="sec-a"><span class="secno">1</span> A</h2>\n'
        '<h3 id="sec-a-one"><span class="secno">1.1</span> A one</h3>\n'
        '<h4 id="sec-deep"><span class="secno">1.1.1</span> Deep</h4>\n'
        '<h3 id="sec-a-two"><span class="secno">1.2</span> A two</h3>\n'
    )
    assert two == '<h2 id="sec-b"><span class="secno">2</span> B</h2>\n'


def test_label_before_heading_names_the_section():
    (html,), doc = render("(sec-bptt)=\n# Through time\n\n# Through time\n")
    assert html.startswith('<h2 id="sec-bptt"><span class="secno">1</span> Through time</h2>')
    assert list(doc.targets) == ["sec-bptt", "sec-through-time"]
    assert doc.targets["sec-bptt"].title_html == "Through time"


def test_repeated_heading_gets_a_unique_anchor():
    _, doc = render("# Setup\n", "# Setup\n\n# Setup\n")
    assert list(doc.targets) == ["sec-setup", "sec-setup-2", "sec-setup-3"]


def test_label_not_before_a_heading():
    assert render_error("# A\n\n(sec-x)=\nSome text.\n") == (
        'Error: c1.md:3: label "(sec-x)=" must stand on the line right before a heading'
    )


def test_ref_numref_and_eq_text_and_links():
    figure = FigureHtml(SVG, [], "topicgen run gradient-decay -p T=10")
    chapter = (
        "(sec-a)=\n# A\n\n"
        "$$ a = b $$ (eq-bound)\n\n"
        "```{experiment-figure} gradient-decay:grad_norm\n:name: fig-decay\n```\n\n"
        "{ref}`sec-a` {numref}`fig-decay` {eq}`eq-bound` {ref}`eq-bound`\n"
    )
    (html,), _ = render(chapter, figures={"fig-decay": figure})
    assert without_svg(html).endswith(
        '<p><a class="xref section" href="#sec-a">Section 1</a> '
        '<a class="xref figure" href="#fig-decay">Figure 1</a> '
        '<a class="xref equation" href="#eq-bound">(1)</a> '
        '<a class="xref equation" href="#eq-bound">Equation 1</a></p>\n'
    )


def test_forward_reference_into_a_later_chapter():
    (one, _), _ = render("# A\n\nSee {ref}`sec-later`.\n", "# B\n\n(sec-later)=\n## Later\n")
    assert one.endswith(
        '<p>See <a class="xref section" href="#sec-later">Section 2.1</a>.</p>\n'
    )


def test_eq_role_needs_an_equation():
    assert render_error("(sec-a)=\n# A\n\n{eq}`sec-a`\n") == (
        'Error: c1.md:4: {eq} needs an equation label, "sec-a" is a section'
    )


def test_duplicate_label_names_both_places():
    assert render_error("# A\n\n$$ x $$ (eq-a)\n", "# B\n\n(eq-a)=\n## Again\n") == (
        'Error: c2.md:4: label "eq-a" is already used at c1.md:3'
    )


def test_unknown_label_suggests_the_closest():
    assert render_error("(sec-gates)=\n# Gates\n\nSee {ref}`sec-gate`.\n") == (
        'Error: c1.md:4: unknown label "sec-gate" in {ref} (did you mean "sec-gates"?)'
    )


def test_unknown_label_on_the_third_line_of_a_paragraph():
    text = "# A\n\nOne line,\ntwo lines,\nthree {numref}`fig-nope`.\n"
    assert render_error(text) == (
        'Error: c1.md:5: unknown label "fig-nope" in {numref} (choose from: sec-a)'
    )


def test_unknown_role():
    assert render_error("# A\n\n{refs}`sec-a`\n") == (
        'Error: c1.md:3: unknown role "{refs}" (did you mean "ref"?)'
    )


def test_citations_are_numbered_in_order_of_first_citation():
    text = "# A\n\n{cite}`Xiong20` then {cite}`Pascanu13, Xiong20` then {cite}`Pascanu13`\n"
    (html,), doc = render(text)
    assert html.endswith(
        '<p><span class="citation">[<a class="cite" href="#ref-Xiong20">1</a>]</span> then '
        '<span class="citation">[<a class="cite" href="#ref-Pascanu13">2</a>, '
        '<a class="cite" href="#ref-Xiong20">1</a>]</span> then '
        '<span class="citation">[<a class="cite" href="#ref-Pascanu13">2</a>]</span></p>\n'
    )
    assert doc.citations == ["Xiong20", "Pascanu13"]


def test_unknown_citation():
    assert render_error("# A\n\nAs shown {cite}`Pascanu14`.\n") == (
        'Error: c1.md:3: unknown citation "Pascanu14" (did you mean "Pascanu13"?)'
    )


def test_source_role_links_to_the_function():
    (html,), doc = render("# A\n\n{source}`gradient-decay:hidden_state_gradients`\n")
    assert html.endswith(
        '<p><a class="source-ref" href="#code-gradient-decay-hidden_state_gradients">'
        "<code>gradient_decay.hidden_state_gradients()</code></a></p>\n"
    )
    ref = doc.sources["gradient-decay:hidden_state_gradients"]
    assert ref.file == "content/topic4/experiments/gradient_decay.py"
    assert ref.code.startswith("def hidden_state_gradients(")
    lines = (TOPIC4_EXPERIMENTS / "gradient_decay.py").read_text().splitlines()
    assert lines[ref.line - 1].startswith("def hidden_state_gradients(")


def test_source_role_with_a_missing_function():
    assert render_error("# A\n\nline\n{source}`gradient-decay:hidden_state_gradient`\n") == (
        'Error: c1.md:4: experiment "gradient-decay" has no function "hidden_state_gradient" '
        '(did you mean "hidden_state_gradients"?)'
    )


def test_source_role_with_an_unknown_experiment():
    assert render_error("# A\n\n{source}`gradient-decy:run`\n") == (
        'Error: c1.md:3: unknown experiment "gradient-decy" (did you mean "gradient-decay"?)'
    )


def test_math_is_svg_and_identical_formulas_get_distinct_ids():
    (html,), doc = render("# A\n\nInline $x^2$ twice $x^2$.\n\n$$ x^2 $$\n")
    assert doc.math_count == 3
    assert html.count('<span class="math"><svg') == 2
    assert html.count('<div class="math-display"><svg') == 1
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)) > 3
    references = re.findall(r'(?:href="#|aria-labelledby=")([^"]+)"', html)
    assert references and set(references) <= set(ids)
    assert {i.split("-")[0] for i in ids if i != "sec-a"} == {"m1", "m2", "m3"}


def test_inline_math_is_valid_html_and_its_copied_text_is_composed():
    (html,), _ = render("# A\n\nThe clipped $\\hat g$ and $$ \\hat g $$\n")
    svgs = re.findall(r"<svg\b[^>]*>", html)
    assert len(svgs) == 2
    # HTML allows no namespaced attribute on an inline <svg> but xlink's and xml's.
    assert [a for svg in svgs for a in re.findall(r"\s([\w-]+:[\w.-]+)=", svg)
            if not a.startswith(("xlink:", "xml:"))] == []
    copied = re.findall(r"<text\b[^>]*>([^<]*)</text>", html)
    assert copied == ["\u011d", "\u011d"]  # ĝ as one letter, not g and a combining hat


def test_boxes_that_scroll_sideways_on_a_phone_take_keyboard_focus():
    wide = " + ".join(f"a_{i}" for i in range(1, 10))  # 18 em: wider than a 320 px screen
    (html,), _ = render(f"# A\n\n$$ x^2 $$\n\n$$ {wide} $$\n\n"
                        "```python\nx = 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    focusable = re.findall(r'<(\w+)( class="[^"]*")? tabindex="0"', without_svg(html))
    # The narrow formula is no tab stop: it never scrolls, and a stop there is one too many.
    assert focusable == [("div", ' class="math-display"'), ("div", ' class="code"'),
                         ("table", "")]


def test_math_error_names_file_and_line():
    assert render_error("# A\n\nFirst line\nthen $\\frac{a$ here.\n") == (
        "Error: c1.md:4: cannot typeset $\\frac{a$: column 6: '{' without a matching '}'"
    )


def test_display_math_error_names_the_block_line():
    assert render_error("# A\n\n$$\n\\frac{a\n$$\n") == (
        "Error: c1.md:3: cannot typeset $\\frac{a$: column 6: '{' without a matching '}'"
    )


def test_raw_html_is_escaped():
    (html,), _ = render("# A\n\n<script>alert(1)</script>\n\nA <b onclick=\"x()\">b</b>.\n")
    assert "<script" not in html and "<b " not in html
    assert html.endswith(
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        "<p>A &lt;b onclick=&quot;x()&quot;&gt;b&lt;/b&gt;.</p>\n"
    )


# -- figures --------------------------------------------------------------------------------

FIGURE_CHAPTER = "# A\n\n" + FIGURE.replace("Caption line 9.", "Caption line 9, {ref}`sec-a`.")


def test_figure_html():
    claim = Claim(id="tanh-bound", statement="Bounded.", expected="0 above",
                  measured="0 of 20 above", tolerance="0", passed=True)
    figure = FigureHtml(SVG, [claim], "topicgen run gradient-decay -p T=10 -p cells=rnn")
    (html,), doc = render(FIGURE_CHAPTER, figures={"fig-decay": figure})
    assert doc.targets["fig-decay"].number == "1"
    figure_html = html[html.index("<figure"):]
    # The directive's :alt: is the drawing's <title> too (what the PDF's /Alt is made from).
    assert ('<svg>\n<title>Gradient norm on a log axis</title>'
            '<defs><clipPath id="f-fig-decay-clip1"><rect/></clipPath></defs>'
            '<g clip-path="url(#f-fig-decay-clip1)" fill="#0072B2"/></svg>') in figure_html
    assert without_svg(figure_html) == (
        '<figure class="experiment" id="fig-decay">\n'
        '<div class="figure-art" role="img" aria-label="Gradient norm on a log axis" '
        'aria-describedby="fig-decay-data"><svg/></div>\n'
        '<figcaption><span class="figno">Figure 1.</span> Caption on line 8 with '
        '<span class="math"><svg/></span>.\nCaption line 9, '
        '<a class="xref section" href="#sec-a">Section 1</a>.'
        '<ul class="claims"><li class="claim pass"><span class="verdict">✓ holds</span> '
        'Bounded. <span class="claim-numbers">Theory: 0 above; measured: 0 of 20 above; '
        "tolerance: 0.</span></li></ul>"
        '<p class="figure-data"><a id="fig-decay-data" href="data/fig-decay.csv">'
        "Data behind Figure 1 (CSV table)</a></p>\n"
        '<p class="reproduce">Reproduce: <code>'
        '<span class="nowrap">topicgen run gradient-decay</span> '
        '<span class="nowrap">-p T=10</span> <span class="nowrap">-p cells=rnn</span>'
        "</code></p></figcaption>\n</figure>\n"
    )


def test_figure_without_alt_uses_the_caption_text():
    figure = FigureHtml(SVG, [], "topicgen run gradient-decay")
    (html,), _ = render(FIGURE_CHAPTER.replace(":alt: Gradient norm on a log axis\n", ""),
                        figures={"fig-decay": figure})
    (alt,) = re.findall(r'aria-label="([^"]*)"', html)
    # The math is read by its <title> ("k"); spaces before punctuation do not matter here.
    assert re.sub(r" ([.,])", r"\1", alt) == "Caption on line 8 with k. Caption line 9, Section 1."


def test_error_in_a_multiline_caption_names_the_caption_line():
    text = FIGURE_CHAPTER.replace("{ref}`sec-a`", "{ref}`sec-b`")
    figure = FigureHtml(SVG, [], "topicgen run gradient-decay")
    # The caption starts on line 10 of c1.md ("# A" and a blank line come first).
    assert render_error(text, figures={"fig-decay": figure}) == (
        'Error: c1.md:11: unknown label "sec-b" in {ref} (did you mean "sec-a"?)'
    )


def test_figure_that_was_not_drawn():
    assert render_error(FIGURE_CHAPTER) == (
        'Error: c1.md:5: figure "fig-decay" was not planned: figure directives must be '
        "written in the Markdown, not produced by Jinja"
    )


def test_code_is_wrapped_only_where_the_highlighting_shows_and_reads_the_same():
    """Names, punctuation and spaces look like plain text: no element each (the PDF lays
    out every element on its own); keywords, operators, strings and comments keep theirs."""
    import html as html_module

    from topicgen.content.render import highlight

    code = 'def scaled(x, k=2):\n    return k * x  # "twice"\n'
    listing = highlight(code, "python")
    classes = re.findall(r'<span class="([^"]*)">', listing)
    assert classes == ["k", "nf", "o", "mi", "k", "o", "c1"]
    assert ">scaled</span>(x, k<span" in listing  # the arguments are plain text
    shown = re.search(r"<pre>(.*)</pre>", listing, re.S).group(1)
    assert html_module.unescape(re.sub(r"<[^>]+>", "", shown)) == code


def test_each_code_line_knows_its_indent_for_the_printed_page():
    from topicgen.content.render import highlight

    listing = highlight('def f(x):\n    """doc\n    more"""\n        return x\n', "python")
    hangs = re.findall(r'<span class="line" style="--hang:(\d+)ch">', listing)
    assert hangs == ["4", "8", "8", "12"]  # the indent and four more


def test_a_claims_dollars_follow_the_prose_rules():
    """ "It costs $5 per run, or $10 for two." typeset "5 per run, or " as a formula, and
    \\$ stayed a backslash and a dollar."""
    from topicgen.pages import inline_math

    money = str(inline_math("It costs $5 per run, or $10 for two.", "c"))
    assert money == "It costs $5 per run, or $10 for two." and "<svg" not in money
    escaped = str(inline_math(r"Costs \$5, and $x$ units.", "c"))
    assert escaped.startswith("Costs $5, and <span class=\"math\"><svg")
    assert escaped.count("<svg") == 1
