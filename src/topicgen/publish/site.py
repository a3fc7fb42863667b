"""The docs site: every topic's handout, PDF and report, a figure gallery with data and code,
references, a 404 page and client-side search, all with relative links.

Relative links make the site work under any sub-path and straight from file://; the search
index is a script (not JSON fetched at run time) for the same reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import logging
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from markupsafe import Markup

from topicgen import experiments, sources
from topicgen.build import claims_failed, publish, stage
from topicgen.config import Config
from topicgen.content.topic import Topic, available_topics, load_topic
from topicgen.errors import TopicgenError, UsageError
from topicgen.experiments.loader import Experiment
from topicgen.files import check_output_folder
from topicgen.freshness import previous_manifest
from topicgen.lock import build_lock
from topicgen.pages import render_page, theme_dir
from topicgen.pages.site import CodeFile, CodePage, GalleryFigure, SitePage, TopicCard

log = logging.getLogger(__name__)

COPIED = ("report.html", "report.pdf", "slides.html", "slides.pdf")
XREF = re.compile(r'(<a\s[^>]*?\bhref=")#')
SECTION = re.compile(r'<h([23]) id="(?P<id>[^"]+)"[^>]*>(?P<title>.*?)</h\1>', re.S)


@dataclass
class SiteSummary:
    out_dir: Path
    pages: list[str]
    seconds: float


def check_base_url(base_url: str | None) -> str | None:
    """`https://host/path/` with the trailing slash, or None; anything else is a usage error."""
    if base_url is None:
        return None
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment or " " in base_url.strip():
        raise UsageError(f'--base-url must be an absolute http(s) address such as '
                         f'https://example.org/course/, got "{base_url}"')
    return base_url.strip().rstrip("/") + "/"


def default_site_dir(config: Config) -> Path:
    return config.project / "output" / "site"


def build_site(config: Config, out_dir: Path, base_url: str | None = None,
               argv: list[str] | None = None) -> SiteSummary:
    """Build every topic's handout (through the caches), then the site around them.

    The site in its default folder builds each topic in the project's output/<topic>, as
    `build handout` does. Anywhere else (`--out`), nothing outside that folder may change
    but the cache: the topics are built in a temporary folder, then copied in."""
    started = time.perf_counter()
    base = check_base_url(base_url)
    check_output_folder(out_dir, config.project)
    slugs = available_topics(config.content_dir)
    if not slugs:
        raise TopicgenError(f"no topics in {config.content_dir}: a topic is a folder there "
                            "with a topic.toml")
    with contextlib.ExitStack() as stack:
        if out_dir.resolve() == default_site_dir(config).resolve():
            topics_dir = config.project / "output"
        else:
            topics_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="topicgen-site-")))
        build_topics(config, slugs, topics_dir, argv)
        with build_lock(config.project / ".topicgen"), stage("site") as note:
            files = site_files(config, slugs, topics_dir, out_dir, base)
            note["text"] = publish(files, out_dir, "manifest.json",
                                   {"argv": argv, "base_url": base, "topics": slugs})
    pages = sorted(str(p.relative_to(out_dir)) for p in files if p.suffix == ".html")
    return SiteSummary(out_dir, pages, time.perf_counter() - started)


def build_topics(config: Config, slugs: list[str], topics_dir: Path,
                 argv: list[str] | None) -> None:
    """Each topic's report and handout in `topics_dir/<slug>`; a failed claim stops the site."""
    from topicgen.publish.report import build_all

    for slug in slugs:
        log.info("topic %s", slug)
        # In the project's output/, as `build handout` sets it: a configuration that named
        # the same folder another way made each build find the other's out of date.
        default = topics_dir == config.project / "output" and config.out is None
        summary, _ = build_all(dataclasses.replace(config, topic=slug,
                                                   out=None if default else topics_dir / slug),
                               argv)
        if summary.failed:
            raise claims_failed(summary.failed, f" in {slug}, so the site was not built (its "
                                                "report marks them)")


def site_files(config: Config, slugs: list[str], topics_dir: Path, out_dir: Path,
               base: str | None) -> dict[Path, bytes | str]:
    topics = [load_topic(config.content_dir, slug) for slug in slugs]
    cards = [topic_card(config, topic, topics_dir / topic.slug) for topic in topics]
    files: dict[Path, bytes | str] = {}
    index: list[dict[str, str]] = []
    page = SitePage(title=config.site_title, site_title=config.site_title, root="",
                    version=version())
    files[out_dir / "index.html"] = render(config, "site_index.html", page, topics=cards)
    files[out_dir / "404.html"] = render(config, "site_404.html", page, title="Page not found",
                                         root=base or "")
    for topic, card in zip(topics, cards, strict=True):
        built = topics_dir / topic.slug
        files.update(topic_files(config, topic, card, built, out_dir / topic.slug, index))
    files[out_dir / "search-index.js"] = ("window.TOPICGEN_SEARCH = "
                                          + json.dumps(index, ensure_ascii=False) + ";\n")
    files[out_dir / "search.js"] = (theme_dir() / "search.js").read_bytes()
    if base:
        files[out_dir / "sitemap.xml"] = sitemap(base, out_dir, files)
    return files


def topic_files(config: Config, topic: Topic, card: TopicCard, built: Path, out: Path,
                index: list[dict[str, str]]) -> dict[Path, bytes | str]:
    """The topic's built files, copied, plus its gallery, references and code pages."""
    manifest = previous_manifest(built)  # what the handout build just wrote, and from what
    wrote = manifest.get("outputs", {})
    names = [name for name in wrote if name.startswith(("figures/", "data/"))]
    names += [name for name in COPIED if (built / name).is_file()]
    files: dict[Path, bytes | str] = {out / name: (built / name).read_bytes() for name in names}
    files.update({out / published: (built / written).read_bytes()
                  for written, published in editions(config, built)})
    for path in [path for path in files if path.suffix == ".html" and path.name != "slides.html"]:
        files[path] = with_way_back(files[path], config.site_title)
    handout = files[out / "handout.html"].decode("utf-8")
    experiment_of = {label: run["experiment"] for run in manifest.get("runs", [])
                     for label in run["figures"]}
    figures = [GalleryFigure(shown["label"], shown["number"],
                             Markup(to_handout(shown["caption"])), shown["alt"],
                             experiment_of[shown["label"]],
                             topic.experiments[experiment_of[shown["label"]]].path.stem)
               for shown in manifest.get("figures", [])]
    page = SitePage(title=f"Figures of {topic.title}", site_title=config.site_title, root="../",
                    version=version(), topic=card)
    for name in sorted({figure.experiment for figure in figures}):
        experiment = topic.experiments[name]
        files[out / "code" / f"{experiment.path.stem}.html"] = render(
            config, "site_code.html", page, title=f"Code of {name}", root="../../",
            code=code_page(experiment))
    files[out / "gallery.html"] = render(config, "site_gallery.html", page, figures=figures)
    files[out / "references.html"] = render(config, "site_references.html", page,
                                            title=f"References of {topic.title}",
                                            references=list(topic.references.values()))
    index += search_entries(handout, f"{topic.slug}/handout.html", f"{topic.label} handout")
    index += [{"title": f"Figure: {figure.label}", "url": f"{topic.slug}/gallery.html#"
               f"{figure.label}", "page": "Figure gallery", "text": plain_text(figure.caption)}
              for figure in figures]
    return files


def editions(config: Config, built: Path) -> list[tuple[str, str]]:
    """(file the topic's build wrote, name on the site) of each handout edition the site
    publishes: the first of config.site_editions as handout.html, others under their name."""
    found = []
    for number, edition in enumerate(config.site_editions):
        written = stem_of(config, edition)
        published = "handout" if number == 0 else f"handout-{edition}"
        found += [(f"{written}{suffix}", f"{published}{suffix}") for suffix in (".html", ".pdf")
                  if (built / f"{written}{suffix}").is_file()]
    return found


SKIP_LINK = b'<a class="skip-link" href="#main">Skip to content</a>\n'


def with_way_back(page: bytes, site_title: str) -> bytes:
    """A handout or report as the site publishes it: after its skip link, links to the
    site's home and the topic's figures, for a reader who arrived from a search (a deck
    keeps its screen to its slides)."""
    nav = (f'<nav class="site-return" aria-label="Site"><a href="../index.html">'
           f"{html.escape(site_title)}</a> · <a href=\"gallery.html\">Figures and data</a>"
           "</nav>\n")
    return page.replace(SKIP_LINK, SKIP_LINK + nav.encode("utf-8"), 1)


def to_handout(caption: str) -> str:
    """A caption's cross-references point into the handout, not into the gallery; its
    formulas' glyphs (<use href="#...">) stay in the page that defines them."""
    return XREF.sub(r"\1handout.html#", caption)


def topic_card(config: Config, topic: Topic, built: Path) -> TopicCard:
    published = dict((name, written) for written, name in editions(config, built))
    if "handout.html" not in published:
        main = stem_of(config, config.site_editions[0])
        raise TopicgenError(f"{built / (main + '.html')} is missing: the handout build of "
                            f"{topic.slug} did not write HTML (is formats set to pdf only?)")
    return TopicCard(topic.slug, topic.title, topic.label, topic.summary,
                     has_pdf="handout.pdf" in published,
                     has_report=(built / "report.html").is_file(),
                     has_slides=(built / "slides.html").is_file(),
                     slides_pdf=(built / "slides.pdf").is_file(),
                     other_editions=list(config.site_editions[1:]))


def stem_of(config: Config, edition: str) -> str:
    from topicgen.publish.handout import stem

    return stem(dataclasses.replace(config, edition=edition))


def code_page(experiment: Experiment) -> CodePage:
    """The experiment's file, its figures file and the topic helpers they import."""
    from topicgen.content.render import highlight

    folder = experiment.path.parent.resolve()
    paths = [experiment.path, *(path for module in (experiment.module, experiment.figures_module)
                                for path in sources.module_closure(module)
                                if path.parent == folder and path != experiment.path)]
    files = [CodeFile(f"content/{experiment.topic}/experiments/{path.name}", path.stem,
                      Markup(highlight(sources.read_source(path), "python")))
             for path in dict.fromkeys(paths)]
    return CodePage(experiment.name, experiments.summary(experiment), files)


def search_entries(page_html: str, url: str, page_name: str) -> list[dict[str, str]]:
    """One entry per h2/h3 section: its title, its anchor and its words."""
    body = page_html[page_html.find("<main"):]
    matches = list(SECTION.finditer(body))
    entries = []
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        text = body[match.end():following.start() if following else len(body)]
        entries.append({"title": plain_text(match["title"]), "url": f"{url}#{match['id']}",
                        "page": page_name, "text": plain_text(text)})
    return entries


def plain_text(fragment: str) -> str:
    """Words only: SVGs (figures and math) and tags removed."""
    text = re.sub(r"<(svg|script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def sitemap(base: str, out_dir: Path, files: dict[Path, bytes | str]) -> str:
    urls = sorted(str(p.relative_to(out_dir)) for p in files
                  if p.suffix == ".html" and p.name != "404.html")
    entries = "".join(f"  <url><loc>{html.escape(base + url)}</loc></url>\n" for url in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}</urlset>\n")


def render(config: Config, template: str, page: SitePage, **fields) -> str:
    from pygments.formatters import HtmlFormatter

    page = dataclasses.replace(page, code_css=Markup(HtmlFormatter(style="default")
                                                     .get_style_defs(".code")), **fields)
    return render_page(config.project, template, page)


def version() -> str:
    return sources.version("topicgen")
