"""The PDF laid out part by part: cutting the HTML, joining the parts, caching them."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest

from topicgen.publish.pdf import html_to_pdf, layout
from topicgen.publish.pdf.cut import MARKER, number_links, split_parts
from topicgen.results.cache import ResultCache

HEAD = '<!DOCTYPE html><html lang="en"><head><title>T</title></head><body class="page">'
TAIL = "</body></html>"
STYLE = """
@page { size: A5; margin: 20mm; @top-center { content: "Synthetic"; } }
@page furniture { @top-center { content: none; }
  @bottom-center { content: counter(page) " / " counter(pages); } }
.toc a::after { content: leader(".") attr(data-page); }
"""


def reader(data: bytes):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(data))


def texts(pdf_reader) -> list[str]:
    return [page.extract_text() for page in pdf_reader.pages]


def page_with(pages: list[str], text: str, start: int = 0) -> int:
    return next(i for i in range(start, len(pages)) if text in pages[i])


def links(pdf_reader, page: int) -> list[int]:
    """The page index each Link annotation on `page` leads to (through a named destination:
    a link may point into another part)."""
    found = []
    for annotation in pdf_reader.pages[page].get("/Annots") or []:
        annotation = annotation.get_object()
        if annotation["/Subtype"] == "/Link" and "/Dest" in annotation:
            named = pdf_reader.named_destinations[annotation["/Dest"]]
            found.append(pdf_reader.get_destination_page_number(named))
    return found


def outline(pdf_reader, items=None) -> dict[str, int]:
    """Bookmark title -> page index, nested entries included."""
    found = {}
    for item in pdf_reader.outline if items is None else items:
        if isinstance(item, list):
            found.update(outline(pdf_reader, item))
        else:
            found[item.title] = pdf_reader.get_destination_page_number(item)
    return found


def section(anchor: str, title: str, sentence: str, extra: str = "") -> str:
    filler = "Filler words that take room on the page. " * 10
    paragraphs = "".join(f"<p>{sentence} {filler}</p>" for _ in range(8))
    return f'{MARKER}\n<section><h2 id="{anchor}">{title}</h2>{paragraphs}{extra}</section>\n'


def book(second: str = "Beta sentence.") -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><title>T</title><style>{STYLE}</style>"
            "</head><body>"
            '<h1>Synthetic book</h1><nav class="toc"><ol><li><a href="#a">Alpha heading</a></li>'
            '<li><a href="#b">Beta heading</a></li></ol></nav><main>'
            + section("a", "Alpha heading", "Alpha sentence.")
            + section("b", "Beta heading", second, '<p>See <a href="#a">the alpha part</a>.</p>')
            + "</main></body></html>")


def test_page_without_markers_is_one_part():
    html = HEAD + "<main><p>text</p></main>" + TAIL
    assert split_parts(html) == [html]


def test_parts_reopen_main_and_close_it():
    parts = split_parts(HEAD + f'<main id="m"><p>one</p>{MARKER}<p>two</p></main>' + TAIL)
    assert len(parts) == 2
    assert parts[0] == HEAD + '<main id="m"><p>one</p></main>' + TAIL
    assert parts[1] == HEAD + '<main id="m"><p>two</p></main>' + TAIL


def test_front_matter_and_every_part_repeat_the_head():
    html = HEAD + f"<h1>Title</h1><main>{MARKER}<p>one</p>{MARKER}<p>two</p></main>" + TAIL
    parts = split_parts(html)
    assert len(parts) == 3 and "<h1>Title</h1>" in parts[0]
    assert all(part.startswith(HEAD) and part.endswith("</main>" + TAIL) for part in parts)


def test_void_and_self_closing_tags_leave_the_stack_alone():
    body = ('<main><p>a<br>b<img src="x.png" alt="x"><input type="text"></p>'
            '<svg viewBox="0 0 1 1"><path d="M0 0"/><circle r="1" /></svg>'
            f"{MARKER}<p>two</p></main>")
    assert split_parts(HEAD + body + TAIL)[1] == HEAD + "<main><p>two</p></main>" + TAIL


def test_an_svg_before_the_cut_leaves_nothing_open_and_one_across_it_is_reopened():
    body = ('<main><SVG viewBox="0 0 1 1"><svg><g><rect/></g></svg><g></SVG><div><svg><g>'
            f"<rect/>{MARKER}<p>two</p></g></svg></div></main>")
    assert split_parts(HEAD + body + TAIL)[1] == (
        HEAD + "<main><div><svg><g><p>two</p></g></svg></div></main>" + TAIL)


def test_style_text_with_angle_brackets_is_not_markup():
    body = f"<main><style>a<b {{ }} p > span {{ }} <div></style>{MARKER}<p>two</p></main>"
    assert split_parts(HEAD + body + TAIL)[1] == HEAD + "<main><p>two</p></main>" + TAIL


def test_nested_marker_reopens_each_enclosing_element_with_its_attributes():
    body = (f'<main class="m"><div id="d" data-x="1"><p>one</p>{MARKER}<p>two</p></div>'
            "<p>after</p></main>")
    first, second = split_parts(HEAD + body + TAIL)
    assert first.endswith("<p>one</p></div></main>" + TAIL)
    assert second == (HEAD + '<main class="m"><div id="d" data-x="1"><p>two</p></div>'
                      "<p>after</p></main>" + TAIL)


def test_quoted_angle_brackets_and_html_slashes_do_not_end_or_close_an_element():
    body = (f'<main data-note="a>b"><div title="x/>y"><p>one</p>{MARKER}<p>two</p></div>'
            f"<div/>{MARKER}<p>three</p></div></main>")
    _, second, third = split_parts(HEAD + body + TAIL)
    assert second == (HEAD + '<main data-note="a>b"><div title="x/>y"><p>two</p></div><div/>'
                      "</div></main>" + TAIL)
    assert third.startswith(HEAD + '<main data-note="a>b"><div/><p>three</p>')


def test_number_links_marks_only_known_targets():
    html = ('<a href="#a">A</a> <a class="x" href="#b">B</a> <a href="https://e.org">E</a> '
            "<a href='#c'>C</a>")
    assert number_links(html, {"a": 3, "c": 4}) == (
        '<a href="#a" data-page="3">A</a> <a class="x" href="#b">B</a> '
        """<a href="https://e.org">E</a> <a href='#c' data-page="4">C</a>""")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> bytes:
    return html_to_pdf(book(), tmp_path_factory.mktemp("synthetic"))


def test_parts_join_with_page_numbers_contents_links_and_outline(synthetic):
    result = reader(synthetic)
    pages = texts(result)
    total = len(pages)
    alpha, beta = page_with(pages, "Alpha sentence."), page_with(pages, "Beta sentence.")
    assert alpha == 1 and beta - alpha >= 2 and total - beta >= 2  # a part spans pages
    assert all(f"{k + 1} / {total}" in text for k, text in enumerate(pages))
    assert pages[alpha].startswith("Alpha heading") and pages[beta].startswith("Beta heading")
    assert "Beta" not in pages[beta - 1]
    contents = {line.split(" .")[0]: line.split()[-1] for line in pages[0].splitlines()
                if " .." in line}
    assert contents == {"Alpha heading": str(alpha + 1), "Beta heading": str(beta + 1)}
    assert links(result, page_with(pages, "See the alpha part")) == [alpha]
    assert set(links(result, 0)) == {alpha, beta}
    destinations = {name: result.get_destination_page_number(destination)
                    for name, destination in result.named_destinations.items()}
    assert destinations == {"a": alpha, "b": beta}
    assert {"Alpha heading": alpha, "Beta heading": beta}.items() <= outline(result).items()


def test_an_edit_lays_out_only_its_part_again(tmp_path, monkeypatch, synthetic):
    cache = ResultCache(tmp_path / "cache")
    assert html_to_pdf(book(), tmp_path, cache) == synthetic
    real, calls = layout.render_part, []

    def counting(html, **where):
        calls.append(html)
        return real(html, **where)

    monkeypatch.setattr(layout, "render_part", counting)
    edited = html_to_pdf(book("Gamma sentence."), tmp_path, cache)
    # Same page count, so the numbered contents and the furniture are cache hits.
    assert len(calls) == 1 and "Gamma sentence." in calls[0] and "Alpha" not in calls[0]
    assert "Gamma sentence." in texts(reader(edited))[-1]
    calls.clear()
    assert html_to_pdf(book("Gamma sentence."), tmp_path, cache) == edited
    assert html_to_pdf(book(), tmp_path, cache) == synthetic  # parts read back from JSON
    assert calls == []


def test_parallel_layout_gives_the_same_bytes_and_ends_its_workers_before_the_join(
        tmp_path, synthetic, monkeypatch):
    """The join is the command's memory peak: the workers' memory must not add to it."""
    from topicgen.publish.pdf import document

    pools_at_join = []

    def join(*args):
        pools_at_join.append(parallel.pool)
        return real_join(*args)

    real_join = document.join
    monkeypatch.setattr(document, "join", join)
    with layout.Layout(jobs=2) as parallel:
        assert html_to_pdf(book(), tmp_path, None, parallel) == synthetic
    assert pools_at_join == [None]


def test_the_furniture_follows_front_matter_that_numbering_made_longer(tmp_path, monkeypatch,
                                                                        synthetic):
    """With workers, the furniture is laid out beside the numbered contents for the draft's
    page count; a front matter that numbering moves onto another page gets it laid out again
    (joining it with a furniture of the wrong count would fail)."""
    from topicgen.publish.pdf import document

    real = document.numbered_front

    def longer(html, *args):
        return real(html.replace("</body>", '<p style="break-before: page">More.</p></body>'),
                    *args)

    monkeypatch.setattr(document, "numbered_front", longer)
    with layout.Layout(jobs=2) as parallel:
        pdf = html_to_pdf(book(), tmp_path, None, parallel)
    assert len(reader(pdf).pages) == len(reader(synthetic).pages) + 1


def test_lanes_take_dense_markup_before_svg_heavy_bytes():
    """A figure's path data is drawn apart (stamps), so it must not rank a chapter as long:
    Topic 4's code appendix, a tenth of a chapter's bytes, took longer than any chapter."""
    figure = '<svg viewBox="0 0 9 9"><path d="' + "M1 2L3 4" * 40_000 + '"/></svg>'
    listing = "<pre>" + '<span class="k">def</span> <span class="n">f</span>\n' * 2_000 + "</pre>"
    assert len(figure) > 2 * len(listing)
    assert layout.layout_cost(listing) > layout.layout_cost(figure)


def test_a_wrapped_code_line_continues_right_of_its_own_indent():
    """Printed, a code line too long for the page went on at column 0, where it read as a
    statement of its own; it now goes on four characters right of its own indent."""
    import pypdfium2
    from weasyprint import CSS, HTML

    from conftest import ROOT
    from topicgen.content.render import highlight

    code = "def f():\n    return " + " + ".join(f"term_{i}" for i in range(30)) + "\n"
    css = CSS(string=(ROOT / "templates" / "print.css").read_text("utf-8")
              + ".code { font-family: 'DejaVu Sans Mono'; } @page { size: A6; margin: 1cm }")
    pdf = HTML(string=HEAD + highlight(code, "python") + TAIL).write_pdf(stylesheets=[css])
    page = pypdfium2.PdfDocument(pdf)[0].get_textpage()
    starts: dict[int, float] = {}  # each printed line's top -> its first character's left
    for i in range(page.count_chars()):
        if page.get_text_range(i, 1).strip():
            left, _, _, top = page.get_charbox(i, loose=True)
            starts.setdefault(round(top), left)
    lines = [starts[top] for top in sorted(starts, reverse=True)]
    assert len(lines) >= 3, "the return line must wrap for this test to say anything"
    indent = lines[1] - lines[0]  # "return" is 4 characters right of "def"
    assert indent > 0
    assert all(left == pytest.approx(lines[1] + indent, abs=0.5) for left in lines[2:])


def test_a_figure_with_many_claims_starts_where_its_drawing_fits():
    """Kept whole, a figure with its claims list filled most of a page and left the page
    before it nearly empty. Its drawing and caption stay together; its claims go on over."""
    from weasyprint import CSS, HTML

    from conftest import ROOT

    claims = "".join(f"<li>Claim {i} holds within its tolerance.</li>" for i in range(40))
    figure = ('<figure class="experiment"><div class="figure-art" role="img" aria-label="A">'
              '<svg width="200" height="120"><rect width="200" height="120"/></svg></div>'
              f'<figcaption>Figure 1. A caption.<ul class="claims">{claims}</ul>'
              "</figcaption></figure>")
    css = CSS(string=(ROOT / "templates" / "print.css").read_text("utf-8")
              + "@page { size: A6; margin: 1cm }")
    pdf = HTML(string=HEAD + "<p>One paragraph first.</p>" + figure + TAIL).write_pdf(
        stylesheets=[css])
    pages = texts(reader(pdf))
    assert len(pages) > 1, "the claims must not fit on one page for this test to say anything"
    assert "Figure 1. A caption." in pages[0]  # and its drawing, which comes before it


@pytest.fixture(scope="module")
def handout(topic4_site):
    """(reader, page texts, HTML) of the handout the docs-site build wrote."""
    from pypdf import PdfReader

    built = topic4_site.parent / "topic4"
    result = PdfReader(built / "handout.pdf")
    return result, texts(result), (built / "handout.html").read_text("utf-8")


def words(text: str) -> str:
    return " ".join(text.split())


def part_starts(pages: list[str], html: str) -> list[int]:
    """The page index where each part after the front matter begins: the first page, in
    order, whose first line is the part's first heading."""
    starts = []
    for part in split_parts(html)[1:]:
        heading = re.search(r"<h2\b[^>]*>(.*?)</h2>", part[part.index("<body"):], re.S)
        title = words(unescape(re.sub(r"<[^>]+>", "", heading.group(1))))
        after = starts[-1] + 1 if starts else 0
        starts.append(next(i for i in range(after, len(pages))
                           if words(pages[i].splitlines()[0]) == title))
    return starts


def contents_entries(pages: list[str]) -> list[tuple[str, int]]:
    """(title, page number) of each line of the contents: "1.2  Title . . . . 7"."""
    return [(title, int(page)) for title, page in
            re.findall(r"^(?:[\d.]+  )?(.+?) ?(?:\. ?){3,}(\d+)$", "\n".join(pages), re.M)]


def test_handout_parts_start_new_pages_that_the_contents_and_destinations_name(handout):
    result, pages, html = handout
    starts = part_starts(pages, html)
    assert len(starts) == len(split_parts(html)) - 1 >= 3
    entries = contents_entries(pages[:starts[0]])
    assert len(entries) >= 10
    for title, page in entries:
        assert words(title)[:20] in words(pages[page - 1]), (title, page)
    numbers = {page - 1 for _, page in entries}
    assert set(starts) <= numbers  # the contents names each part's first page
    chapters = re.findall(r'<section class="chapter">\s*<h2 id="([^"]+)"', html)
    assert [result.get_destination_page_number(result.named_destinations[anchor])
            for anchor in chapters] == starts[:len(chapters)]


def test_handout_links_cross_parts_and_every_page_is_numbered(handout):
    result, pages, html = handout
    total = len(pages)
    starts = part_starts(pages, html)
    assert set(starts) <= {target for page in range(starts[0]) for target in links(result, page)}
    chapters = html.count('<section class="chapter">')
    # The last chapter holds the checklist, whose links lead to earlier chapters and the code.
    last = range(starts[chapters - 1], starts[chapters])
    assert {target for page in last for target in links(result, page)} - set(last)
    assert all(f"{k + 1} / {total}" in text for k, text in enumerate(pages))


def test_handout_every_figure_and_formula_is_stamped_on_its_page(topic4_site):
    """Each SVG of the handout is drawn once apart and placed on the page (see pdf/stamps.py)."""
    import pikepdf

    from topicgen.publish.pdf.stamps import lift_svgs

    built = topic4_site.parent / "topic4"
    svgs = lift_svgs((built / "handout.html").read_text("utf-8"))[1]
    placed = 0
    with pikepdf.open(built / "handout.pdf") as result:
        for page in result.pages:
            placed += sum(str(operands[0]).startswith("/TgStamp")
                          for operands, operator in pikepdf.parse_content_stream(page)
                          if str(operator) == "Do")
    assert len(svgs) > 200 and placed == len(svgs)
