"""Every page topicgen writes is valid HTML by the W3C Nu checker.

The pages of a docs-site build of this repository's content (quick profile): the site's own,
and every page each topic's build wrote (handout editions, report, slides), which the site
copies but for the other editions. The checker is the vnu.jar `make setup-dev` installs,
pinned in tests/a11y/package-lock.json; it runs once over every page, because Java starts
slowly. Its warnings are allowed; its errors are not.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT

VNU = ROOT / "tests" / "a11y" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def vnu_command() -> list[str]:
    java = shutil.which("java")
    if java is None or not VNU.is_file():  # a failure, not a skip: CI must run this test
        pytest.fail("the Nu HTML checker needs java and vnu.jar: run `make setup-dev` (it "
                    "installs a Java runtime where none is on PATH, and vnu.jar with npm ci)")
    return [java, "-jar", str(VNU), "--format", "json", "--exit-zero-always"]


def nu_errors(pages: list[Path], root: Path) -> list[str]:
    """'file:line: message' for each error the checker finds in `pages`."""
    done = subprocess.run([*vnu_command(), *map(str, pages)], capture_output=True, text=True,
                          timeout=300, check=True)
    messages = json.loads(done.stderr)["messages"]  # the checker reports on stderr
    return [f"{Path(unquote(urlsplit(m['url']).path)).relative_to(root)}:"
            f"{m.get('lastLine', '?')}: {m['message']}"
            for m in messages if m["type"] in ("error", "non-document-error")]


def test_every_page_is_valid_html(topic4_site):
    output = topic4_site.parent
    pages = sorted({*topic4_site.rglob("*.html"), *output.glob("*/*.html")})
    assert {"site/index.html", "topic4/handout.html", "topic4/handout-student.html",
            "topic4/report.html", "topic4/slides.html"} \
        <= {str(page.relative_to(output)) for page in pages}
    errors = nu_errors(pages, output)
    assert not errors, f"{len(errors)} errors from the Nu HTML checker:\n" + "\n".join(errors)


def test_the_checker_reports_an_invalid_page(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html>\n<html lang="en"><head><title>t</title></head>\n'
                    '<body><svg xmlns:mathra="urn:mathra:1"></svg></body></html>\n')
    assert nu_errors([page], tmp_path) == ["page.html:3: Attribute “xmlns:mathra” not "
                                           "allowed here."]
