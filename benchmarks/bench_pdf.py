"""Print how long laying out Topic 4's handout PDF takes from nothing, and how big it is.

    .venv/bin/python benchmarks/bench_pdf.py [--profile quick|full] [--repeat N]

Builds the handout's HTML first (`topicgen build handout --format html`, results from the
project's cache), then times `html_to_pdf` with no cache at all, so every part, figure and
formula is laid out, drawn, tagged and joined: with one process and with two (workers forked
from a server that has WeasyPrint loaded, started beforehand as a build starts it while it
renders the HTML). Prints the
median wall time and this process's CPU time of N runs each, the PDF's size, and the size
of its structure tree (elements, figures, formulas).
"""

from __future__ import annotations

import argparse
import collections
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "full"), default="full")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from topicgen.pages import render_template
    from topicgen.pools import PDF_PRELOAD, start_server
    from topicgen.publish.pdf import Layout, html_to_pdf

    start_server(PDF_PRELOAD)

    with tempfile.TemporaryDirectory() as out:
        subprocess.run([str(Path(sys.executable).parent / "topicgen"), "-q", "build", "handout",
                        "--project", str(ROOT), "--profile", args.profile, "--format", "html",
                        "--out", out], check=True, stdout=subprocess.DEVNULL)
        html = (Path(out) / "handout.html").read_text("utf-8")
    styles = render_template(ROOT, "pdf.css")
    pdf = b""
    for jobs in (1, 2):
        walls, cpus = [], []
        for _ in range(args.repeat):
            with Layout(jobs) as layout:
                wall, cpu = time.perf_counter(), time.process_time()
                pdf = html_to_pdf(html, ROOT, None, layout, styles)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
        print(f"handout.pdf from nothing, --jobs {jobs}: {statistics.median(walls):.2f} s wall"
              f" (this process's CPU {statistics.median(cpus):.2f} s; median of {args.repeat})")
    print(f"handout.pdf: {len(pdf) / 1e6:.2f} MB; structure tree: {structure(pdf)}")


def structure(pdf: bytes) -> str:
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        kinds: collections.Counter = collections.Counter()
        stack = list(document.Root.StructTreeRoot.K)
        while stack:
            element = stack.pop()
            kinds[str(element.S)[1:]] += 1
            stack += [kid for kid in element.get("/K", []) if isinstance(kid, pikepdf.Dictionary)
                      and kid.get("/Type") == "/StructElem"]
    return (f"{sum(kinds.values())} elements, {kinds['Figure']} figures, "
            f"{kinds['Formula']} formulas, {sum(kinds[f'H{n}'] for n in range(1, 7))} headings")


if __name__ == "__main__":
    main()
