"""Experiment figures drawn from results, through the cache: restyling reruns nothing."""

from __future__ import annotations

import functools
from concurrent.futures import Future
from typing import Any

from topicgen import experiments
from topicgen.api import Result
from topicgen.errors import ContentError
from topicgen.experiments.loader import Experiment, last_frame_in, topic_code
from topicgen.pools import WorkerPool
from topicgen.results.cache import ResultCache
from topicgen.results.keys import figure_parts
from topicgen.results.runner import Followup
from topicgen.svg import with_title


class Drawings:
    """The file content of each wanted (run, figure), cached by the run's result key and the
    figure code's sources. A figure is drawn as soon as its run has a result, by a worker
    of the run stage that would otherwise wait for the last experiment (`followups`); what
    is left is drawn at the end, in up to `jobs` processes (`finish`).

    An SVG carries its alt text (what is plotted, read from the drawn figure) as its
    `<title>`, the accessible name screen readers announce.
    """

    def __init__(self, wanted: list[tuple[Any, str]], cache: ResultCache, fmt: str = "svg",
                 dpi: int = 200):
        self.wanted = wanted
        """(run, figure name): a run has `exp`, and once it ran, `result` and `material`."""
        self.cache = cache
        self.fmt, self.dpi = fmt, dpi
        self.files: dict[int, bytes] = {}
        self.failed: dict[int, Exception] = {}
        self.asked: set[int] = set()
        self.early = 0
        """How many the run stage's workers drew while experiments still ran."""

    def followups(self, run: Any) -> list[Followup]:
        """Tasks drawing `run`'s figures that are not cached; the cached ones are read now."""
        tasks = []
        for i, (wanted_run, figure) in enumerate(self.wanted):
            if wanted_run is not run or i in self.asked:
                continue
            self.asked.add(i)
            if (data := self.cache.find(self.key(i), f".{self.fmt}", "figures")) is not None:
                self.files[i] = data
                continue
            tasks.append(Followup(draw, (run.exp, figure, run.result, self.fmt, self.dpi),
                                  functools.partial(self.drawn, i)))
        return tasks

    def drawn(self, i: int, future: Future) -> None:
        try:
            self.keep(i, future.result())
            self.early += 1
        except Exception as error:  # raised by `finish`, after the run stage's own errors
            self.failed[i] = error

    def finish(self, jobs: int) -> list[bytes]:
        """Each wanted figure's file content, those not drawn yet drawn now."""
        if self.failed:
            raise self.failed[min(self.failed)]
        missing = []
        for i in range(len(self.wanted)):
            if i in self.files:
                continue
            # One `followups` looked up and did not find (its task ran nowhere) is missing.
            if i in self.asked or (data := self.cache.find(self.key(i), f".{self.fmt}",
                                                           "figures")) is None:
                missing.append(i)
            else:
                self.files[i] = data
        args = [[self.wanted[i][0].exp for i in missing], [self.wanted[i][1] for i in missing],
                [self.wanted[i][0].result for i in missing], [self.fmt] * len(missing),
                [self.dpi] * len(missing)]
        if len(missing) > 1 and jobs > 1:
            with WorkerPool(min(jobs, len(missing))) as pool:  # each imports matplotlib once
                drawn = list(pool.map(draw, *args))
        else:
            drawn = list(map(draw, *args))
        for i, data in zip(missing, drawn, strict=True):
            self.keep(i, data)
        return [self.files[i] for i in range(len(self.wanted))]

    def key(self, i: int) -> dict[str, Any]:
        run, figure = self.wanted[i]
        return figure_parts(self.cache.key(run.material), run.exp, figure, self.fmt, self.dpi)

    def keep(self, i: int, data: bytes) -> None:
        self.files[i] = data
        self.cache.keep(self.key(i), f".{self.fmt}", data, "figures")


def draw(experiment: Experiment, figure: str, result: Result, fmt: str, dpi: int) -> bytes:
    from topicgen.figures.alt import describe  # matplotlib: only when something is drawn
    from topicgen.figures.style import save

    fig = drawing(experiment, figure, result)
    alt = describe(fig)
    data = save(fig, fmt, dpi)
    return with_title(data.decode("utf-8"), alt).encode("utf-8") if fmt == "svg" else data


def drawing(experiment: Experiment, figure: str, result: Result):
    """The figure's matplotlib Figure; an exception in its code is a ContentError naming the
    line of the figures file where it happened."""
    from matplotlib.figure import Figure

    draw_function = experiments.load_figures(experiment)[figure]
    try:
        with topic_code():
            fig = draw_function(result)
    except (Exception, SystemExit) as error:  # sys.exit() there would end the command
        path, line = last_frame_in(error, experiment.path.parent)
        raise ContentError(f'figure "{figure}" of {experiment.name} failed: '
                           f"{type(error).__name__}: {error}",
                           path or experiment.figures_path, line) from None
    if not isinstance(fig, Figure):
        raise ContentError(f'figure "{figure}" of {experiment.name} returned '
                           f"{type(fig).__name__}, not a matplotlib Figure",
                           experiment.figures_path)
    return fig
