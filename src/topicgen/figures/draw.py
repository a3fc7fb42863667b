"""Experiment figures drawn from results, through the cache: restyling reruns nothing."""

from __future__ import annotations

from topicgen import experiments
from topicgen.api import Result
from topicgen.errors import ContentError
from topicgen.experiments.loader import Experiment, last_frame_in
from topicgen.pools import WorkerPool
from topicgen.results.cache import ResultCache
from topicgen.results.keys import figure_parts
from topicgen.svg import with_title


def figures_bytes(wanted: list[tuple[Experiment, str, Result, str]], cache: ResultCache, jobs: int,
                  fmt: str = "svg", dpi: int = 200) -> list[bytes]:
    """The file content of each (experiment, figure, result, result key), cached by the
    result's key and the figure code's sources; those not cached are drawn in `jobs` processes.

    An SVG carries its alt text (what is plotted, read from the drawn figure) as its
    `<title>`, the accessible name screen readers announce.
    """
    keys = [figure_parts(result_key, experiment, figure, fmt, dpi)
            for experiment, figure, _, result_key in wanted]
    found = [cache.find(parts, f".{fmt}", "figures") for parts in keys]
    missing = [i for i, data in enumerate(found) if data is None]
    args = [[wanted[i][0] for i in missing], [wanted[i][1] for i in missing],
            [wanted[i][2] for i in missing], [fmt] * len(missing), [dpi] * len(missing)]
    if len(missing) > 1 and jobs > 1:
        with WorkerPool(min(jobs, len(missing))) as pool:  # each imports matplotlib once
            drawn = list(pool.map(draw, *args))
    else:
        drawn = list(map(draw, *args))
    for i, data in zip(missing, drawn, strict=True):
        found[i] = data
        cache.keep(keys[i], f".{fmt}", data, "figures")
    return found


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
