"""Bad input through the real CLI: one exact `Error: file:line: ...` line, no traceback.

Each case breaks the tiny topic in one way, builds it, and checks the exit code and the
last line of output. `<ch>`, `<toml>`, `<refs>` and `<project>` in an expected message
stand for the chapter, topic.toml, references.toml and the project root, as absolute paths.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TINY_EXPERIMENT, TOPIC, replaced, tiny_topic
from topicgen.cli import cli

CHAPTER = f"content/{TOPIC}/01-decay.md"
TOML = f"content/{TOPIC}/topic.toml"
REFS = f"content/{TOPIC}/references.toml"
LIVE_VALUE = 'result("fig-decay").scalars.decay_factor_rnn | sig(2)'  # on line 13 of CHAPTER
HANDOUT_OVERRIDE = "templates/handout.html"


def added(path: str, text: str | bytes) -> dict[str, str | bytes]:
    return {**tiny_topic, path: text}


def override(body: str) -> dict[str, str | bytes]:
    """A project override of handout.html whose line 3 is `body`."""
    return added(HANDOUT_OVERRIDE, f"{{% extends 'base.html' %}}\n{{% block body %}}\n{body}\n"
                                   "{% endblock %}\n")


BUILD_CASES = [
    # -- topic metadata ----------------------------------------------------------------------
    pytest.param(added(TOML, 'title = "x\nchapters = ["01-decay.md"]\n'),
                 "<toml>:1: invalid TOML: Illegal character '\\n'", id="toml-syntax"),
    pytest.param(replaced(TOML, 'chapters = ["01-decay.md"]', 'chapters = "01-decay.md"'),
                 '<toml>: "chapters" must be list, got str', id="toml-wrong-type"),
    pytest.param(replaced(TOML, "summary =", "sumary ="),
                 '<toml>: unknown key "sumary" (did you mean "summary"?)', id="toml-unknown-key"),
    pytest.param(replaced(TOML, '["01-decay.md"]', "[1]"),
                 '<toml>: "chapters" must list file names, got 1', id="toml-chapter-not-a-name"),
    pytest.param(replaced(TOML, 'title = "A tiny topic"', 'title = "A tiny\\u0000topic"'),
                 '<toml>: "title" holds the control character U+0000, which no page can show',
                 id="toml-control-character"),  # it was written into the HTML
    pytest.param(replaced(TOML, 'authors = ["topicgen tests"]', "authors = [1, 2]"),
                 '<toml>: "authors" must list names, as strings', id="toml-author-not-a-name"),
    pytest.param(replaced(REFS, "[Pascanu13]", "[Pascanu13"),
                 "<refs>:1: invalid TOML: Expected ']' at the end of a table declaration",
                 id="references-syntax"),
    pytest.param(replaced(REFS, "year = 2013", 'year = "2013"'),
                 '<refs>: "Pascanu13.year" must be int, got str', id="references-wrong-type"),
    # Linked from the references of the handout and the site: a script must not be.
    pytest.param(replaced(REFS, "year = 2013", 'year = 2013\nurl = "javascript:alert(1)"'),
                 '<refs>: "Pascanu13.url" must be an http(s) address such as '
                 'https://doi.org/..., got "javascript:alert(1)"', id="references-url-script"),
    pytest.param(replaced(REFS, "venue =", "venu ="),
                 '<refs>: unknown key "Pascanu13.venu" (did you mean "venue"?)',
                 id="references-unknown-key"),
    # -- missing, empty and unreadable files -------------------------------------------------
    pytest.param(replaced(TOML, '["01-decay.md"]', '["01-decay.md", "02-gates.md"]'),
                 "<toml>: 02-gates.md does not exist", id="chapter-missing"),
    pytest.param(replaced(TOML, '"references.toml"', '"refs.toml"'),
                 "<toml>: refs.toml does not exist", id="references-missing"),
    # Its labels clashed with themselves: 'label "fig-decay" is already used at 01-decay.md'.
    pytest.param(replaced(TOML, '["01-decay.md"]', '["01-decay.md", "./01-decay.md"]'),
                 '<toml>: "chapters" lists 01-decay.md twice', id="chapter-listed-twice"),
    pytest.param(replaced(TOML, '["01-decay.md"]', "[]"),
                 '<toml>: "chapters" is empty: list at least one Markdown file', id="no-chapters"),
    pytest.param(added(CHAPTER, "\n  \n"),
                 '<ch>: the chapter is empty (write some Markdown, or remove "01-decay.md" '
                 'from "chapters" in topic.toml)', id="chapter-without-content"),
    pytest.param(added(CHAPTER, "# Décor\n".encode("latin-1")),
                 "<ch>:1: not UTF-8 text (byte 3); save it as UTF-8", id="chapter-not-utf8"),
    # An override that fetches: the handout is read offline, and overrides come with content.
    # The built page is read as a browser reads it: entities, CSS escapes and Jinja resolved.
    pytest.param(added("templates/handout.css", "body { color: red; }\n"
                                                "@import url(http://example.com/x.css);\n"),
                 "<project>/templates/handout.css:2: the page would fetch from elsewhere: a "
                 "stylesheet @import; a page is read offline, so its styles, images and fonts "
                 "are inlined (data: URLs)", id="template-css-import"),
    pytest.param(override('<img src="{{ \'https://example.com/p.png\' }}" alt="">'),
                 "<project>/templates/handout.html:3: the page would fetch from elsewhere: "
                 "<img src> https://example.com/p.png; a page is read offline, so its styles, "
                 "images and fonts are inlined (data: URLs)", id="template-remote-image"),
    pytest.param(override('<p style="background: \\75rl(//example.com/p.png)">x</p>'),
                 "<project>/templates/handout.html:3: the page would fetch from elsewhere: "
                 "<p style> //example.com/p.png; a page is read offline, so its styles, images "
                 "and fonts are inlined (data: URLs)", id="template-css-escape"),
    # An override extending the template it replaces recursed: an internal RecursionError.
    pytest.param(added(HANDOUT_OVERRIDE, '{% extends "handout.html" %}\n'),
                 "<project>/templates/handout.html:1: the template extends or includes itself, "
                 "endlessly; to build on the default theme's, extend \"theme/NAME\" (such as "
                 '{% extends "theme/handout.html" %})', id="template-extends-itself"),
    # An experiment file in Latin-1 was an internal UnicodeDecodeError naming no file.
    pytest.param(added(TINY_EXPERIMENT, b"# caf\xe9\n" + tiny_topic[TINY_EXPERIMENT].encode()),
                 "<project>/content/t1/experiments/gradient_decay.py:1: not UTF-8 text (byte 5); "
                 "save it as UTF-8", id="experiment-not-utf8"),
    pytest.param(added(REFS, b"[K]\ntitle = '\xff'\n"),
                 "<refs>:2: not UTF-8 text (byte 13); save it as UTF-8", id="references-not-utf8"),
    # -- directives --------------------------------------------------------------------------
    pytest.param(replaced(CHAPTER, ":params:", ":param:"),
                 '<ch>:8: unknown option ":param:" (did you mean "params"?)',
                 id="directive-unknown-option"),
    pytest.param(replaced(CHAPTER, ":name: fig-decay\n", ""),
                 "<ch>:6: {experiment-figure} needs a :name: label", id="directive-without-name"),
    pytest.param(replaced(CHAPTER, "T=10 hidden=4", "T10 hidden=4"),
                 '<ch>:8: ":params:" expects key=value pairs, got "T10"', id="directive-params"),
    pytest.param(replaced(CHAPTER, "T=10 hidden=4", "T=10, hidden=4"),
                 '<ch>:8: ":params:" separates its pairs with spaces, not commas: "T=10," ends '
                 "with a comma", id="directive-params-commas"),  # it said: expects int, "10,"
    pytest.param({path: text for path, text in tiny_topic.items()
                  if not path.endswith("_figures.py")},
                 '<ch>:6: experiment "gradient-decay" has no figure "grad_norm" (it has no '
                 "figures file: gradient_decay_figures.py beside gradient_decay.py does not "
                 "exist)", id="no-figures-file"),
    pytest.param(replaced(CHAPTER, "{experiment-figure}", "{experiment-figur}"),
                 '<ch>:6: unknown directive "{experiment-figur}" '
                 '(did you mean "experiment-figure"?)', id="directive-unknown"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\nThe sum $a\n+ b$ is wrapped.\n"),
                 "<ch>:15: a $ without its pair: inline math split by a line break? (a line "
                 "starting with '+ ', '- ' or '1. ' starts a list: rewrap it; write \\$ for a "
                 "dollar sign)", id="math-split-by-a-list-item"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER]
                       + "\n```{exercise}\nShow that\n$a\n- b$.\n```\n"),
                 "<ch>:17: a $ without its pair: inline math split by a line break? (a line "
                 "starting with '+ ', '- ' or '1. ' starts a list: rewrap it; write \\$ for a "
                 "dollar sign)", id="math-split-in-an-exercise"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\nA paragraph with $x$ and `$`,\n"
                       "costing \\$5, then $$y$$ and\nthe sum $a\n+ b$ wrapped.\n"),
                 "<ch>:17: a $ without its pair: inline math split by a line break? (a line "
                 "starting with '+ ', '- ' or '1. ' starts a list: rewrap it; write \\$ for a "
                 "dollar sign)", id="math-split-names-the-line-of-its-dollar"),
    # It rendered as the literal text "$$" and what followed, and the build succeeded.
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\nThe energy\n\n$$\nE = mc^2\n\nthen "
                       "more.\n"),
                 "<ch>:17: a $$ without its pair: display math never closed? (end it with a $$ "
                 "of its own; write \\$ for a dollar sign)", id="display-math-never-closed"),
    # -- exercises (the chapter's 13 lines, then these) ---------------------------------------
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\n```{solution}\nx\n```\n"),
                 "<ch>:15: a {solution} must stand inside the {exercise} it answers (give the "
                 "exercise's fence more backticks or colons than the solution's)",
                 id="solution-outside-exercise"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\n````{exercise}\n```{experiment-figure}"
                       " gradient-decay:grad_norm\n:name: fig-x\n```\n````\n"),
                 "<ch>:16: {experiment-figure} cannot stand inside an {exercise} (put the figure "
                 "before the exercise and refer to it with {numref})", id="figure-in-exercise"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\n````{exercise}\n# Title\n````\n"),
                 "<ch>:16: a heading cannot stand inside an {exercise}: write the exercise's "
                 "title as its first sentence", id="heading-in-exercise"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\n```{exercise}\n:lable: ex-a\nText\n```\n"),
                 '<ch>:16: unknown option ":lable:" (did you mean "label"?)',
                 id="exercise-unknown-option"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER]
                       + "\n```{exercise}\n:try: gradient-decay -p Tx=20\nText\n```\n"),
                 '<ch>:15: ":try: gradient-decay -p Tx=20": unknown parameter "Tx" for '
                 'experiment "gradient-decay" (did you mean "T"?)', id="exercise-try"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\n````{exercise}\nText\n\n```{solution}"
                       "\n:claim: fig-decay linear-lw\nx\n```\n````\n"),
                 '<ch>:18: ":claim: fig-decay linear-lw": the run of "fig-decay" has no claim '
                 '"linear-lw" (did you mean "linear-law"?)', id="solution-unknown-claim"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER]
                       + "\n```{exercise}\nText\n```\n\nSee {ref}`ex-clip`.\n"),
                 '<ch>:19: unknown label "ex-clip" in {ref} (Exercise 1.1 has no :label:; give '
                 'it ":label: ex-clip" to refer to it)', id="reference-to-unlabelled-exercise"),
    # A figure's label beside an unlabelled exercise was told to label the exercise with it.
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER]
                       + "\n```{exercise}\nText\n```\n\nSee {numref}`fig-nosuch`.\n"),
                 '<ch>:19: unknown label "fig-nosuch" in {numref} (did you mean "fig-decay"?)',
                 id="reference-to-no-figure-beside-an-exercise"),
    pytest.param(replaced(CHAPTER, "Gradient norm against distance $k$.",
                          "Gradient norm.\n\n:::{slide}\nx\n:::"),
                 "<ch>:12: {slide} cannot stand inside an {experiment-figure}: put it after the "
                 "figure", id="slide-in-figure"),
    pytest.param(added(CHAPTER, tiny_topic[CHAPTER] + "\n:::{notes}\n## Aside\n:::\n"),
                 "<ch>:16: a heading cannot stand inside a {notes}: a slide's title is its "
                 "section's heading", id="heading-in-notes"),
    # -- labels and citations ----------------------------------------------------------------
    pytest.param(replaced(CHAPTER, "{numref}`fig-decay`", "{numref}`fig-decy`"),
                 '<ch>:4: unknown label "fig-decy" in {numref} (did you mean "fig-decay"?)',
                 id="unknown-figure-label"),
    pytest.param(replaced(CHAPTER, "(sec-decay)=", "(fig-decay)="),
                 '<ch>:6: label "fig-decay" is already used at 01-decay.md:2',
                 id="duplicate-label"),
    pytest.param(replaced(CHAPTER, "The tanh", "$$x$$ (eq-x)\n\n$$y$$ (eq-x)\n\nThe tanh"),
                 '<ch>:15: label "eq-x" is already used at 01-decay.md:13',
                 id="duplicate-equation-label"),
    pytest.param(replaced(CHAPTER, "The tanh", "See {eq}`eq-nope`.\n\nThe tanh"),
                 '<ch>:13: unknown label "eq-nope" in {eq} (choose from: fig-decay, sec-decay)',
                 id="unknown-equation-label"),
    pytest.param(replaced(CHAPTER, "Pascanu13`", "Pascanu14`"),
                 '<ch>:4: unknown citation "Pascanu14" (did you mean "Pascanu13"?)',
                 id="unknown-citation"),
    pytest.param(replaced(CHAPTER, "(sec-decay)=", '(sec" onclick="x)='),
                 '<ch>:1: label "sec" onclick="x" must start with a letter and use only '
                 "letters, digits, -, _, : and .", id="label-with-quotes"),
    pytest.param(replaced(CHAPTER, "# Gradient decay", "#"),
                 "<ch>:2: heading without a title (write one after the #)", id="empty-heading"),
    # -- math --------------------------------------------------------------------------------
    pytest.param(replaced(CHAPTER, "distance $k$", "distance $\\frac{k$"),
                 "<ch>:10: cannot typeset $\\frac{k$: column 6: '{' without a matching '}'",
                 id="latex-unbalanced"),
    pytest.param(replaced(CHAPTER, "distance $k$", "distance $W_{{k}}$"),
                 "<ch>:10: 'k' is undefined (in a formula, {{ starts a live value: write TeX's "
                 "nested braces with a space, { {)", id="latex-double-braces"),
    pytest.param(replaced(CHAPTER, "distance $k$", "distance $\\foo k$"),
                 "<ch>:10: cannot typeset $\\foo k$: column 1: unsupported command: \\foo",
                 id="latex-unknown-command"),
    # -- live values -------------------------------------------------------------------------
    pytest.param(replaced(CHAPTER, "| sig(2) }}", "| sig(2) }"),
                 "<ch>:13: template syntax: unexpected '}'", id="live-value-syntax"),
    pytest.param(replaced(CHAPTER, 'result("fig-decay")', 'reslt("fig-decay")'),
                 "<ch>:13: 'reslt' is undefined", id="live-value-undefined"),
    pytest.param(replaced(CHAPTER, "decay_factor_rnn", "decay_factor_rn"),
                 '<ch>:13: result("fig-decay").scalars has no "decay_factor_rn" '
                 '(did you mean "decay_factor_rnn"?)', id="live-value-unknown-scalar"),
    pytest.param(replaced(CHAPTER, "sig(2)", "sig(0)"),
                 "<ch>:13: sig() digits must be a whole number from 1 to 17, got 0",
                 id="live-value-bad-digits"),
    pytest.param(replaced(CHAPTER, "{{", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}{{"),
                 "<ch>:13: live values nest too deeply (a macro that calls itself?)",
                 id="live-value-recursion"),
    pytest.param(replaced(CHAPTER, LIVE_VALUE, "'{0[1]}'.format_map({})"),
                 "<ch>:13: tuple index out of range", id="live-value-index-error"),
    # -- planted-bugs.json --------------------------------------------------------------------
    pytest.param(added(f"content/{TOPIC}/planted-bugs.json", '{"bugs": [\n  {"bug": 1,}\n]}'),
                 f"<project>/content/{TOPIC}/planted-bugs.json:2: invalid JSON: Expecting "
                 "property name enclosed in double quotes", id="planted-bugs-json"),
    pytest.param(added(f"content/{TOPIC}/planted-bugs.json", '{"bugs": [{"experiment": '
                       '"gradient-decai", "bug": "x", "caught_by": "evidence"}]}'),
                 f'<project>/content/{TOPIC}/planted-bugs.json: bugs[0]: unknown experiment '
                 '"gradient-decai" (did you mean "gradient-decay"?)', id="planted-bugs-experiment"),
    pytest.param(added(f"content/{TOPIC}/planted-bugs.json", '{"bugs": [{"experiment": '
                       '"gradient-decay", "bug": "x", "caught_by": "luck"}]}'),
                 f"<project>/content/{TOPIC}/planted-bugs.json: bugs[0]: caught_by must be one "
                 "of evidence, sanity, none", id="planted-bugs-caught-by"),
    # -- templates a project overrides -------------------------------------------------------
    pytest.param(override("{{ page.title }"),
                 "<project>/templates/handout.html:3: template syntax: unexpected '}'",
                 id="template-syntax"),
    pytest.param(override("{{ page.titel }}"),
                 "<project>/templates/handout.html:3: 'topicgen.pages.context.HandoutPage "
                 "object' has no attribute 'titel'", id="template-undefined"),
    pytest.param(added("templates/base.html", "<html>\n\n{{ page.nope }}\n</html>\n"),
                 "<project>/templates/base.html:3: 'topicgen.pages.context.HandoutPage object' "
                 "has no attribute 'nope'", id="template-base-undefined"),
    pytest.param(override("{{ page.title + 1 }}"),
                 '<project>/templates/handout.html:3: can only concatenate str (not "int") to str',
                 id="template-type-error"),
    pytest.param(override("{% include 'nope.html' %}"),
                 '<project>/templates/handout.html:3: template "nope.html" not found in '
                 "<project>/templates or the default theme", id="template-include-missing"),
    pytest.param(added(HANDOUT_OVERRIDE, b"{% extends 'base.html' %}\n\xff"),
                 "<project>/templates/handout.html:2: not UTF-8 text (byte 26); save it as UTF-8",
                 id="template-not-utf8"),
    # -- experiments named by figures --------------------------------------------------------
    pytest.param(replaced(CHAPTER, "gradient-decay:", "gradient-decy:"),
                 '<ch>:6: unknown experiment "gradient-decy" (did you mean "gradient-decay"?)',
                 id="unknown-experiment"),
    pytest.param(replaced(CHAPTER, ":grad_norm", ":grad_nrm"),
                 '<ch>:6: experiment "gradient-decay" has no figure "grad_nrm" '
                 '(did you mean "grad_norm"?)', id="unknown-figure"),
    pytest.param(replaced(CHAPTER, "hidden=4", "hiden=4"),
                 '<ch>:8: unknown parameter "hiden" for experiment "gradient-decay" '
                 '(did you mean "hidden"?)', id="unknown-parameter"),
    pytest.param(replaced(CHAPTER, "hidden=4", "hidden=four"),
                 '<ch>:8: parameter "hidden" expects int, got "four"', id="parameter-type"),
    pytest.param(replaced(CHAPTER, "T=10", "T=0"),
                 '<ch>:8: parameter "T" of "gradient-decay" must be 2 <= T <= 5000, got 0',
                 id="parameter-out-of-range"),
    pytest.param(replaced(CHAPTER, "seeds=2", "seeds=2 rho=nan"),
                 '<ch>:8: parameter "rho" of "gradient-decay" must be 1e-06 <= rho <= 100.0, '
                 "got nan", id="parameter-nan"),
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """One result cache for the module, so the tiny experiment runs once, not per case."""
    return tmp_path_factory.mktemp("cache")


def write(make_project, files: dict[str, str | bytes]) -> Path:
    project = make_project({k: v for k, v in files.items() if isinstance(v, str)})
    for relative, data in files.items():
        if isinstance(data, bytes):
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            (project / relative).write_bytes(data)
    return project


def build(project: Path, cache_dir: Path):
    return CliRunner().invoke(cli, ["build", "handout", "--project", str(project), "--topic",
                                    TOPIC, "--profile", "quick", "--format", "html",
                                    "--cache-dir", str(cache_dir)])


def expand(message: str, project: Path) -> str:
    for name, path in (("<ch>", CHAPTER), ("<toml>", TOML), ("<refs>", REFS)):
        message = message.replace(name, str(project / path))
    return "Error: " + message.replace("<project>", str(project))


def assert_one_error_line(result, expected: str, exit_code: int = 1) -> None:
    lines = result.output.splitlines()
    assert (result.exit_code, lines[-1]) == (exit_code, expected), result.output
    assert [line for line in lines if line.startswith("Error:")] == [expected]
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


def test_the_unbroken_tiny_topic_builds(make_project, cache_dir):
    project = write(make_project, tiny_topic)
    result = build(project, cache_dir)
    assert result.exit_code == 0, result.output
    assert (project / "output" / TOPIC / "handout.html").is_file()


@pytest.mark.parametrize(("files", "message"), BUILD_CASES)
def test_bad_input_is_one_line_naming_where_and_the_fix(make_project, cache_dir, files, message):
    project = write(make_project, files)
    result = build(project, cache_dir)
    assert_one_error_line(result, expand(message, project))
    assert not (project / "output" / TOPIC / "handout.html").exists()  # nothing half-built


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
@pytest.mark.parametrize(("relative", "shown"), [
    (CHAPTER, "<ch>"), (REFS, "<refs>"), (HANDOUT_OVERRIDE, "<project>/templates/handout.html"),
])
def test_unreadable_file(make_project, cache_dir, relative, shown):
    project = write(make_project, override("{{ page.title }}"))
    (project / relative).chmod(0)
    try:
        result = build(project, cache_dir)
    finally:
        (project / relative).chmod(0o644)
    assert_one_error_line(result, expand(f"{shown}: cannot read: Permission denied", project))


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], 'unknown experiment "nope" (choose from: attention-scaling, cell-highway, '
               "copy-memory, depth-jacobian, gate-saturation, gradient-clipping, gradient-decay, "
               "jacobian-spectrum, layernorm, long-range-memory, norm-placement, pascanu-bound, "
               "residual-depth, state-saturation, truncated-bptt)"),
    (["gradient-decai"], 'unknown experiment "gradient-decai" (did you mean "gradient-decay"?)'),
    (["gradient-decay", "-p", "hiden=4"],
     'unknown parameter "hiden" for experiment "gradient-decay" (did you mean "hidden"?)'),
    (["gradient-decay", "-p", "T=1.5"], 'parameter "T" expects int, got "1.5"'),
    (["gradient-decay", "-p", "T=99999"],
     'parameter "T" of "gradient-decay" must be 2 <= T <= 5000, got 99999'),
    (["gradient-decay", "-p", "cells=rnn,lsmt"],
     'parameter "cells" of "gradient-decay" must be one of rnn, lstm, gru, linear, '
     "got 'lsmt'"),
    (["gradient-decay", "-p", "rho=inf"],
     'parameter "rho" of "gradient-decay" must be 1e-06 <= rho <= 100.0, got inf'),
    # They were ignored: the run printed its numbers and no figure was drawn.
    (["gradient-decay", "--dpi", "300"], "--dpi applies to the figures of --figures DIR: add it"),
    (["gradient-decay", "--format", "png"],
     "--format applies to the figures of --figures DIR: add it"),
])
def test_run_with_bad_arguments_is_a_usage_error(args, message):
    result = CliRunner().invoke(cli, ["run", *args])
    assert_one_error_line(result, f"Error: {message}", exit_code=2)


@pytest.mark.parametrize("command", [
    ["build", "handout", "--topic", TOPIC, "--format", "html"],
    ["build", "site"],
    ["sweep", "gradient-decay", "--topic", TOPIC, "-p", "T=5:8:2"],
])
def test_an_output_folder_that_cannot_be_made_fails_before_anything_runs(
        make_project, cache_dir, command, monkeypatch):
    from topicgen.results import runner

    project = write(make_project, tiny_topic)
    (project / "taken").write_text("a file where the output folder would go\n")
    out = project / "taken" / "out"
    monkeypatch.setattr(runner, "run_all", lambda *_, **__: pytest.fail("it ran"))
    result = CliRunner().invoke(cli, [*command, "--project", str(project), "--profile", "quick",
                                      "--cache-dir", str(cache_dir), "--out", str(out)])
    assert_one_error_line(result, f"Error: cannot write to {out}: {project / 'taken'} is a "
                                  "file, not a folder")


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--topic", f"../content/{TOPIC}"], {},
     f"topic must name a folder in content/ (such as \"topic4\"), not a path: got "
     f"'../content/{TOPIC}'"),  # it built, writing its output into content/
    (["--topic", f"./{TOPIC}"], {},
     f"topic must name a folder in content/ (such as \"topic4\"), not a path: got './{TOPIC}'"),
    (["--jobs", "2147483647"], {}, "jobs must be between 1 and 1024, got 2147483647"),
    ([], {"SOURCE_DATE_EPOCH": "253402300800"},
     'SOURCE_DATE_EPOCH must be seconds since 1970, at most 253402300799 (the end of 9999), '
     'got "253402300800"'),
], ids=["topic-path", "topic-dot-slash", "jobs-huge", "epoch-past-9999"])
def test_a_bad_setting_stops_the_command_before_it_writes_anything(make_project, args, env,
                                                                   message, monkeypatch):
    project = write(make_project, tiny_topic)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = sorted(project.rglob("*"))
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project),
                                      "--topic", TOPIC, "--format", "html", *args])
    assert_one_error_line(result, f"Error: {message}", exit_code=2)
    assert sorted(project.rglob("*")) == before


def test_a_formats_list_left_empty_keeps_the_last_handout(make_project, cache_dir):
    """It built nothing, reported success and removed handout.html as stale."""
    project = write(make_project, tiny_topic)
    assert build(project, cache_dir).exit_code == 0
    (project / "topicgen.toml").write_text("formats = []\n")
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project),
                                      "--topic", TOPIC, "--cache-dir", str(cache_dir)])
    assert_one_error_line(result, f"Error: {project / 'topicgen.toml'}: formats must list at "
                                  "least one of html, pdf, got none")
    assert (project / "output" / TOPIC / "handout.html").is_file()


@pytest.mark.parametrize(("setting", "message"), [
    ("jobs = 0", "jobs must be between 1 and 1024, got 0"),
    ('jobs = "2"', '"jobs" must be int, got str'),
    ("jobs = true", '"jobs" must be int, got bool'),
    ('paper = "a5"', 'paper must be one of a4, letter, got "a5" (did you mean "a4"?)'),
    ('profile = "fast"', 'profile must be one of quick, full, got "fast"'),  # listed once
    ("bogus = 1", 'unknown key "bogus" (did you mean "out"?)'),
    ('site_title = " "', "site_title must be one line of 1 to 80 printable characters, got ' '"),
    ('site_title = "Deep\\nLearning"',
     "site_title must be one line of 1 to 80 printable characters, got 'Deep\\nLearning'"),
])
def test_a_topicgen_toml_error_exits_1_like_any_file_and_its_flag_2(make_project, setting,
                                                                    message):
    """A range error in topicgen.toml exited 2, a type error or unknown key 1: a file's error
    now exits 1 whatever its kind, as a chapter's or topic.toml's does; a flag's exits 2."""
    project = write(make_project, tiny_topic)
    (project / "topicgen.toml").write_text(setting + "\n")
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project)])
    assert_one_error_line(result, f"Error: {project / 'topicgen.toml'}: {message}")
    (project / "topicgen.toml").unlink()
    flag = {"jobs = 0": ["--jobs", "0"], 'paper = "a5"': ["--paper", "a5"]}.get(setting)
    if flag:
        result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project), *flag])
        assert result.exit_code == 2, result.output


def test_a_cache_among_the_sources_or_in_the_project_folder_is_refused(make_project):
    """A cache in a topic's folder became one of its inputs, so every run made the next one
    stale; in the project folder it mixed with the project's files."""
    project = write(make_project, tiny_topic)
    (project / "topicgen.toml").write_text('cache_dir = ""\n')
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project)])
    assert_one_error_line(result, f"Error: {project / 'topicgen.toml'}: cache_dir {project} is "
                                  "the project folder: give the cache a folder of its own "
                                  "(--cache-dir, or cache_dir in topicgen.toml)")
    (project / "topicgen.toml").unlink()
    inside = project / "content" / TOPIC
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project),
                                      "--cache-dir", str(inside)])
    assert_one_error_line(result, f"Error: cache_dir {inside} lies inside content/: give the "
                                  "cache a folder of its own (--cache-dir, or cache_dir in "
                                  "topicgen.toml)", exit_code=2)


@pytest.mark.parametrize("command", [["build", "handout"], ["build", "report"]])
def test_a_project_folder_that_does_not_exist_is_not_made(tmp_path, command):
    missing = tmp_path / "nope"
    result = CliRunner().invoke(cli, [*command, "--project", str(missing), "--topic", "x"])
    assert_one_error_line(result, f"Error: content folder {missing / 'content'} does not exist "
                                  "(run topicgen from the project root or pass --project)",
                          exit_code=2)
    assert not missing.exists()


def test_new_where_content_is_a_file_says_so(tmp_path):
    (tmp_path / "content").write_text("not a folder\n")
    result = CliRunner().invoke(cli, ["new", "--project", str(tmp_path), "x"])
    assert_one_error_line(result, f"Error: {tmp_path / 'content'} is a file: topics live in a "
                                  "folder of that name", exit_code=2)


def test_an_output_folder_among_the_sources_is_refused(make_project):
    """--out content/t wrote handout.html, data/ and figures/ into the topic, where the data
    files joined every result's key and --watch rebuilt on its own writes 198 times in 25 s;
    `clean` then refused the folder the build had used."""
    project = write(make_project, tiny_topic)
    before = sorted(project.rglob("*"))
    topic = project / "content" / TOPIC
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project),
                                      "--out", str(topic)])
    assert_one_error_line(result, f"Error: out {topic} lies inside content/: give the output "
                                  "a folder of its own", exit_code=2)
    result = CliRunner().invoke(cli, ["figures", "--project", str(project), "--out",
                                      str(project)])
    assert_one_error_line(result, f"Error: will not write to {project.resolve()}: it is the "
                                  "project folder; give the output a folder of its own",
                          exit_code=2)
    for inputs in ("templates", ".topicgen/cache"):  # a built page became an override
        result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project),
                                          "--out", str(project / inputs)])
        assert result.exit_code == 2 and "give the output a folder of its own" in result.output
    (project / "topicgen.toml").write_text('out = "content"\n')
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project)])
    assert_one_error_line(result, f"Error: {project / 'topicgen.toml'}: out "
                                  f"{project / 'content'} is content/: give the output a "
                                  "folder of its own")
    (project / "topicgen.toml").unlink()
    assert sorted(project.rglob("*")) == before


def test_an_override_extends_the_theme_template_it_replaces(make_project, cache_dir):
    """What the self-extension error proposes works: "theme/handout.html" is the theme's."""
    project = write(make_project, added(HANDOUT_OVERRIDE, '{% extends "theme/handout.html" %}'
                                        "{% block title %}Our course{% endblock %}\n"))
    assert build(project, cache_dir).exit_code == 0
    html = (project / "output" / TOPIC / "handout.html").read_text("utf-8")
    assert "<title>Our course</title>" in html and 'id="fig-decay"' in html


def test_a_byte_order_mark_in_a_toml_file_is_no_error(make_project, cache_dir):
    """Notepad's UTF-8 starts with U+FEFF: topic.toml read "invalid TOML: Invalid statement"."""
    project = write(make_project, {**tiny_topic, TOML: "\ufeff" + tiny_topic[TOML],
                                   "topicgen.toml": '\ufeffprofile = "quick"\n'})
    assert build(project, cache_dir).exit_code == 0


def test_a_topic_topicgen_toml_names_that_does_not_exist_is_that_files_error(make_project):
    """It exited 2 as if mistyped on the command line, naming no file."""
    project = write(make_project, {**tiny_topic, "topicgen.toml": 'topic = "nope"\n'})
    result = CliRunner().invoke(cli, ["build", "handout", "--project", str(project)])
    assert_one_error_line(result, f"Error: {project / 'topicgen.toml'}: topic: unknown topic "
                                  f'"nope" in {project / "content"} (choose from: {TOPIC})')
    flagged = CliRunner().invoke(cli, ["build", "handout", "--project", str(project),
                                       "--topic", "nope"])
    assert flagged.exit_code == 2 and "topicgen.toml" not in flagged.output
