"""The docs site: pages, relative links and anchors, sitemap, 404, search index, serve."""

from __future__ import annotations

import functools
import http.client
import json
import logging
import re
import socket
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT, TOPIC
from topicgen.cli import cli
from topicgen.errors import TopicgenError
from topicgen.serve import VERSION_PATH, make_server, rebuild


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


class Links(HTMLParser):
    """Every href/src and every id of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.headings: list[int] = []
        self.glyphs: list[str] = []  # <use href>: an SVG's reference to a shape it defines

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(v for k, v in attrs if k == "id" and v)
        self.links += [v for k, v in attrs if k in ("href", "src") and v]
        if tag == "use":
            self.glyphs += [v for k, v in attrs if k in ("href", "xlink:href") and v]
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))


@functools.cache
def parse(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text("utf-8"))
    return links


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# -- the real topic's site ---------------------------------------------------------------

def test_the_site_has_every_page_the_issue_names(topic4_site):
    pages = {str(p.relative_to(topic4_site)) for p in html_pages(topic4_site)}
    assert {"index.html", "404.html", "topic4/handout.html", "topic4/gallery.html",
            "topic4/references.html", "topic4/code/gradient_decay.html"} <= pages
    assert (topic4_site / "topic4" / "handout.pdf").read_bytes().startswith(b"%PDF")
    assert not (topic4_site / "sitemap.xml").exists()  # only with --base-url
    index = (topic4_site / "index.html").read_text()
    for link in ("topic4/handout.html", "topic4/handout.pdf", "topic4/gallery.html",
                 "topic4/references.html", "topic4/slides.html", "topic4/slides.pdf"):
        assert f'href="{link}"' in index
    # The site publishes the student edition; the instructor one only where configured.
    assert "Student edition" in (topic4_site / "topic4" / "handout.html").read_text()
    assert not (topic4_site / "topic4" / "handout-instructor.html").exists()
    assert "handout-instructor" not in index


def test_the_handout_and_report_on_the_site_lead_back_to_it(topic4_site):
    """A reader who arrived at the site's handout from a search had only the Back button."""
    way_back = ('<nav class="site-return" aria-label="Site"><a href="../index.html">Lecture '
                'handouts</a> · <a href="gallery.html">Figures and data</a></nav>')
    for name in ("handout.html", "report.html"):
        page = (topic4_site / "topic4" / name).read_text("utf-8")
        assert page.count(way_back) == 1, name
        assert page.index("Skip to content") < page.index(way_back) < page.index('id="main"')
    assert way_back not in (topic4_site.parent / "topic4" / "handout.html").read_text("utf-8")
    assert "site-return" not in (topic4_site / "topic4" / "slides.html").read_text("utf-8")


def test_every_internal_link_and_anchor_resolves(topic4_site):
    checked = 0
    for page in html_pages(topic4_site):
        for link in parse(page).links:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https", "mailto") or link.startswith("data:"):
                continue
            assert not link.startswith("/"), f"{page}: absolute link {link}"
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.is_relative_to(topic4_site.resolve()), f"{page}: {link} leaves"
            assert target.is_file(), f"{page}: broken link {link}"
            if parts.fragment and target.suffix == ".html":
                assert parts.fragment in parse(target).ids, f"{page}: no anchor {link}"
            checked += 1
    assert checked > 100


def test_every_formula_draws_glyphs_of_its_own_page(topic4_site):
    """The gallery's captions pointed their formulas' glyphs into handout.html, which a
    browser does not follow: every formula there drew blank."""
    used = 0
    for page in html_pages(topic4_site):
        links = parse(page)
        for glyph in links.glyphs:
            assert glyph.startswith("#") and glyph[1:] in links.ids, f"{page}: {glyph}"
        used += (page.name == "gallery.html") * len(links.glyphs)
    assert used > 100


def test_only_references_point_outside_the_site(topic4_site):
    """A reference's address is a link (in the handout, its PDF and references.html);
    nothing else leaves the site."""
    linked = 0
    for page in html_pages(topic4_site):
        text = page.read_text("utf-8")
        references = text[text.find('<section class="references"'):]
        for link in parse(page).links:
            if urlsplit(link).scheme in ("http", "https"):
                anchor = f'<a class="url" href="{link}" rel="external">'
                assert anchor in (text if page.name == "references.html" else references), \
                    f"{page}: external {link}"
                linked += page.name == "handout.html"
    assert linked >= 15  # Topic 4 cites twenty papers, nearly all with an address


def test_headings_start_at_h1_and_never_skip_a_level(topic4_site):
    for page in html_pages(topic4_site):
        levels = parse(page).headings
        assert levels[0] == 1, page
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), page


def test_gallery_shows_every_handout_figure_with_data_alt_text_and_code(topic4_site):
    gallery = (topic4_site / "topic4" / "gallery.html").read_text()
    figures = sorted(p.stem for p in (topic4_site / "topic4" / "figures").glob("*.svg"))
    assert len(figures) == 26
    for label in figures:
        assert f'src="figures/{label}.svg"' in gallery
        assert f'href="data/{label}.csv"' in gallery and f'href="data/{label}.json"' in gallery
    alts = re.findall(r'<img src="figures/[^"]+" alt="([^"]*)"', gallery)
    assert len(alts) == 26 and all(" against " in alt for alt in alts)  # read from the data
    assert 'href="code/gradient_decay.html"' in gallery


def test_the_search_index_covers_every_section_of_the_handout(topic4_site):
    script = (topic4_site / "search-index.js").read_text()
    index = json.loads(script.removeprefix("window.TOPICGEN_SEARCH = ").rstrip(";\n"))
    handout = (topic4_site / "topic4" / "handout.html").read_text()
    sections = re.findall(r'<h[23] id="([^"]+)"', handout[handout.index("<main"):])
    urls = {entry["url"] for entry in index}
    assert {f"topic4/handout.html#{s}" for s in sections} <= urls
    assert any("forget gate" in entry["text"].lower() for entry in index)


# -- options and bad input ----------------------------------------------------------------

def test_base_url_adds_a_sitemap_and_absolute_404_links(make_project, tiny_topic):
    project = make_project(tiny_topic)
    result = invoke("build", "site", "--project", str(project), "--profile", "quick",
                    "--cache-dir", str(project / "cache"), "--base-url",
                    "https://example.org/course")
    assert result.exit_code == 0, result.output
    site = project / "output" / "site"
    sitemap = (site / "sitemap.xml").read_text()
    assert f"<loc>https://example.org/course/{TOPIC}/handout.html</loc>" in sitemap
    assert "404.html" not in sitemap
    # GitHub Pages serves 404.html at any depth: only absolute links work there.
    assert 'href="https://example.org/course/index.html"' in (site / "404.html").read_text()


def test_a_failed_claim_stops_the_site_and_names_the_topic(make_project, tiny_topic):
    from conftest import TINY_EXPERIMENT, WRONG_CLAIM

    project = make_project({**tiny_topic, TINY_EXPERIMENT: tiny_topic[TINY_EXPERIMENT]
                            + WRONG_CLAIM})
    result = invoke("build", "site", "--project", str(project), "--profile", "quick",
                    "--cache-dir", str(project / "cache"))
    assert result.exit_code == 1
    assert (f"Error: 1 claim failed in {TOPIC}, so the site was not built (its report marks "
            "them):\n  gradient-decay [deliberately-wrong]") in result.output
    assert not (project / "output" / "site").exists()


def test_site_editions_and_site_title_shape_the_site(make_project, tiny_topic):
    chapter = f"content/{TOPIC}/01-decay.md"
    exercise = "\n````{exercise}\nWhy?\n\n```{solution}\nBecause.\n```\n````\n"
    project = make_project({**tiny_topic, chapter: tiny_topic[chapter] + exercise,
                            "topicgen.toml": 'site_editions = ["student", "instructor"]\n'
                                             'site_title = "Deep Learning & Co"\n'})
    result = invoke("build", "site", "--project", str(project), "--profile", "quick",
                    "--cache-dir", str(project / "cache"))
    assert result.exit_code == 0, result.output
    site = project / "output" / "site"
    student = (site / TOPIC / "handout.html").read_text()
    instructor = (site / TOPIC / "handout-instructor.html").read_text()
    assert "Exercise 1.1" in student and "Because." not in student
    assert "Because." in instructor
    index = (site / "index.html").read_text()
    assert f'href="{TOPIC}/handout-instructor.html">Instructor edition</a>' in index
    assert "<h1>Deep Learning &amp; Co</h1>" in index  # site_title: the course's name
    assert "<title>Deep Learning &amp; Co</title>" in index  # once, not "X · X"
    assert "<title>Figures of " in (site / TOPIC / "gallery.html").read_text()
    assert " · Deep Learning &amp; Co</title>" in (site / TOPIC / "gallery.html").read_text()


def test_a_handout_the_site_just_built_is_up_to_date(make_project, tiny_topic):
    """The site built each topic's handout with --out spelt out and no variant option, so
    `build handout` after `build site` (and the other way round) rebuilt it every time."""
    project = make_project(tiny_topic)
    common = ["--project", str(project), "--profile", "quick", "--cache-dir",
              str(project / "cache")]
    assert invoke("build", "site", *common).exit_code == 0
    again = invoke("build", "handout", "--topic", TOPIC, *common)
    assert again.output.splitlines()[-1].startswith("Up to date: "), again.output


@pytest.mark.parametrize("url", ["example.org", "ftp://example.org/", "https://",
                                 "https://example.org/a b", "https://example.org/?q=1"])
def test_a_malformed_base_url_is_refused_before_anything_runs(url, tmp_path):
    result = invoke("build", "site", "--project", str(tmp_path), "--base-url", url)
    assert result.exit_code == 2
    assert result.output == ("Error: --base-url must be an absolute http(s) address such as "
                             f'https://example.org/course/, got "{url}"\n')


def test_a_site_without_topics_says_where_it_looked(tmp_path):
    (tmp_path / "content").mkdir()
    result = invoke("build", "site", "--project", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == (f"Error: no topics in {tmp_path / 'content'}: a topic is a folder "
                             "there with a topic.toml\n")


def test_the_build_makes_no_network_request(make_project, tiny_topic, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    project = make_project(tiny_topic)
    result = invoke("build", "site", "--project", str(project), "--profile", "quick",
                    "--cache-dir", str(project / "cache"), "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert (project / "output" / "site" / TOPIC / "handout.pdf").is_file()


# -- serve ---------------------------------------------------------------------------------

@pytest.fixture
def server(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body><p>home</p></body></html>")
    (tmp_path / "secret.txt").write_text("outside the site")
    (site / "link").symlink_to(tmp_path / "secret.txt")
    state = {"version": 0}
    httpd = make_server(site, "127.0.0.1", 0, state)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, state
    httpd.shutdown()
    httpd.server_close()


def get(httpd, path: str) -> tuple[int, str]:
    return get_port(httpd.server_port, path)  # sent as written: http.client keeps ".."


def test_serve_adds_the_reload_script_and_reports_the_version(server):
    httpd, state = server
    status, page = get(httpd, "/")
    assert status == 200 and "home" in page and VERSION_PATH in page
    state["version"] = 3
    assert get(httpd, VERSION_PATH) == (200, "3")


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/link",
                                  "/..%2fsecret.txt", "//etc/passwd"])
def test_serve_never_reads_outside_the_site(server, path):
    status, body = get(server[0], path)
    assert status == 404
    assert "outside the site" not in body and "root:" not in body


def test_serve_on_a_busy_port_suggests_another(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(Exception) as caught:
            make_server(tmp_path, "127.0.0.1", port, {"version": 0})
    assert caught.value.message == (f"port {port} on 127.0.0.1 is already in use "
                                    f"(another server?); try --port {port + 1}")


def test_serve_on_an_address_this_machine_lacks_is_a_command_line_error(tmp_path):
    """--host 999.1.1.1 exited 1, as a broken file does; it is the command line's (2)."""
    from topicgen.errors import UsageError

    with pytest.raises(UsageError) as caught:
        make_server(tmp_path, "999.1.1.1", 0, {"version": 0})
    assert caught.value.message.startswith("cannot serve on 999.1.1.1:0: ")
    assert caught.value.message.endswith("; check --host and --port")


class ScriptedRebuilder:
    """Stands in for watch.Rebuilder: answers each build with the next scripted outcome."""

    def __init__(self, *outcomes: tuple[bool, str]):
        self.outcomes = list(outcomes)
        self.changes: list[set[Path] | None] = []

    def build(self, changed=None) -> tuple[bool, str]:
        self.changes.append(changed)
        return self.outcomes.pop(0) if self.outcomes else (True, "built")


def test_a_rebuild_bumps_the_version_only_when_it_succeeds(caplog):
    state = {"version": 0}
    rebuilder = ScriptedRebuilder((True, "built"), (False, "Error: broken chapter"))
    rebuild(rebuilder, {Path("01.md")}, state)
    assert state["version"] == 1
    with caplog.at_level(logging.ERROR):
        rebuild(rebuilder, {Path("01.md")}, state)
    assert state["version"] == 1
    assert "still serving the last good site: Error: broken chapter" in caplog.text


# -- CI publishing -------------------------------------------------------------------------

def workflow(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_the_docs_workflow_builds_the_site_and_deploys_it_to_pages():
    docs = workflow("docs.yml")
    assert docs["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build = docs["jobs"]["build"]["steps"]
    uses = [step.get("uses", "") for step in build]
    assert any(u.startswith("actions/cache@") for u in uses)
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    runs = " ".join(step.get("run", "") for step in build)
    assert "topicgen build site" in runs and "make setup" in runs
    cache = next(step for step in build if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".topicgen/cache"
    deploy = docs["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")


def test_the_test_workflow_runs_exactly_ci_run():
    steps = workflow("tests.yml")["jobs"]["test"]["steps"]
    assert [step["run"] for step in steps if "run" in step] == [".ci/run"]



def test_serve_rebuilds_when_a_watched_file_changes(tmp_path):
    from topicgen.serve import serve

    site, watched = tmp_path / "site", tmp_path / "content"
    site.mkdir()
    watched.mkdir()
    rebuilder, state, ready, stop = ScriptedRebuilder(), {}, threading.Event(), threading.Event()
    thread = threading.Thread(target=serve, daemon=True, kwargs={
        "site": site, "host": "127.0.0.1", "port": 0, "rebuilder": rebuilder,
        "watched": [watched], "ready": ready, "stop": stop, "state": state})
    thread.start()
    assert ready.wait(10) and rebuilder.changes == [None]
    assert get_port(state["port"], VERSION_PATH) == (200, "0")
    time.sleep(0.5)  # the watcher starts in its own thread
    (watched / "01.md").write_text("# changed")
    deadline = time.monotonic() + 20
    while state["version"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert get_port(state["port"], VERSION_PATH) == (200, "1")  # open pages reload
    assert rebuilder.changes[1] == {watched / "01.md"}
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_serve_whose_first_build_fails_raises_its_error(tmp_path):
    from topicgen.serve import serve

    with pytest.raises(TopicgenError) as caught:
        serve(tmp_path, "127.0.0.1", 0, ScriptedRebuilder((False, "Error: bad chapter")), [])
    assert caught.value.message == "bad chapter"


def get_port(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read().decode()
