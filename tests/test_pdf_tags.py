"""The tagged PDF (PDF/UA-1): one structure tree across the joined parts, every figure and
formula with its alt text, every piece of content tagged or marked as an artifact.

The structure tree is read with pikepdf; the text inside each tagged piece of content is read
by pdfium (another PDF reader), so a heading's tag is checked against the words it covers.
"""

from __future__ import annotations

import ctypes
import io
import re
from html import unescape

import pytest

from test_pdf import book, reader
from topicgen.publish.pdf import html_to_pdf
from topicgen.publish.pdf.cut import MARKER

PAINTING = frozenset({"Tj", "TJ", "'", '"', "f", "F", "f*", "B", "B*", "b", "b*", "S", "s",
                      "sh", "Do", "BI"})
"""Operators that put something on the page (text, paths, shadings, images, forms)."""


def elements(pdf):
    """Every structure element under the root, in reading order."""
    import pikepdf

    stack = list(reversed(list(pdf.Root.StructTreeRoot.K)))
    while stack:
        element = stack.pop()
        yield element
        stack += reversed([kid for kid in element.get("/K", [])
                           if isinstance(kid, pikepdf.Dictionary)
                           and kid.get("/Type") == "/StructElem"])


def marked_ids(element) -> list[int]:
    """The marked-content ids an element owns itself (ints or marked-content references)."""
    import pikepdf

    kids = element.get("/K", [])
    kids = kids if isinstance(kids, pikepdf.Array) else [kids]
    return [int(kid) if not isinstance(kid, pikepdf.Dictionary) else int(kid.MCID)
            for kid in kids
            if not isinstance(kid, pikepdf.Dictionary) or "/MCID" in kid]


def page_content(pdf, page) -> tuple[set[int], list[str]]:
    """The marked-content ids on `page`, and the painting operators outside any marked
    content (untagged content, which PDF/UA forbids)."""
    import pikepdf

    ids, untagged, depth = set(), [], 0
    for operands, operator in pikepdf.parse_content_stream(page):
        name = str(operator)
        if name in ("BDC", "BMC"):
            depth += 1
            if name == "BDC" and isinstance(operands[1], pikepdf.Dictionary) \
                    and "/MCID" in operands[1]:
                ids.add(int(operands[1].MCID))
        elif name == "EMC":
            depth -= 1
        elif name in PAINTING and depth == 0:
            untagged.append(name)
    return ids, untagged


def marked_texts(data: bytes) -> list[dict[int, str]]:
    """Per page: marked-content id -> the text pdfium reads inside it."""
    import pypdfium2
    import pypdfium2.raw as pdfium

    document = pypdfium2.PdfDocument(data)
    found = []
    for page in document:
        texts: dict[int, str] = {}
        text_page = page.get_textpage()
        for index in range(pdfium.FPDFPage_CountObjects(page.raw)):
            thing = pdfium.FPDFPage_GetObject(page.raw, index)
            mcid = pdfium.FPDFPageObj_GetMarkedContentID(thing)
            if mcid < 0 or pdfium.FPDFPageObj_GetType(thing) != pdfium.FPDF_PAGEOBJ_TEXT:
                continue
            size = pdfium.FPDFTextObj_GetText(thing, text_page.raw, None, 0)
            buffer = ctypes.create_string_buffer(size)
            pdfium.FPDFTextObj_GetText(thing, text_page.raw,
                                       ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), size)
            # One text object per line: a heading that wraps is two.
            line = buffer.raw.decode("utf-16-le").rstrip("\0")
            texts[mcid] = f"{texts[mcid]} {line}" if mcid in texts else line
        found.append(texts)
    document.close()
    return found


def element_text(element, texts: list[dict[int, str]], page_index: dict) -> str:
    """The words a structure element covers, its descendants' included."""
    import pikepdf

    words = []
    stack = [element]
    while stack:
        current = stack.pop(0)
        page = page_index.get(current.Pg.objgen) if "/Pg" in current else None
        if page is not None:
            words += [texts[page].get(mcid, "") for mcid in marked_ids(current)]
        kids = current.get("/K", [])
        stack[0:0] = [kid for kid in (kids if isinstance(kids, pikepdf.Array) else [kids])
                      if isinstance(kid, pikepdf.Dictionary)
                      and kid.get("/Type") == "/StructElem"]
    # WeasyPrint marks each line apart, and a line that wraps at a space drops the space.
    return " ".join(" ".join(words).split())


def check_structure(data: bytes) -> None:
    """What makes the structure tree one valid tree over the joined pages: every tagged piece
    of content is found from its page through the parent tree, and the element found owns
    it; every element's page is a page of this PDF; nothing is painted untagged; every link
    annotation belongs to a Link element that refers to it."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert pdf.Root.MarkInfo.Marked is True and str(pdf.Root.Lang) == "en"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert b"pdfuaid:part" in pdf.Root.Metadata.read_bytes()
        parent_tree = pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree)
        pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages)}
        owned: dict[tuple[int, int], tuple] = {}
        for element in elements(pdf):
            for mcid in marked_ids(element):
                owned[pages[element.Pg.objgen], mcid] = element.objgen
        keys = set()
        for number, page in enumerate(pdf.pages):
            ids, untagged = page_content(pdf, page)
            assert untagged == [], f"page {number + 1}: painted untagged: {untagged[:5]}"
            key = int(page.obj.StructParents)
            assert key not in keys
            keys.add(key)
            owners = parent_tree[key]
            for mcid in ids:
                assert owned.get((number, mcid)) == owners[mcid].objgen, (number, mcid)
            for annotation in page.obj.get("/Annots", []):
                key = int(annotation.StructParent)
                assert key not in keys
                keys.add(key)
                link = parent_tree[key]
                assert link.S == "/Link"
                assert any(isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR"
                           and kid.Obj.objgen == annotation.objgen for kid in link.K)
        assert len(owned) == sum(len(page_content(pdf, page)[0]) for page in pdf.pages)
        assert int(pdf.Root.StructTreeRoot.ParentTreeNextKey) > max(keys)


def two_parts_with_tables() -> str:
    table = ("<table><thead><tr><th>run</th><th>norm</th></tr></thead>"
             "<tbody><tr><td>a</td><td>1</td></tr></tbody></table>")
    dangling = '<p><a href="#nowhere">A dangling link</a></p>'
    html = book().replace("</section>", table + "</section>").replace(
        "</section>", dangling + "</section>", 1)
    assert html.count(table) == 2 and html.count(MARKER) == 2 and dangling in html
    return html


@pytest.fixture(scope="module")
def synthetic_tagged(tmp_path_factory) -> bytes:
    return html_to_pdf(two_parts_with_tables(), tmp_path_factory.mktemp("tagged"))


def test_joined_parts_have_one_structure_tree(synthetic_tagged):
    import pikepdf

    check_structure(synthetic_tagged)
    with pikepdf.open(io.BytesIO(synthetic_tagged)) as pdf:
        assert len(pdf.Root.StructTreeRoot.K) == 1
        kinds = [str(element.S) for element in elements(pdf)]
        assert kinds[0] == "/Document" and kinds.count("/Document") == 1
        texts = marked_texts(synthetic_tagged)
        pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages)}
        headings = [element_text(element, texts, pages) for element in elements(pdf)
                    if element.S in ("/H1", "/H2")]
        assert headings == ["Synthetic book", "Alpha heading", "Beta heading"]
        # Each part's table names its header cells; the names stay unique once joined.
        ids = [str(element.ID) for element in elements(pdf) if "/ID" in element]
        assert len(ids) == 4 and len(set(ids)) == 4
        for cell in (element for element in elements(pdf) if element.S == "/TD"):
            assert {str(h) for h in cell.A.Headers} <= set(ids)


def test_a_link_into_another_part_is_a_tagged_link_and_a_dangling_one_goes_nowhere(
        synthetic_tagged):
    import pikepdf

    result = reader(synthetic_tagged)
    with pikepdf.open(io.BytesIO(synthetic_tagged)) as pdf:
        annotations = [annotation for page in pdf.pages
                       for annotation in page.obj.get("/Annots", [])]
        last_page = [str(a.Dest) for a in pdf.pages[-1].obj.Annots]
        dangling = [a for a in annotations if "/Dest" not in a]
        said = [str(a.Contents) for a in pdf.pages[-1].obj.Annots]
    assert last_page == ["a"]  # "the alpha part", in the second part, leads into the first
    # A screen reader announces a link by its words, not by its target's id ("a").
    assert said == ["the alpha part"]
    assert len(dangling) == 1 and str(dangling[0].Contents) == "A dangling link"
    assert set(result.named_destinations) == {"a", "b"}


def test_every_figure_and_formula_of_the_handout_has_its_alt_text(topic4_site):
    import pikepdf

    built = topic4_site.parent / "topic4"
    data = (built / "handout.pdf").read_bytes()
    html = (built / "handout.html").read_text("utf-8")
    check_structure(data)
    # Each SVG of the page, in reading order: a formula (typeset by mathra) or a figure,
    # and the words its <title> gives a browser's screen reader.
    svgs = [("/Formula" if "data-mathra-version=" in start else "/Figure",
             " ".join(unescape(title).split()))
            for start, title in re.findall(r"(<svg\b[^>]*>)\s*<title\b[^>]*>(.*?)</title>",
                                           html, re.S)]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        tagged = [(str(element.S), str(element.get("/Alt", ""))) for element in elements(pdf)
                  if element.S in ("/Figure", "/Formula")]
    assert tagged == svgs
    assert all(alt.strip() for _, alt in tagged)
    kinds = [kind for kind, _ in tagged]
    assert kinds.count("/Formula") > 200 and kinds.count("/Figure") == html.count("<figure ")


def test_the_handout_pdf_names_its_title_and_authors(topic4_site):
    """The byline printed the authors, but the PDF's document information had none."""
    import pikepdf

    from conftest import ROOT
    from topicgen.content.topic import read_toml

    topic = read_toml(ROOT / "content" / "topic4" / "topic.toml")
    with pikepdf.open(topic4_site.parent / "topic4" / "handout.pdf") as pdf:
        info = {key: str(value) for key, value in pdf.docinfo.items()}
    assert info["/Author"] == ", ".join(topic["authors"])
    assert info["/Title"].endswith(topic["title"])


def test_handout_headings_are_tagged_with_their_words_as_the_contents_page_lists_them(
        topic4_site):
    import pikepdf

    built = topic4_site.parent / "topic4"
    data = (built / "handout.pdf").read_bytes()
    html = (built / "handout.html").read_text("utf-8")
    toc = html[html.index('<nav class="toc"'):html.index("</nav>")]
    listed = [" ".join(unescape(re.sub(r"<[^>]+>", "", entry)).split())
              for entry in re.findall(r"<li\b[^>]*>(.*?)</li>", toc, re.S)]
    texts = marked_texts(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages)}
        headings = [element_text(element, texts, pages) for element in elements(pdf)
                    if element.S in ("/H2", "/H3")]
    assert headings[0] == "Contents"
    assert [heading for heading in headings if heading in listed] == listed
