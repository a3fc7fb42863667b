"""A formula's words in the PDF: invisible text, owned by its Formula element, over its box,
read back as the characters they are (see publish/pdf/words)."""

from __future__ import annotations

import io

import pytest

from test_pdf_stamps import sample
from test_pdf_tags import element_text, elements, marked_texts, page_content
from topicgen.publish.pdf.layout import render_part
from topicgen.publish.pdf.part import PX
from topicgen.publish.pdf.stamps import PLACEHOLDER, lift_svgs
from topicgen.publish.pdf.words import Fonts, Words, to_unicode

WORDS = "h_t = tanh (Wh_(t \u2212 1))"
"""The linear form mathra gives the sample's formula."""


@pytest.fixture(scope="module")
def part(tmp_path_factory):
    return render_part(sample(), tmp_path_factory.mktemp("words"))


def test_each_formulas_words_are_invisible_text_its_formula_element_owns(part):
    import pikepdf

    texts = marked_texts(part.pdf)
    with pikepdf.open(io.BytesIO(part.pdf)) as pdf:
        pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages)}
        formulas = [element for element in elements(pdf) if element.S == "/Formula"]
        assert [element_text(formula, texts, pages) for formula in formulas] == [WORDS] * 2
        assert page_content(pdf, pdf.pages[0])[1] == []  # nothing painted untagged
        pdf.pages[0].contents_coalesce()
        content = pdf.pages[0].Contents.read_bytes()
        assert content.count(b"BT 3 Tr ") == 2  # render mode 3: never drawn
        font = pdf.pages[0].Resources.Font.TgWords0
        assert font.Subtype == "/Type3" and "/ToUnicode" in font


def test_the_words_span_the_formulas_box(part):
    import pypdfium2
    import weasyprint

    lifted = lift_svgs(sample())[0]
    x1, _, x2, _ = weasyprint.HTML(string=lifted).render().pages[0].anchors[f"{PLACEHOLDER}0"]
    text_page = pypdfium2.PdfDocument(part.pdf)[0].get_textpage()
    first = text_page.get_text_range().index(WORDS)
    left = text_page.get_charbox(first)[0]
    right = text_page.get_charbox(first + len(WORDS) - 1)[2]
    assert left == pytest.approx(x1 * PX, abs=0.5) and right == pytest.approx(x2 * PX, abs=0.5)


def test_a_sentence_with_formulas_is_copied_in_reading_order(tmp_path):
    """WeasyPrint draws a page's text first and its SVGs after, so a reader that copies
    text in the order it is drawn (PDFium, Chrome's viewer; pypdf) got every formula's words
    at the foot of the page: "In words: the signal reaching from a loss at step has ..."."""
    import pypdf
    import pypdfium2

    from test_pdf_stamps import page
    from topicgen.mathtex import render_math

    a, b, c = (render_math(tex, False) for tex in ("h_1", "T", r"\alpha + 1"))
    body = (f"<p>The signal reaching {a} from a loss at step {b} has been multiplied.</p>"
            f"<p>{c} starts this one, and a display follows:</p>"
            f"<div>{render_math('x^2', True)}</div><p>Last words.</p>")
    data = render_part(page(body), tmp_path).pdf
    expected = ["The signal reaching h_1 from a loss at step T has been multiplied.",
                "α + 1 starts this one, and a display follows:", "x^2", "Last words."]
    for text in (pypdfium2.PdfDocument(data)[0].get_textpage().get_text_range(),
                 pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()):
        assert " ".join(text.split()) == " ".join(expected), text


def test_more_characters_than_one_font_holds_are_read_back_as_written():
    import pikepdf
    import pypdfium2

    # Greek and Cyrillic, then one character outside the BMP (a surrogate pair in UTF-16),
    # alone in the second font.
    text = "".join(chr(code) for code in range(0x391, 0x391 + 280)) + " \U0001d465 = x"
    with pikepdf.new() as pdf:
        page = pdf.add_blank_page(page_size=(600, 100))
        fonts = Fonts(pdf, [text])
        assert len(fonts.fonts) == 2
        words = fonts.operators(Words(text, 0, 10, 10, 5000), [0, 0, 500, 20],
                                (0, 0, 5000, 20), page)
        # As in a WeasyPrint page: CSS px, y down.
        page.Contents = pdf.make_stream(f"q 1 0 0 -1 0 100 cm {words} Q".encode())
        buffer = io.BytesIO()
        pdf.save(buffer)
    assert pypdfium2.PdfDocument(buffer.getvalue())[0].get_textpage().get_text_range() == text


def test_a_cmap_block_holds_at_most_100_characters():
    cmap = to_unicode([chr(0x41 + i) for i in range(250)]).decode()
    assert [int(line.split()[0]) for line in cmap.splitlines() if "beginbfchar" in line] == [
        100, 100, 50]


def test_a_formula_keeps_its_words_in_a_heading_link_table_caption_list_or_display(tmp_path):
    import pikepdf

    from test_pdf_stamps import page
    from topicgen.mathtex import render_math

    words = ["x_1", "y^2", "\u03b1", "\u03b2 + 1", "\u03c3(x)", "\u2016W\u2016", "\u2016W\u2016"]
    heading, link, th, td, caption, item = (render_math(tex, False) for tex in (
        "x_1", "y^2", r"\alpha", r"\beta + 1", r"\sigma(x)", r"\lVert W \rVert"))
    display = render_math(r"\lVert W \rVert", True)
    body = (f"<h2>Heading with {heading}</h2><p>A link <a href='#t'>to {link}</a>.</p>"
            f"<table id='t'><tr><th>{th}</th><td>{td}</td></tr></table>"
            f"<figure><figcaption>Caption {caption}</figcaption></figure>"
            f"<ul><li>item {item}</li></ul><div>{display}</div>")
    data = render_part(page(body), tmp_path).pdf
    texts = marked_texts(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages)}
        assert [element_text(element, texts, pages) for element in elements(pdf)
                if element.S == "/Formula"] == words
