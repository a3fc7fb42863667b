"""What in a page would make a browser fetch something from another host.

A handout is read offline: its styles, fonts, formulas and figures are inlined. A project's
template overrides arrive with the content, in a pull request like a chapter, and could add a
remote image, stylesheet or script (a tracker, or a page that breaks offline), so a page
built with overrides is read the way a browser reads it: entities and CSS escapes decoded,
whatever Jinja computed already filled in.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

SCHEME = re.compile(r"\s*(?:[a-z][a-z0-9+.-]*:|//)", re.I)
"""An address that leaves the page's folder: with a scheme, or protocol-relative."""
FETCHING = {"src", "srcset", "poster", "background", "data", "formaction"}
"""Attributes whose address the browser fetches, on any element."""
FETCHED_HREF = {"link", "image", "use", "feimage", "script"}
"""Elements whose href (or xlink:href) is fetched, not followed."""
CSS_ESCAPE = re.compile(r"\\([0-9a-f]{1,6})\s?|\\(.)", re.I | re.S)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
SCRIPT_ADDRESS = re.compile(r"""["'`]\s*((?:https?:|wss?:)?//[^"'`\s]+)""", re.I)
"""A remote address written in a script (which could fetch it)."""
CSS_FETCH = re.compile(r"@import\b|(?:url|image-set|image)\(\s*(?P<args>[^)]*)\)", re.I)


def remote(address: str) -> bool:
    """Whether fetching `address` leaves the machine: a scheme other than data:."""
    address = address.strip()
    return bool(SCHEME.match(address)) and not address.lower().startswith("data:")


def css_fetch(css: str) -> str:
    """The first remote address (or @import) in a stylesheet, as the browser decodes it."""
    decoded = CSS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2),
                             CSS_COMMENT.sub("", css))
    for found in CSS_FETCH.finditer(decoded):
        if found.group(0).lower().startswith("@import"):
            return "@import"
        for argument in re.split(r"[\s,]+", found.group("args")):
            address = argument.strip("'\"")
            if address and remote(address):
                return address
    return ""


class Fetches(HTMLParser):
    """The first thing a page would fetch from elsewhere: (what, address)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: tuple[str, str] | None = None
        self.inside = ""  # "style" or "script": whose text is being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = tag if tag in ("style", "script") else ""
        for name, value in attrs:
            if self.found or value is None:
                continue
            addresses = [part.split()[0] for part in value.split(",") if part.split()] \
                if name == "srcset" else [value]
            fetched = name in FETCHING or (name in ("href", "xlink:href")
                                           and tag in FETCHED_HREF)
            if fetched and any(remote(address) for address in addresses):
                self.found = (f"<{tag} {name}>", value)
            elif name == "style" and (address := css_fetch(value)):
                self.found = (f"<{tag} style>", address)
            elif tag == "meta" and name == "content" and (dict(attrs).get("http-equiv") or
                                                           "").lower() == "refresh" \
                    and remote(value.lower().partition("url=")[2]):
                self.found = ("<meta refresh>", value)

    def handle_endtag(self, tag: str) -> None:
        self.inside = ""

    def handle_data(self, data: str) -> None:
        if self.found:
            return
        if self.inside == "style" and (address := css_fetch(data)):
            self.found = ("a stylesheet", address)
        elif self.inside == "script" and (written := SCRIPT_ADDRESS.search(data)):
            self.found = ("a script", written.group(1))


def page_fetch(page: str) -> tuple[str, str] | None:
    """(what, address) of the first remote fetch in `page`, or None."""
    parser = Fetches()
    parser.feed(page)
    parser.close()
    return parser.found


def where_written(templates: Path, address: str) -> tuple[Path, int | None]:
    """The override file (and line) that holds `address` as written, else the folder."""
    for path in sorted(templates.rglob("*")):
        if path.is_file():
            text = path.read_text("utf-8", errors="replace")
            if address in text:
                return path, text.count("\n", 0, text.index(address)) + 1
    return templates, None
