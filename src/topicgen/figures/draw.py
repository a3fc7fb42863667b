"""One experiment figure drawn from a result, through the cache: restyling reruns nothing."""

from __future__ import annotations

from topicgen import experiments, sources
from topicgen.experiments.result import Result
from topicgen.results.cache import ResultCache
from topicgen.svg import with_title


def figure_bytes(experiment: str, figure: str, result: Result, result_key: str,
                 cache: ResultCache, fmt: str = "svg", dpi: int = 200) -> bytes:
    """The figure's file content; cached by the result's key and the figure code's sources.

    An SVG carries its alt text (what is plotted, read from the drawn figure) as its
    `<title>`, the accessible name screen readers announce.
    """
    parts = {
        "result": result_key,
        "figure": figure,
        "format": fmt,
        "dpi": dpi if fmt == "png" else None,  # svg and pdf are vector: dpi changes nothing
        "code": sources.file_hashes(f"topicgen.figures.{experiments.EXPERIMENTS[experiment]}"),
        "matplotlib": sources.version("matplotlib"),
    }

    def draw() -> bytes:
        from topicgen.figures.alt import describe  # matplotlib: only when something is drawn
        from topicgen.figures.style import save

        fig = experiments.load_figures(experiment).FIGURES[figure](result)
        alt = describe(fig)
        data = save(fig, fmt, dpi)
        return with_title(data.decode("utf-8"), alt).encode("utf-8") if fmt == "svg" else data

    return cache.artifact(parts, f".{fmt}", draw)

