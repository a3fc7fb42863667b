"""The docs site in a real browser: Debian's chromium, driven headless by playwright.

Every page loads from a local server (topicgen's own `serve` handler) with no console error,
no failed or external request, every image and SVG drawn at a real size and no horizontal
scrolling on a 375 px phone. Screenshots land in output/screenshots/ for review.
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

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = ROOT / "output" / "screenshots"


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

    def __init__(self, browser, url: str, viewport: dict, color_scheme: str = "light"):
        self.context = browser.new_context(viewport=viewport, color_scheme=color_scheme)
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
        svgs = page.eval_on_selector_all(
            "svg:not(svg svg)", "els => els.map(e => { const r = e.getBoundingClientRect(); "
            "return [r.width, r.height]; })")
        assert all(w > 0 and h > 0 for w, h in svgs), name
        if name == "topic4/handout.html":
            assert len(svgs) > 200  # every formula and figure, inline
        visit.close()


def test_no_page_scrolls_sideways_on_a_phone(browser, base_url, topic4_site):
    for name in site_pages(topic4_site):
        visit = Visit(browser, base_url + name, PHONE)
        width = visit.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (name, width)
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


def test_keyboard_users_can_skip_to_the_content(browser, base_url):
    visit = Visit(browser, base_url + "index.html", DESKTOP)
    visit.page.keyboard.press("Tab")
    assert visit.page.evaluate("document.activeElement.className") == "skip-link"
    visit.page.keyboard.press("Enter")
    assert visit.page.url.endswith("#main")
    visit.close()


def contrast(page, selector: str) -> float:
    """WCAG contrast ratio of the element's text colour against the page background."""
    return page.evaluate("""selector => {
        const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
        const lum = c => { const [r, g, b] = c.map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const text = lum(rgb(getComputedStyle(document.querySelector(selector)).color));
        const back = lum(rgb(getComputedStyle(document.body).backgroundColor));
        return (Math.max(text, back) + 0.05) / (Math.min(text, back) + 0.05);
    }""", selector)


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
