"""The report's figures, in the manner of *The Illusion of Thinking*, as inline SVG (matplotlib,
text as text so the page stays small; no script, no web font).

Per task: accuracy against size, the paper's reading (anything not complete is a failure), and
beside it the same trials read by longhaul, the outcome mix as stacked bars, so a "collapse" shows
whether it is can't-do, won't-do or the token limit; output and thinking tokens against size,
with the request budget and the tokens a complete answer needs; the first wrong item against size
(median and quartiles); and, where the run searched for it, each model's collapse size with its
interval. Panels go by strategy (the mix: by model and strategy), lines by model. Every figure's
title says how many trials it rests on.

Every share and median is over a cell's verdicts: a cell whose trials all met provider errors has
no point (a gap in its line), and the mix shows provider errors as a grey count above the bar.

matplotlib is imported when the first figure is drawn, not with this module: a report that draws
none (every task of one size) never loads it.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from longhaul.outcome_style import colour
from longhaul.report.results import CellResult, outcome_name
from longhaul.search import SearchResult
from longhaul.shorten import distinct
from longhaul.verdict import VERDICTS, Outcome

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

# The figures' look, applied only while one is drawn (rc_context): importing or drawing never
# changes the rcParams or the backend of a program that uses matplotlib itself. Figures are made
# with the object-oriented API and saved through the SVG canvas: no pyplot, no display, ever.
_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
}

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _styled(draw: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(draw)
    def styled(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return styled


NAME_CHARS = 44
"""A legend's model name longer than this is shortened in the middle (the tables give it whole)."""


def short_names(models: list[str], width: int = NAME_CHARS) -> dict[str, str]:
    """Each model's name for a legend: shortened in the middle to `width`, kept distinct
    (`longhaul.shorten.distinct`: sim parameters and dated versions differ at the end)."""
    return distinct(models, width)


def label(model: str, simulated: bool, names: dict[str, str] | None = None) -> str:
    """A model's name for a figure: shortened in the middle as `names` says (whole without it)."""
    name = (names or {}).get(model, model)
    return f"{name} (sim)" if simulated else name


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    return fig


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    # bbox_inches="tight" measures every text as drawn and grows or trims the canvas to hold it: no
    # label is cut by the figure's edge, whatever the model names. It draws the figure twice.
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.08)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _series(cells: list[CellResult]) -> tuple[list[str], list[str], dict[tuple[str, str], list[CellResult]]]:
    strategies = sorted({c.strategy for c in cells}, key=lambda s: (s != "direct", s))
    models = sorted({c.model for c in cells})
    series: dict[tuple[str, str], list[CellResult]] = defaultdict(list)
    for c in sorted(cells, key=lambda c: c.size):
        series[(c.model, c.strategy)].append(c)
    return strategies, models, series


COLUMNS = 3
"""Panels a row: a figure of more strategies wraps onto further rows, so a panel keeps its size."""
PANEL = (3.6, 2.5)
"""A panel's width and height in inches: at the page's width three fit side by side unscaled."""
LEGEND_WIDTH = 2.6
"""Inches beside the collapse figure's rows for their labels."""


def _panels(n: int) -> tuple[Figure, list[Axes]]:
    """A grid of `n` panels, `COLUMNS` a row, sharing the y axis, with room below for the legend
    (placed by `_legend`, outside every panel)."""
    cols, rows = min(n, COLUMNS), -(-n // COLUMNS)
    pw, ph = PANEL
    width, height = 0.8 + pw * cols, 0.75 + (ph + 0.55) * rows
    fig = _figure(width, height)
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    fig.subplots_adjust(left=0.8 / width, right=0.98, top=1 - 0.75 / height, bottom=0.5 / height, wspace=0.12, hspace=0.55 / ph + 0.1)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _legend(fig: Figure, axes: list[Axes]) -> None:
    """One legend for the figure, below its panels (never over the data), in as many columns as
    its longest entry lets fit the figure's width."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(text, handle)
    if not seen:
        return
    entry = 0.6 + 0.075 * max(len(t) for t in seen)  # inches: the handle and the text at 8 points
    ncol = max(1, min(len(seen), int(fig.get_figwidth() // entry)))
    fig.legend(list(seen.values()), list(seen), loc="upper left", bbox_to_anchor=(0.8 / fig.get_figwidth(), 0), ncol=ncol, fontsize=8)


def _title(fig: Figure, text: str, basis: str) -> None:
    """The title, and under it what the figure rests on (its own line: a long title is cut by the figure's edge)."""
    fig.text(0.005, 0.995, text, ha="left", va="top", fontsize=10, fontweight="bold")
    fig.text(0.005, 0.995 - 0.2 / fig.get_figheight(), basis, ha="left", va="top", fontsize=8, color="#444")


def _integer_sizes(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def rests_on(cells: list[CellResult]) -> str:
    """What a figure of these cells rests on: "n = 40 trials (38 with a verdict)"."""
    trials, verdicts = sum(c.trials for c in cells), sum(c.verdicts for c in cells)
    return f"n = {trials:,} trials" + ("" if verdicts == trials else f" ({verdicts:,} with a verdict)")


def _model_colours(models: list[str]) -> dict[str, str]:
    import matplotlib

    # Colormap has no `colors` in the stubs (only ListedColormap, typed too widely to index); tab10's
    # is a list of RGB tuples.
    palette = matplotlib.colormaps["tab10"].colors  # type: ignore[attr-defined]
    return {m: palette[i % len(palette)] for i, m in enumerate(models)}


def complete_point(c: CellResult) -> tuple[float, float, float]:
    """The complete share over the cell's verdicts and its interval; NaN (a gap in the line, not
    a fall to 0) when the cell has none."""
    s = c.outcomes["complete"]
    if s.share is None:
        return math.nan, math.nan, math.nan
    return s.share, s.low or 0.0, s.high or 0.0


def mix_bar(c: CellResult) -> list[tuple[Outcome, float]]:
    """The cell's stacked bar: each model outcome's share of its verdicts (provider errors are
    not in it; the figure writes their count above it)."""
    return [(o, c.outcomes[o].share or 0.0) for o in VERDICTS if c.outcomes[o].share]


def _or_nan(x: float | None) -> float:
    return math.nan if x is None else x


MARKERS = "osD^vPX*<>"
"""A marker shape per model: where lines coincide the points still say whose they are."""


def _dodge(models: list[str], cells: list[CellResult]) -> dict[str, float]:
    """A small shift along x per model (a few percent of the closest two sizes' gap), so lines
    that coincide (every model complete at every size) lie side by side, not one over the rest."""
    sizes = sorted({c.size for c in cells})
    gap = min((b - a for a, b in itertools.pairwise(sizes)), default=1)
    step = 0.05 * gap / max(1, len(models) - 1) if len(models) > 1 else 0.0
    return {m: (i - (len(models) - 1) / 2) * step for i, m in enumerate(models)}


def _line(ax: Axes, xs: list[float], ys: list[float], i: int, colour_: Any, text: str, n: int) -> None:
    """A model's line, above every band (zorder) and with its own marker on each point; the `n`
    models' lines before it are drawn wider, so lines that coincide show as nested stripes, none hidden."""
    width = 1.3 + 0.5 * (n - 1 - i)
    marker = MARKERS[i % len(MARKERS)]
    ax.plot(xs, ys, marker=marker, ms=4.5, mec="white", mew=0.6, lw=width, color=colour_, label=text, zorder=3, gid=f"line-{i}")


def _band(ax: Axes, xs: list[float], low: list[float], high: list[float], i: int, colour_: Any) -> None:
    """A model's interval: light, and under every line, so a few samples' wide band hides no one's line."""
    ax.fill_between(xs, low, high, color=colour_, alpha=0.05, linewidth=0, zorder=1, gid=f"band-{i}")


def _ylabel(axes: list[Axes], text: str) -> None:
    """The y axis named on the first panel of each row of `_panels`' grid."""
    for ax in axes[::COLUMNS]:
        ax.set_ylabel(text)


@_styled
def accuracy(task: str, cells: list[CellResult], size_label: str) -> str:
    strategies, models, series = _series(cells)
    colours, names, dodge = _model_colours(models), short_names(models), _dodge(models, cells)
    fig, axes = _panels(len(strategies))
    for ax, strategy in zip(axes, strategies):
        for i, model in enumerate(models):
            pts = series.get((model, strategy))
            if not pts:
                continue
            xs = [c.size + dodge[model] for c in pts]
            ys, lo, hi = (list(v) for v in zip(*(complete_point(c) for c in pts)))
            _band(ax, xs, lo, hi, i, colours[model])
            _line(ax, xs, ys, i, colours[model], label(model, pts[0].simulated, names), len(models))
        ax.set_title(strategy)
        ax.set_xlabel(size_label)
        _integer_sizes(ax)
        ax.set_ylim(-0.03, 1.03)
    _ylabel(axes, "complete, of verdicts (95% CI)")
    _legend(fig, axes)
    _title(fig, f"{task}: accuracy, the paper's reading (anything not complete fails)", rests_on(cells))
    return _svg(fig)


@_styled
def outcome_mix(task: str, cells: list[CellResult], size_label: str) -> str:
    """Small multiples (a row per model, a column per strategy) drawn on one axes: a grid of
    real subplots costs seconds to render for a dozen models, and this reads the same."""
    strategies, models, series = _series(cells)
    names = short_names(models)
    sizes = sorted({c.size for c in cells})
    slot = {size: i for i, size in enumerate(sizes)}
    span = len(sizes) + 1  # bars of one panel, and a gap
    row_height = 1.3
    width, height = max(7.0, 2.2 + 0.42 * span * len(strategies)), row_height * 0.9 * len(models) + 1.5
    fig = _figure(width, height)
    ax = fig.subplots()
    fig.subplots_adjust(left=2.0 / width, right=0.99, top=1 - 0.6 / height, bottom=0.95 / height)
    xs: dict[str, list[float]] = {o: [] for o in VERDICTS}
    hs: dict[str, list[float]] = {o: [] for o in VERDICTS}
    bs: dict[str, list[float]] = {o: [] for o in VERDICTS}
    for r, model in enumerate(models):
        base = (len(models) - 1 - r) * row_height
        for col, strategy in enumerate(strategies):
            for c in series.get((model, strategy), []):
                x = col * span + slot[c.size]
                bottom = base
                for o, share in mix_bar(c):
                    xs[o].append(x)
                    hs[o].append(share)
                    bs[o].append(bottom)
                    bottom += share
                if c.provider_errors.count:
                    ax.text(x, base + 1.0, str(c.provider_errors.count), ha="center", va="bottom", fontsize=6, color=colour("error"))
        sim = any(c.simulated for c in cells if c.model == model)
        ax.text(-1.0, base + 0.5, label(model, sim, names).replace(" (sim)", "\n(sim)"), ha="right", va="center", fontsize=7)
        ax.plot([-0.6, len(strategies) * span - 1.4], [base - 0.08] * 2, color="#ccc", lw=0.6)
    for o in VERDICTS:
        ax.bar(xs[o], hs[o], bottom=bs[o], color=colour(o), width=0.85, label=outcome_name(o))
    top = (len(models) - 1) * row_height + 1.05
    for col, strategy in enumerate(strategies):
        ax.text(col * span + (len(sizes) - 1) / 2, top, strategy, ha="center", va="bottom", fontsize=9)
    ax.set_xticks(
        [col * span + i for col in range(len(strategies)) for i in range(len(sizes))],
        [str(size) for _ in strategies for size in sizes],
        fontsize=7,
    )
    ax.set_xlabel(f"{size_label} (bars: share of verdicts, 0 to 1; grey numbers: provider errors)")
    ax.set_yticks([])
    ax.set_xlim(-0.7, len(strategies) * span - 1.3)
    ax.set_ylim(-0.15, top + 0.35)
    ax.grid(False)
    for side in ("left", "top", "right"):
        ax.spines[side].set_visible(False)
    fig.legend(loc="lower center", ncol=len(VERDICTS), fontsize=8, bbox_to_anchor=(0.5, 0.0))
    _title(fig, f"{task}: the same trials, read by longhaul", rests_on(cells))
    return _svg(fig)


@_styled
def tokens(task: str, cells: list[CellResult], size_label: str) -> str:
    strategies, models, series = _series(cells)
    colours, names, dodge = _model_colours(models), short_names(models), _dodge(models, cells)
    fig, axes = _panels(len(strategies))
    for ax, strategy in zip(axes, strategies):
        needed: dict[int, int] = {}
        budget = None
        for i, model in enumerate(models):
            pts = series.get((model, strategy))
            if not pts:
                continue
            xs = [c.size + dodge[model] for c in pts]
            name = label(model, pts[0].simulated, names)
            _line(ax, xs, [_or_nan(c.median_output_tokens) for c in pts], i, colours[model], f"{name} output", len(models))
            thinking = [c.median_thinking_tokens for c in pts]
            if any(thinking):
                ax.plot(xs, [t or 0 for t in thinking], ls="--", color=colours[model], label=f"{name} thinking", zorder=3)
            for c in pts:
                if c.needed_tokens:
                    needed.setdefault(c.size, c.needed_tokens)
            budget = pts[0].max_tokens
        if needed:
            at = sorted(needed)
            ax.plot(at, [needed[x] for x in at], color="black", ls=":", lw=1.2, label="a complete answer needs")
        if budget:
            ax.axhline(budget, color="#555", lw=1, ls="-.", label=f"max_tokens ({budget:,})")
        ax.set_yscale("log", nonpositive="clip")
        ax.set_title(strategy)
        ax.set_xlabel(size_label)
        _integer_sizes(ax)
    _ylabel(axes, "tokens (median per verdict)")
    _legend(fig, axes)
    _title(fig, f"{task}: output and thinking tokens against size", rests_on(cells))
    return _svg(fig)


@_styled
def first_error(task: str, cells: list[CellResult], size_label: str) -> str | None:
    strategies, models, series = _series(cells)
    if not any(c.median_first_error is not None for c in cells):
        return None
    colours, names, dodge = _model_colours(models), short_names(models), _dodge(models, cells)
    fig, axes = _panels(len(strategies))
    for ax, strategy in zip(axes, strategies):
        expected: dict[int, int] = {}
        for i, model in enumerate(models):
            # (cell, its median first error), for the cells that have one.
            pts = [(c, c.median_first_error) for c in series.get((model, strategy), []) if c.median_first_error is not None]
            for c in series.get((model, strategy), []):
                if c.items_expected:
                    expected.setdefault(c.size, c.items_expected)
            if pts:
                xs = [c.size + dodge[model] for c, _ in pts]
                # Item numbers are 1-based, as the tables and the trials give them; the stored
                # median and quartiles are of the 0-based index.
                low = [_or_nan(c.first_error_q1) + 1 for c, _ in pts]
                high = [_or_nan(c.first_error_q3) + 1 for c, _ in pts]
                _band(ax, xs, low, high, i, colours[model])
                _line(ax, xs, [first + 1 for _, first in pts], i, colours[model], label(model, pts[0][0].simulated, names), len(models))
        if expected:
            at = sorted(expected)
            ax.plot(at, [expected[x] for x in at], color="black", ls=":", lw=1.2, label="items in a complete answer")
        ax.set_yscale("log", nonpositive="clip")
        ax.set_title(strategy)
        ax.set_xlabel(size_label)
        _integer_sizes(ax)
    _ylabel(axes, "first wrong item, 1-based (median)")
    _legend(fig, axes)
    n = sum(c.first_errors for c in cells)
    _title(fig, f"{task}: where the first wrong move falls", f"n = {n:,} trials with a wrong move · line: median, shaded: quartiles")
    return _svg(fig)


@_styled
def collapse(task: str, searches: list[SearchResult], size_label: str) -> str | None:
    """A row per model and strategy: the largest value of the searched parameter that held up (a
    dot), the stretch to the first that failed (a line), and the values tried (ticks, dark where
    the size held up, light where it failed); none when the run searched no size of the task."""
    rows = sorted((s for s in searches if s.task == task), key=lambda s: (s.model, s.strategy))
    if not rows:
        return None
    colours = _model_colours(sorted({s.model for s in rows}))
    names = short_names(sorted({s.model for s in rows}))
    height = 0.9 + 0.32 * len(rows)
    width = 0.7 + 2.9 * 2 + LEGEND_WIDTH
    fig = _figure(width, height)
    ax = fig.subplots()
    fig.subplots_adjust(left=LEGEND_WIDTH / width, right=0.97, top=1 - 0.55 / height, bottom=0.5 / height)
    _integer_sizes(ax)
    for y, s in enumerate(reversed(rows)):
        colour_ = colours[s.model]
        for step in s.sizes:
            ax.plot([step.value], [y], marker="|", ms=10, mew=2, color=colour_, alpha=0.9 if step.call == "pass" else 0.3)
        if s.collapse is not None and s.first_failure is not None:
            ax.plot([s.collapse, s.first_failure], [y, y], color=colour_, lw=2, alpha=0.6)
        if s.collapse is not None:
            ax.plot([s.collapse], [y], marker="o", ms=6, color=colour_)
        if s.beyond_budget:
            ax.plot([min(s.beyond_budget)], [y], marker=">", ms=6, color="#555")
    ax.set_yticks(
        range(len(rows)), [f"{label(s.model, s.model.startswith('sim/'), names)} · {s.strategy}" for s in reversed(rows)], fontsize=7
    )
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel(f"{rows[0].param} (dot: collapse; line: to the first failure; ticks: values tried; ▸: beyond max_tokens)")
    n = sum(step.trials for s in rows for step in s.sizes)
    _title(fig, f"{task}: collapse size from the search (complete rate ≥ {rows[0].threshold:g})", f"n = {n:,} trials")
    return _svg(fig)
