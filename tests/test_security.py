"""Content is untrusted (students send pull requests): it is data, never code or a way out.

Raw HTML is escaped, references may not leave the topic folder or reach the network, live
values run in Jinja's sandbox, and page templates escape every field they are given.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TOPIC, tiny_topic
from topicgen.cli import cli

CHAPTER = f"content/{TOPIC}/01-decay.md"
LIVE_VALUE = 'result("fig-decay").scalars.decay_factor_rnn | sig(2)'  # on line 13 of CHAPTER
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/"
                       "iZk9HQAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def build(project: Path, cache_dir: Path):
    return CliRunner().invoke(cli, ["build", "handout", "--project", str(project), "--topic",
                                    TOPIC, "--profile", "quick", "--format", "html",
                                    "--cache-dir", str(cache_dir)])


def handout(make_project, cache_dir, files: dict[str, str]) -> str:
    project = make_project(files)
    result = build(project, cache_dir)
    assert result.exit_code == 0, result.output
    return (project / "output" / TOPIC / "handout.html").read_text(encoding="utf-8")


def error_of(make_project, cache_dir, files: dict[str, str]) -> str:
    """The last output line of a failing build, with the chapter's path shown as <ch>."""
    project = make_project(files)
    result = build(project, cache_dir)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result.output.splitlines()[-1].replace(str(project / CHAPTER), "<ch>")


def chapter_with(old: str, new: str) -> dict[str, str]:
    assert old in tiny_topic[CHAPTER]
    return {**tiny_topic, CHAPTER: tiny_topic[CHAPTER].replace(old, new, 1)}


# -- raw HTML ----------------------------------------------------------------------------------

def test_raw_html_in_markdown_is_escaped(make_project, cache_dir):
    html = handout(make_project, cache_dir, chapter_with(
        "The gradient fades", '<script>alert(1)</script> <img src=x onerror="alert(2)">\n\n'
        "<div onclick=\"alert(3)\">block</div>\n\nThe gradient fades"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert "&lt;div onclick=&quot;alert(3)&quot;&gt;block&lt;/div&gt;" in html
    assert "alert(1)</script>" not in html and "<img src=x" not in html


def test_topicgen_toml_can_let_raw_html_through_for_trusted_content(make_project, cache_dir):
    files = chapter_with("The gradient fades", '<kbd>Ctrl</kbd>+<kbd>C</kbd> stops a build.'
                                               "\n\nThe gradient fades")
    assert "&lt;kbd&gt;Ctrl" in handout(make_project, cache_dir, files)
    trusted = {**files, "topicgen.toml": "raw_html = true\n"}
    assert "<kbd>Ctrl</kbd>+<kbd>C</kbd> stops a build." in handout(make_project, cache_dir,
                                                                    trusted)


# -- references out of the project -------------------------------------------------------------

LINK_FIX = "a link may go to a label in the handout (#sec-x) or to a web page (https://...)"
IMAGE_FIX = "is not a file in the topic folder (copy it there and give its path relative to " \
            "the chapter)"


@pytest.mark.parametrize(("markdown", "message"), [
    ("![x](http://evil/x.png)", f'image "http://evil/x.png" {IMAGE_FIX}'),
    ("![x](//evil/x.png)", f'image "//evil/x.png" {IMAGE_FIX}'),
    ("![x](../../etc/passwd)", f'image "../../etc/passwd" {IMAGE_FIX}'),
    ("![x](/etc/passwd)", f'image "/etc/passwd" {IMAGE_FIX}'),
    ("![x](file:///etc/passwd)", f'image "file:///etc/passwd" {IMAGE_FIX}'),
    ("![x](data:image/png;base64,AAAA)", f'image "data:image/png;base64,AAAA" {IMAGE_FIX}'),
    ("![x](missing.png)", 'image "missing.png": No such file or directory'),
    ("![x](notes.txt)", 'image "notes.txt" must be one of: .png, .jpg, .jpeg, .gif, .webp, .svg'),
    # It was inlined as it was: a broken image in the page, a hole in the PDF.
    ("![x](notes.png)", 'image "notes.png" is not a PNG file (its bytes do not begin as one): '
                        "save it again in that format"),
    ("[x](file:///etc/passwd)", f'link to "file:///etc/passwd": {LINK_FIX}'),
    ("[x](javascript:alert(1))", f'link to "javascript:alert(1)": {LINK_FIX}'),
    ("[x](../../etc/passwd)", f'link to "../../etc/passwd": {LINK_FIX}'),
    ("<file:///etc/passwd>", f'link to "file:///etc/passwd": {LINK_FIX}'),
    ("[x][r]\n\n[r]: file:///etc/passwd\n", f'link to "file:///etc/passwd": {LINK_FIX}'),
])
def test_a_reference_out_of_the_project_is_an_error_at_its_line(make_project, cache_dir,
                                                                 markdown, message):
    files = chapter_with("The tanh", f"{markdown}\n\nThe tanh")
    files[f"content/{TOPIC}/notes.txt"] = "not an image"
    files[f"content/{TOPIC}/notes.png"] = "not an image either"
    assert error_of(make_project, cache_dir, files) == f"Error: <ch>:13: {message}"


def test_an_image_in_the_topic_folder_is_inlined(make_project, cache_dir):
    project = make_project(chapter_with("The tanh", "![A dot](img/dot.png)\n\nThe tanh"))
    (project / "content" / TOPIC / "img").mkdir()
    (project / "content" / TOPIC / "img" / "dot.png").write_bytes(PNG)
    assert build(project, cache_dir).exit_code == 0
    html = (project / "output" / TOPIC / "handout.html").read_text(encoding="utf-8")
    data = base64.b64encode(PNG).decode()
    assert f'<img src="data:image/png;base64,{data}" alt="A dot" />' in html


def test_web_links_and_anchors_stay_links(make_project, cache_dir):
    html = handout(make_project, cache_dir, chapter_with(
        "The tanh", "[paper](https://arxiv.org/abs/1211.5063), [above](#sec-decay)\n\nThe tanh"))
    assert '<a href="https://arxiv.org/abs/1211.5063">paper</a>' in html
    assert '<a href="#sec-decay">above</a>' in html


# -- live values run in the sandbox ------------------------------------------------------------

@pytest.mark.parametrize(("expression", "message"), [
    ("''.__class__.__mro__", "access to attribute '__class__' of 'str' object is unsafe."),
    ("cycler.__init__.__globals__",
     "access to attribute '__init__' of 'StrictUndefined' object is unsafe."),
    ("result.__globals__", "access to attribute '__globals__' of 'function' object is unsafe."),
    ("result | attr('__code__')",
     "access to attribute '__code__' of 'function' object is unsafe."),
    ("'{0.__class__}'.format(1)", "access to attribute '__class__' of 'int' object is unsafe."),
    ('result("fig-decay").scalars.__init__',
     "access to attribute '__init__' of 'Values' object is unsafe."),
    ('result("fig-decay").scalars.update({})',
     "access to attribute 'update' of 'Values' object is unsafe."),
    ("lipsum", "'lipsum' is undefined"),
    ("range(10)", "'range' is undefined"),
    ("'a' * 10**9", "a text or list of 1000000000 items is too long (at most 100000)"),
    ("10 ** 10000000", "10 ** 10000000 is too large to print"),
])
def test_live_values_cannot_reach_python_internals(make_project, cache_dir, expression, message):
    files = chapter_with(LIVE_VALUE, expression)
    assert error_of(make_project, cache_dir, files) == f"Error: <ch>:13: {message}"


@pytest.mark.parametrize("statement", [
    "{% import 'os' as os %}", "{% from 'os' import path %}", "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
])
def test_live_values_cannot_read_files(make_project, cache_dir, statement):
    files = chapter_with("{{", f"{statement}{{{{")
    target = statement.split("'")[1]
    assert error_of(make_project, cache_dir, files) == (
        f'Error: <ch>:13: cannot read "{target}": live values may not include, import or '
        'extend files (quote results with result("label"))'
    )


# -- templates escape what they are given --------------------------------------------------------

def test_topic_and_citation_fields_are_escaped_in_the_handout(make_project, cache_dir):
    files = dict(tiny_topic)
    toml, refs = f"content/{TOPIC}/topic.toml", f"content/{TOPIC}/references.toml"
    files[toml] = files[toml].replace('"A tiny topic"', '"<script>alert(1)</script>"')
    files[toml] = files[toml].replace('"topicgen tests"', '"<b>Eve</b>"')
    files[refs] = files[refs].replace('"ICML 2013"', '"<img src=x onerror=alert(2)>"')
    files[refs] = files[refs].replace('title = "On', 'title = "<script>alert(3)</script> On')
    html = handout(make_project, cache_dir, files)
    assert "<title>Topic T: &lt;script&gt;alert(1)&lt;/script&gt;</title>" in html
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "<cite>&lt;script&gt;alert(3)&lt;/script&gt; On the difficulty" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script>" not in html and "<img src=x" not in html and "<b>Eve" not in html


def test_a_template_override_runs_in_the_sandbox(make_project, cache_dir):
    project = make_project({**tiny_topic, "templates/handout.html": (
        "{% extends 'base.html' %}\n{% block body %}\n"
        "{{ page.__class__.__init__.__globals__ }}\n{% endblock %}\n")})
    result = build(project, cache_dir)
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        1, f"Error: {project}/templates/handout.html:3: access to attribute '__init__' of "
           "'StrictUndefined' object is unsafe.")  # __class__ was refused, hence Undefined


FETCHING_MARKUP = [  # each once got past a check of the templates' source
    "<style>a{background:\\75rl(http://x.org/a.png)}</style>",
    "<style>a{background:u\\rl(http://x.org/a.png)}</style>",
    '<style>a{background:image-set("https://x.org/a.png" 1x)}</style>',
    '<img src="&#104;ttps://x.org/a.png" alt="">',
    '<link title="a>b" rel="stylesheet" href="https://x.org/s.css">',
    '<svg><image href="https://x.org/a.png"/></svg>',
    '<svg><image xlink:href="//x.org/a.png"/></svg>',
    '<object data="https://x.org/a.svg"></object>',
    '<meta http-equiv="refresh" content="0;url=https://x.org">',
    '<table background="https://x.org/a.png"></table>',
    '<img srcset="a.png 1x, https://x.org/b.png 2x" alt="">',
    '<script>fetch("https://x.org/t")</script>',
]
HARMLESS_MARKUP = ['<div data-src="https://x.org">x</div>', '<a href="https://doi.org/x">x</a>',
                   '<img src="data:image/png;base64,AAAA" alt="">',
                   "<style>a{fill:url(#g)}</style>", "<p>write url(https://x.org) in CSS</p>",
                   '<svg><use href="#g1"/></svg>']


@pytest.mark.parametrize("markup", FETCHING_MARKUP)
def test_a_page_that_would_fetch_from_elsewhere_is_found_as_a_browser_reads_it(markup):
    from topicgen.pages.offline import page_fetch

    assert page_fetch(f"<!DOCTYPE html><html><body>{markup}</body></html>") is not None


def test_markup_that_fetches_nothing_passes():
    from topicgen.pages.offline import page_fetch

    assert [m for m in HARMLESS_MARKUP if page_fetch(m)] == []


def test_an_override_whose_jinja_builds_a_remote_address_is_refused(make_project, cache_dir):
    project = make_project({**tiny_topic, "templates/handout.html": (
        '{% extends "theme/handout.html" %}{% block body %}{% set host = "x.org" %}'
        '<img src="https://{{ host }}/p.png" alt="">{{ super() }}{% endblock %}\n')})
    result = build(project, cache_dir)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: {project / 'templates'}: the page would fetch from elsewhere: <img src> "
        "https://x.org/p.png; a page is read offline, so its styles, images and fonts are "
        "inlined (data: URLs)")
    assert not (project / "output").exists()


@pytest.mark.parametrize("url", ["http://example.org/x.png", "https://example.org/font.woff",
                                 "file:///etc/passwd", "ftp://example.org/x"])
def test_the_pdf_renderer_fetches_nothing_outside_the_project(tmp_path, url):
    from topicgen.publish.pdf.part import local_fetcher

    with pytest.raises(ValueError, match="^refused to fetch"):
        local_fetcher(tmp_path).fetch(url)


def test_the_pdf_renderer_may_read_files_inside_the_project(tmp_path):
    from topicgen.publish.pdf.part import local_fetcher

    (tmp_path / "x.png").write_bytes(PNG)
    fetched = local_fetcher(tmp_path).fetch((tmp_path / "x.png").as_uri())
    assert fetched is not None
