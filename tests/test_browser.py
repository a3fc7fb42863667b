"""The docs site in a real browser: Debian's chromium, driven headless by playwright.

Every page loads from a local server (topicgen's own `serve` handler) with no console error,
no failed or external request, every image and SVG drawn at a real size and no horizontal
scrolling on a 375 px phone. Screenshots land in output/screenshots/ for review.

Accessibility: axe-core (the pinned copy `make setup-dev` installs) finds no WCAG 2.1 A/AA
or best-practice violation on any page, light or dark, wide or 320 px narrow; a keyboard
reaches every control, and sees where it is; nothing moves for a reader who asked for
reduced motion; every figure is named by its data and described by a link to it.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import ROOT
from topicgen.serve import make_server
from topicgen.svg import svg_title

PHONE = {"width": 375, "height": 740}
NARROWEST = {"width": 320, "height": 740}  # WCAG 1.4.10: content reflows down to 320 CSS px
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = ROOT / "output" / "screenshots"
AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Each page as a reader sees it in either colour scheme and on the narrowest screen.
AXE_VIEWS = [("light", "light", DESKTOP), ("dark", "dark", DESKTOP),
             ("320 px", "light", NARROWEST)]
# One page of each template, for the checks that depend on the page's markup and CSS alone.
TEMPLATES = ["index.html", "404.html", "topic4/handout.html", "topic4/report.html",
             "topic4/slides.html", "topic4/gallery.html", "topic4/references.html",
             "topic4/code/gradient_decay.html"]


def chromium_path() -> str:
    path = os.environ.get("TOPICGEN_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if not path:  # a failure, not a skip: CI must run these tests
        pytest.fail("chromium is not installed: run `make setup-dev` (it installs Debian's "
                    "chromium) or set TOPICGEN_CHROMIUM to a Chromium binary")
    return path


@pytest.fixture(scope="module")
def base_url(topic4_site):
    state = {"version": 0}
    httpd = make_server(topic4_site, "127.0.0.1", 0, state)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=["--no-sandbox"])
        yield browser
        browser.close()


class Visit:
    """One page load with everything that went wrong on the way."""

    def __init__(self, browser, url: str, viewport: dict, color_scheme: str = "light",
                 reduced_motion: str = "no-preference"):
        self.context = browser.new_context(viewport=viewport, color_scheme=color_scheme,
                                           reduced_motion=reduced_motion)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.requested: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("requestfailed", lambda request: self.failed.append(request.url))
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.goto(url, wait_until="load")

    def close(self) -> None:
        self.context.close()


def site_pages(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))


def test_every_page_loads_cleanly_and_draws_every_image(browser, base_url, topic4_site):
    host = urlsplit(base_url).netloc
    pages = site_pages(topic4_site)
    assert len(pages) >= 6
    for name in pages:
        visit = Visit(browser, base_url + name, DESKTOP)
        page = visit.page
        assert visit.errors == [], name
        assert visit.failed == [], name
        assert [u for u in visit.requested if urlsplit(u).netloc not in (host, "")] == [], name
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.src, e.naturalWidth, e.getBoundingClientRect().width])")
        assert all(natural > 0 and shown > 0 for _, natural, shown in images), (name, images)
        svgs = page.eval_on_selector_all(  # the slides a deck does not show draw nothing yet
            "svg:not(svg svg, [hidden] svg)", "els => els.map(e => { "
            "const r = e.getBoundingClientRect(); "
            "return [r.width, r.height]; })")
        assert all(w > 0 and h > 0 for w, h in svgs), name
        if name == "topic4/handout.html":
            assert len(svgs) > 200  # every formula and figure, inline
        visit.close()


# Display formulas whose start lies left of their box: centred in a box narrower than
# themselves, they overflowed both ways, and scrolling reaches only the right-hand part.
FORMULAS_CUT_ON_THE_LEFT = """() => [...document.querySelectorAll('.math-display')].filter(
    box => box.querySelector('svg').getBoundingClientRect().left
           < box.getBoundingClientRect().left - 0.5).map(box => box.id)"""


@pytest.mark.parametrize("viewport", [PHONE, NARROWEST], ids=["375 px", "320 px"])
def test_no_page_scrolls_sideways_on_a_phone(browser, base_url, topic4_site, viewport):
    """Long inline formulas, code names and listing paths widened the page to 401 px."""
    urls = [base_url + name for name in site_pages(topic4_site)]
    # The instructor edition too: its solutions hold the widest inline formulas.
    urls.append((topic4_site.parent / "topic4" / "handout.html").as_uri())
    for url in urls:
        visit = Visit(browser, url, viewport)
        width = visit.page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (url, width)
        assert visit.page.evaluate(FORMULAS_CUT_ON_THE_LEFT) == [], url
        visit.close()


def test_search_finds_the_handout_for_forget_gate(browser, base_url):
    visit = Visit(browser, base_url + "index.html", DESKTOP)
    visit.page.fill("#search-input", "forget gate")
    links = visit.page.eval_on_selector_all("#search-results a",
                                            "els => els.map(e => e.getAttribute('href'))")
    assert links and links[0].startswith("topic4/handout.html#")
    visit.page.click("#search-results a >> nth=0")
    visit.page.wait_for_load_state()
    assert visit.page.url.startswith(base_url + "topic4/handout.html#")
    assert visit.errors == []
    visit.close()


def tab_from_the_top(page, most: int = 10) -> None:
    """Tab as a keyboard user who starts at the top: past whatever the page focused on load
    (the deck focuses its slide) and out of the page, so the next Tab is the first stop."""
    for _ in range(most):
        if page.evaluate("document.activeElement === document.body"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"focus stays in the page after {most} presses of Tab")


@pytest.mark.parametrize("name", TEMPLATES)
def test_keyboard_users_can_skip_to_the_content(browser, base_url, name):
    visit = Visit(browser, base_url + name, DESKTOP)
    tab_from_the_top(visit.page)
    visit.page.keyboard.press("Tab")
    assert visit.page.evaluate("document.activeElement.className") == "skip-link"
    visit.page.keyboard.press("Enter")
    visit.page.keyboard.press("Tab")  # the next stop is in the content, past the header's
    assert visit.page.evaluate("""() => { const main = document.getElementById("main"),
        now = document.activeElement;
        return main.contains(now) || Boolean(main.compareDocumentPosition(now)
                                             & Node.DOCUMENT_POSITION_FOLLOWING); }""")
    visit.close()


# The WCAG contrast ratio of two computed CSS colours, "rgb(r, g, b)", in JavaScript.
CONTRAST = """(one, two) => {
    const lum = css => { const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map(v => {
        v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const [a, b] = [lum(one), lum(two)];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def contrast(page, selector: str) -> float:
    """WCAG contrast ratio of the element's text colour against the page background."""
    return page.evaluate(f"""selector => ({CONTRAST})(
        getComputedStyle(document.querySelector(selector)).color,
        getComputedStyle(document.body).backgroundColor)""", selector)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_has_enough_contrast_in_light_and_dark_mode(browser, base_url, scheme):
    visit = Visit(browser, base_url + "topic4/handout.html", DESKTOP, color_scheme=scheme)
    background = visit.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light")
    for selector in ("p", ".byline", "a.xref", ".reproduce"):
        assert contrast(visit.page, selector) >= 4.5, (scheme, selector)
    visit.close()


def test_screenshots_for_review(browser, base_url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, url in (("index", "index.html"), ("handout", "topic4/handout.html")):
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            visit = Visit(browser, base_url + url, viewport)
            path = SCREENSHOTS / f"{name}-{size}.png"
            visit.page.screenshot(path=str(path))
            assert path.stat().st_size > 10_000  # a real page, not a blank one
            visit.close()


# -- accessibility --------------------------------------------------------------------------

def axe_script() -> str:
    if not AXE.is_file():  # a failure, not a skip, as for chromium
        pytest.fail(f"axe-core is not installed in {AXE.parents[1]}: run `make setup-dev` (it "
                    "installs the pinned accessibility checkers with npm ci)")
    return str(AXE)


def axe_violations(page) -> list[str]:
    """'rule at selector: what is wrong' for each element axe-core finds at fault."""
    return page.evaluate("""tags => axe.run(document, {runOnly: {type: "tag", values: tags},
        resultTypes: ["violations"]}).then(result => result.violations.flatMap(rule =>
            rule.nodes.map(node => `${rule.id} at ${node.target.join(" ")}: ${rule.help}`)))""",
                         AXE_TAGS)


def test_axe_finds_no_violation_on_any_page_light_dark_or_narrow(browser, base_url,
                                                                  topic4_site):
    found: list[str] = []
    for name in site_pages(topic4_site):
        visit = Visit(browser, base_url + name, DESKTOP)
        visit.page.add_script_tag(path=axe_script())
        for view, scheme, viewport in AXE_VIEWS:  # one load: axe's own run costs the most
            visit.page.emulate_media(color_scheme=scheme)
            visit.page.set_viewport_size(viewport)
            found += [f"{name} ({view}): {line}" for line in axe_violations(visit.page)]
        visit.close()
    assert not found, f"axe-core ({', '.join(AXE_TAGS)}) found {len(found)}:\n" + "\n".join(found)


# Every element a keyboard should reach, in the order it should reach them, gets its number
# as data-tab-stop: what can take focus and is shown (a skip link parked off-screen is shown).
MARK_TAB_STOPS = """() => {
    const stops = [...document.querySelectorAll(
        "a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex='-1'])")]
        .filter(e => e.checkVisibility({visibilityProperty: true}));
    stops.forEach((e, i) => { e.dataset.tabStop = i; });
    return stops.length;
}"""
FOCUSED = f"""() => {{
    const e = document.activeElement;
    if (e === document.body) return null;
    const style = getComputedStyle(e), box = e.getBoundingClientRect();
    return {{stop: e.dataset.tabStop === undefined ? null : Number(e.dataset.tabStop),
             what: e.outerHTML.slice(0, 100),
             shown: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
                 && box.top < innerHeight && box.left < innerWidth,
             ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2
                 && ({CONTRAST})(style.outlineColor,
                                 getComputedStyle(document.body).backgroundColor) >= 3}};
}}"""


@pytest.mark.parametrize("name", TEMPLATES)
def test_tab_reaches_every_control_in_reading_order_and_rings_it(browser, base_url, name):
    visit = Visit(browser, base_url + name, DESKTOP)
    expected = visit.page.evaluate(MARK_TAB_STOPS)
    tab_from_the_top(visit.page)
    reached = []
    for _ in range(expected + 1):  # one more Tab than stops: focus must then leave the page
        visit.page.keyboard.press("Tab")
        focused = visit.page.evaluate(FOCUSED)
        if focused is None:
            break
        reached.append(focused)
    visit.close()
    assert [f["what"] for f in reached if f["stop"] is None] == [], "hidden or unexpected"
    assert [f["stop"] for f in reached] == list(range(expected))
    # WCAG 2.4.7 and 1.4.11: a ring of 2 px or more, 3:1 against the page.
    assert [f["what"] for f in reached if not (f["shown"] and f["ring"])] == []


MOVING = """() => [...document.querySelectorAll("*")].flatMap(e =>
    [null, "::before", "::after"].map(pseudo => [e, getComputedStyle(e, pseudo), pseudo]))
    .filter(([e, style]) => style.animationName !== "none" || style.scrollBehavior === "smooth"
        || style.transitionDuration.split(",").some(d => parseFloat(d) > 0))
    .map(([e, style, pseudo]) => e.outerHTML.slice(0, 80) + (pseudo || ""))"""


def test_nothing_moves_for_a_reader_who_asked_for_reduced_motion(browser, base_url):
    for name in TEMPLATES:
        visit = Visit(browser, base_url + name, DESKTOP, reduced_motion="reduce")
        assert visit.page.evaluate(MOVING) == [], name
        visit.close()


@pytest.mark.parametrize("name", ["topic4/handout.html", "topic4/report.html",
                                  "topic4/slides.html", "topic4/gallery.html"])
def test_every_figure_is_named_by_its_data_and_described_by_a_link_to_it(browser, base_url,
                                                                        name):
    from playwright.sync_api import expect

    visit = Visit(browser, base_url + name, DESKTOP)
    figures = visit.page.locator("figure.experiment, figure.slide-figure").all()
    assert len(figures) >= 20
    for figure in figures:
        if not figure.is_visible():  # on a slide the deck is not showing: go there
            visit.page.evaluate("id => { location.hash = id; }", figure.get_attribute("id"))
        drawing = figure.locator(":scope > [role=img], :scope > img")
        if drawing.evaluate("e => e.tagName") == "IMG":  # the gallery's: the SVG file
            svg = visit.page.request.get(drawing.evaluate("e => e.src")).text()
        else:
            svg = drawing.locator("svg").first.evaluate("e => e.outerHTML")
        alt = svg_title(svg)
        assert " against " in alt  # what figures.alt reads off the axes, not a caption
        expect(drawing).to_have_accessible_name(alt)
        link = figure.locator("figcaption a[id$='-data']")
        expect(drawing).to_have_accessible_description(link.inner_text())
        target = link.evaluate("e => e.href")
        if "#" in target:  # the report's run: its numbers in tables further down the page
            section = visit.page.locator(f"#{target.split('#')[1]} ~ table")
            assert section.count() >= 1, target
        else:
            data = visit.page.request.get(target)
            assert data.ok and data.text().startswith("series,x_label,x,y_label"), target
    visit.close()


SLIDE_SHOWN = """() => { const shown = [...document.querySelectorAll('.slide')]
    .filter(slide => !slide.hidden); return [shown.length, shown[0].id, shown[0].scrollTop,
    shown[0].scrollHeight - shown[0].clientHeight]; }"""


def test_a_slide_taller_than_the_screen_scrolls_before_the_deck_moves_on(browser, base_url):
    """PageDown, Space and the down arrow went to the next slide at once: a keyboard user
    never saw the end of a slide taller than the screen (the references in a window half a
    laptop's screen high: at 1280 x 900 every slide of Topic 4 fits)."""
    visit = Visit(browser, base_url + "topic4/slides.html#references",
                  {"width": 1280, "height": 400})
    page = visit.page
    page.locator("#references").focus()
    count, shown, top, room = page.evaluate(SLIDE_SHOWN)
    assert (count, shown, top) == (1, "references", 0) and room > 40  # taller than the window
    page.keyboard.press("ArrowDown")
    _, shown, top, _ = page.evaluate(SLIDE_SHOWN)
    assert shown == "references" and abs(top - 40) <= 1  # a line down
    page.keyboard.press("PageDown")
    _, shown, top, _ = page.evaluate(SLIDE_SHOWN)
    assert shown == "references" and abs(top - room) <= 1  # at its end, and not past it
    page.keyboard.press("PageUp")
    _, shown, top, _ = page.evaluate(SLIDE_SHOWN)
    assert shown == "references" and top < room - 1
    page.keyboard.press("PageDown")
    page.keyboard.press(" ")  # at its end: the next slide, from its top
    assert page.evaluate(SLIDE_SHOWN)[1:3] == ["references-2", 0]
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowLeft")  # turns the page whatever the scroll
    assert page.evaluate(SLIDE_SHOWN)[1] not in ("references", "references-2")
    visit.close()


def test_printing_the_deck_prints_every_slide(browser, base_url):
    """The browser's print of slides.html gave one page: the slide on screen and the buttons."""
    visit = Visit(browser, base_url + "topic4/slides.html", DESKTOP)
    visit.page.emulate_media(media="print")
    shown = visit.page.evaluate("""() => [...document.querySelectorAll('.slide')].map(
        slide => getComputedStyle(slide).display !== 'none' && slide.offsetHeight > 0)""")
    assert len(shown) > 20 and all(shown)
    assert visit.page.evaluate(
        "getComputedStyle(document.querySelector('.deck-nav')).display") == "none"
    visit.close()
