"""The Topic 4 handout, built once in the quick profile through the CLI, read as a user would."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from topicgen.content.myst import figure_requests, parse
from topicgen.content.topic import load_topic

ROOT = Path(__file__).resolve().parents[1]
TOPIC = load_topic(ROOT / "content", "topic4")


@pytest.fixture(scope="module")
def built(topic4_site) -> Path:
    """The handout the docs-site build wrote for a copy of this repository's content."""
    return topic4_site.parent / "topic4"


@pytest.fixture(scope="module")
def html(built) -> str:
    return (built / "handout.html").read_text("utf-8")


@pytest.fixture(scope="module")
def pdf_text(built) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(built / "handout.pdf").pages)


def headings() -> list[str]:
    """The plain text of every Markdown heading in the topic (math left out)."""
    found = []
    for chapter in TOPIC.chapters:
        tokens = parse(chapter.text)
        for index, token in enumerate(tokens):
            if token.type == "heading_open":
                children = tokens[index + 1].children or []
                found.append("".join(c.content for c in children if c.type == "text").strip())
    return found


def figure_labels() -> list[str]:
    return [r.label for c in TOPIC.chapters for r in figure_requests(parse(c.text), c.path)]


def test_every_section_is_in_the_html_numbered(html):
    titles = headings()
    assert len(titles) >= 8
    for title in titles:
        assert title, "every heading has words, not only math"
        assert title[:30] in html, title
    assert re.search(r'<h2 id="[^"]+"><span class="secno">1</span>', html)
    assert re.search(r'<span class="secno">2\.1</span>', html)


def test_every_figure_is_inline_svg_with_caption_and_verdicts(html, built):
    labels = figure_labels()
    assert "fig-decay" in labels
    for label in labels:
        match = re.search(rf'<figure class="experiment" id="{label}">(.*?)</figure>', html, re.S)
        assert match, label
        assert "<svg" in match.group(1)
        assert re.search(r'<span class="figno">Figure \d+\.</span>', match.group(1))
        assert (built / "figures" / f"{label}.svg").read_text().startswith("<svg")
        data = json.loads((built / "data" / f"{label}.json").read_text())
        assert any(c["passed"] for c in data["claims"])
        assert all(c["passed"] is not False for c in data["claims"])  # held, or not judged
    assert html.count("✓ holds") >= 2 and "✗ fails" not in html


def test_math_is_rendered_to_svg_with_no_tex_left(html):
    body = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)  # SVG titles carry spoken math
    assert html.count('class="math') >= 20
    for tex in ("$$", "\\frac", "\\partial", "\\sigma", "\\begin"):
        assert tex not in body, tex
    assert not re.search(r"\$[^$\s][^$]*\$", body)


def test_cross_references_resolve_to_anchors(html):
    anchors = set(re.findall(r'\bid="([^"]+)"', html))
    targets = re.findall(r'<a class="(?:xref|cite|source-ref)[^"]*" href="#([^"]+)"', html)
    assert len(targets) >= 10
    assert not [t for t in targets if t not in anchors]


def test_html_is_self_contained(html, built):
    references = re.findall(r'<a class="url" href="(https?://[^"]+)" rel="external">', html)
    assert len(references) >= 15  # a paper's address is a link, to follow, never fetched
    for attribute, value in re.findall(r'\b(src|href)="([^"]*)"', html):
        if attribute == "href" and value.startswith("data/"):  # a figure's data, for a reader
            assert re.fullmatch(r"data/fig-[\w-]+\.csv", value) and (built / value).is_file()
            continue  # to follow: written beside the handout, never fetched to show it
        if attribute == "href" and value in references:
            continue
        assert value.startswith(("#", "data:")), (attribute, value[:80])  # nothing to fetch
    assert "<script" not in html
    assert re.findall(r"<link[^>]*>", html) == ['<link rel="icon" href="data:,">']  # no fetch
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert "@import" not in html


def test_checklist_links_to_experiment_code(html):
    links = re.findall(r'<a class="source-ref" href="#(code-[^"]+)">', html)
    assert len(set(links)) >= 5
    for anchor in set(links):
        assert f'<div class="listing" id="{anchor}">' in html


def test_pdf_has_headings_contents_page_numbers_and_measured_numbers(pdf_text, built):
    from pypdf import PdfReader

    reader = PdfReader(built / "handout.pdf")
    pages = len(reader.pages)
    assert pages >= 5
    assert "Contents" in pdf_text
    for title in headings()[:6]:
        assert title[:20] in pdf_text
    assert f"2 / {pages}" in pdf_text and f"{pages} / {pages}" in pdf_text
    data = json.loads((built / "data" / "fig-decay.json").read_text())
    bound = next(c for c in data["claims"] if c["id"] == "linear-law")
    assert bound["measured"] in pdf_text.replace("\n", " ")
    assert len(reader.outline) >= 5  # bookmarks from headings
    assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4


def test_manifest_records_the_build(built):
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["config"]["profile"] == "quick"
    assert {run["experiment"] for run in manifest["runs"]} >= {"gradient-decay"}
    assert all(run["cache"] in {"hit", "miss"} for run in manifest["runs"])
    assert "handout.pdf" in manifest["outputs"]
