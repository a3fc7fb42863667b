"""Each topic's planted-bugs.json lists exactly the planted-bug tests, with what catches each.

The tests marked planted_bug pass only when their bug fails a claim of the stated kind, so a
green suite vouches for the file; these tests make sure the file says what the suite does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

from conftest import PLANTED_BUGS_FILE, ROOT

PLANTED_BUG_TESTS = ("test_mutations_*.py", "test_exp_*.py")  # as the Makefile's


def test_every_topic_lists_its_planted_bugs_as_the_tests_plant_them(tmp_path):
    tests = sorted(str(path.relative_to(ROOT)) for pattern in PLANTED_BUG_TESTS
                   for path in (ROOT / "tests").glob(pattern))
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                    "no:cacheprovider", "--write-planted-bugs", str(tmp_path), *tests],
                   cwd=ROOT, check=True, capture_output=True)
    written = sorted(p.parent.name for p in tmp_path.glob(f"*/{PLANTED_BUGS_FILE}"))
    assert written == ["init-scale", "topic4"]
    for topic in written:
        committed = (ROOT / "content" / topic / PLANTED_BUGS_FILE).read_text("utf-8")
        assert (tmp_path / topic / PLANTED_BUGS_FILE).read_text("utf-8") == committed, (
            f"content/{topic}/{PLANTED_BUGS_FILE} is stale: run make planted-bugs")


def test_the_readme_quotes_the_mutation_score_of_the_files():
    def score(topic: str) -> Counter:
        bugs = json.loads((ROOT / "content" / topic / PLANTED_BUGS_FILE).read_text("utf-8"))
        return Counter(bug["caught_by"] for bug in bugs["bugs"])

    readme = " ".join((ROOT / "README.md").read_text("utf-8").split())
    topic4, init_scale = score("topic4"), score("init-scale")
    quoted = re.search(r"in Topic 4, (\d+) of (\d+) planted bugs fail an evidence claim "
                       r"\(in init-scale, (\d+) of (\d+)\); (\d+) more fail only a sanity claim",
                       readme)
    assert quoted, "README's mutation score sentence changed: update this test"
    assert [int(n) for n in quoted.groups()] == [
        topic4["evidence"], topic4.total(), init_scale["evidence"], init_scale.total(),
        topic4["sanity"]]
