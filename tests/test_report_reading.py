"""report.html for the people reading it: figures at a readable size with nothing cut off, tables
that fit, one word per meaning, and every cell linked to its trials' evidence. The page is parsed
(html.parser, ElementTree for the SVG), not matched with patterns."""

from __future__ import annotations

import json
import re
import statistics
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

import longhaul
from longhaul.report import write_report
from longhaul.report.figures import COLUMNS, PANEL, accuracy, first_error, short_names, tokens
from longhaul.report.html import DRILL_PER_CELL
from longhaul.report.results import compute
from longhaul.store import read_trials
from longhaul.suite import parse_suite

# Two names that differ only at their end, longer than a legend shows whole.
FLAKY_A = "sim/diligent?faults=429:0.3,500:0.2,cut:0.1&retry_after=0.05"
FLAKY_B = "sim/diligent?faults=429:0.3,500:0.2,cut:0.1&retry_after=0.06"

SUITE = f"""
name = "reading"
models = ["sim/diligent", "sim/drifter?at=12", "sim/lazy?k=8", "{FLAKY_A}", "{FLAKY_B}"]
strategies = ["direct", "continue", "nudge", "resume"]
samples = 3
max_tokens = 3000

[[tasks]]
task = "count"
end = [10, 30]

[retry]
attempts = 2
initial_wait = 0.01
max_wait = 0.02
"""

SVG = "{http://www.w3.org/2000/svg}"
PAGE_PX = 1232
"""The page's content width (max-width 1280px less its padding): a figure wider is shown scaled down."""


@pytest.fixture(scope="module")
def reading(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reading") / "run"
    longhaul.run(parse_suite(SUITE), out=out)
    write_report(out)
    return out


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]] = field(default_factory=list)
    wrapped: list[list[bool]] = field(default_factory=list)
    """Per row, per cell: the cell wraps (class w)."""
    links: list[list[str]] = field(default_factory=list)
    """Per row, the anchors its cells link to."""
    in_scroll_box: bool = False
    in_details: bool = False
    section: str = ""
    """The id of the h2 above it."""


class Page(HTMLParser):
    """The parts of report.html these tests read: its tables, ids, and the drill-down's cell sections."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.ids: set[str] = set()
        self.sections: dict[str, list[str]] = {}
        """Cell section id -> the text of each trial's summary in it."""
        self._stack: list[tuple[str, dict[str, str]]] = []
        self._h2 = ""
        self._cell: list[str] | None = None
        self._text: list[str] | None = None
        self._summary: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "h2":
            self._h2 = a.get("id", "")
        if tag == "table":
            self.tables.append(
                Table(
                    head=[],
                    in_scroll_box=any(t == "div" and "scroll" in x.get("class", "").split() for t, x in self._stack),
                    in_details=any(t == "details" for t, _ in self._stack),
                    section=self._h2,
                )
            )
        if tag == "tr" and self.tables and any(t == "tbody" for t, _ in self._stack):
            self.tables[-1].rows.append([])
            self.tables[-1].wrapped.append([])
            self.tables[-1].links.append([])
        if tag in ("th", "td"):
            self._text = []
            if tag == "td":
                self.tables[-1].wrapped[-1].append("w" in a.get("class", "").split())
        if tag == "a" and self._text is not None and a.get("href", "").startswith("#"):
            self.tables[-1].links[-1].append(a["href"][1:])
        if tag == "section" and "cell" in a.get("class", "").split():
            self._cell = self.sections.setdefault(a["id"], [])
        # A trial's summary: its <details> sits right in the cell's section (a turn's request is deeper).
        if tag == "summary" and self._cell is not None and [t for t, _ in self._stack[-2:]] == ["section", "details"]:
            self._summary = []
        if tag not in ("br", "meta", "img", "hr"):
            self._stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            t, _ = self._stack.pop()
            if t == tag:
                break
        if tag in ("th", "td") and self._text is not None:
            text = "".join(self._text).strip()
            if tag == "th":
                self.tables[-1].head.append(text)
            else:
                self.tables[-1].rows[-1].append(text)
            self._text = None
        if tag == "summary" and self._summary is not None and self._cell is not None:
            self._cell.append("".join(self._summary))
            self._summary = None
        if tag == "section":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)
        if self._summary is not None:
            self._summary.append(data)


def page(run_dir: Path) -> Page:
    return Page((run_dir / "report.html").read_text())


def _svg_px(svg: str) -> tuple[float, float]:
    root = ET.fromstring(svg)
    return float(root.get("width", "0pt").removesuffix("pt")) * 4 / 3, float(root.get("height", "0pt").removesuffix("pt")) * 4 / 3


def text_outside(svg: str) -> list[str]:
    """The texts of an SVG (matplotlib's, text as <text>) that reach outside its viewBox, by an
    estimate of their extent: 0.6 em a character, from their anchor, turned as they are turned;
    mathtext (10², as <tspan>s in a translated group) by its pieces' positions."""
    root = ET.fromstring(svg)
    x0, y0, w, h = (float(v) for v in root.get("viewBox", "").split())
    parent = {child: el for el in root.iter() for child in el}

    def shift(el: ET.Element) -> tuple[float, float]:
        dx = dy = 0.0
        while el in parent:
            el = parent[el]
            if m := re.match(r"translate\(([-\d.]+)[ ,]([-\d.]+)\)", el.get("transform", "")):
                dx, dy = dx + float(m.group(1)), dy + float(m.group(2))
        return dx, dy

    def inside(left: float, right: float, top: float, bottom: float) -> bool:
        return left >= x0 - 1 and right <= x0 + w + 1 and top >= y0 - 1 and bottom <= y0 + h + 1

    out = []
    for el in root.iter(f"{SVG}text"):
        text = "".join(el.itertext()).strip()
        dx, dy = shift(el)
        pieces = list(el.iter(f"{SVG}tspan"))
        if pieces:
            sizes = [float(m.group(1)) if (m := re.search(r"font-size: ([\d.]+)px", t.get("style", ""))) else 10.0 for t in pieces]
            xs = [dx + float(t.get("x", 0)) for t in pieces]
            ys = [dy + float(t.get("y", 0)) for t in pieces]
            ok = inside(min(xs), max(x + 0.6 * z for x, z in zip(xs, sizes)), min(y - z for y, z in zip(ys, sizes)), max(ys))
        else:
            style = el.get("style", "")
            size = float(m.group(1)) if (m := re.search(r"font-size: ([\d.]+)px", style)) else 10.0
            anchor = m.group(1) if (m := re.search(r"text-anchor: (\w+)", style)) else "start"
            x, y = dx + float(el.get("x", 0)), dy + float(el.get("y", 0))
            length = 0.6 * size * len(text)
            before = {"start": 0.0, "middle": length / 2, "end": length}[anchor]
            if re.search(r"rotate\(-90", el.get("transform", "")):  # reads upwards: along -y from its anchor
                ok = inside(x - size, x, y - (length - before), y + before)
            else:
                ok = inside(x - before, x - before + length, y - size, y)
        if not ok:
            out.append(text)
    return out


# 1. Figures readable at a glance.


def test_no_figure_text_reaches_outside_its_svg(reading):
    results = compute(reading)
    figures = [accuracy("count", results.cells, "end"), tokens("count", results.cells, "end"), first_error("count", results.cells, "end")]
    for svg in figures:
        assert svg is not None
        assert text_outside(svg) == []


def test_panels_wrap_at_the_pages_width_and_keep_their_size(reading):
    results = compute(reading)
    svg = accuracy("count", results.cells, "end")
    width, height = _svg_px(svg)
    # Four strategies: three panels a row, then a second row; shown at their own size, not shrunk to fit.
    assert len({c.strategy for c in results.cells}) == 4 > COLUMNS
    assert width <= PAGE_PX
    assert width >= COLUMNS * PANEL[0] * 96 * 0.95
    assert height >= 2 * PANEL[1] * 96
    root = ET.fromstring(svg)
    axes = [g for g in root.iter(f"{SVG}g") if re.fullmatch(r"axes_\d+", g.get("id", ""))]
    assert len(axes) == 4


def test_the_legend_names_models_in_full_or_shortened_in_the_middle_and_distinct(reading):
    svg = accuracy("count", compute(reading).cells, "end")
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "sim/drifter?at=12 (sim)" in texts and "sim/lazy?k=8 (sim)" in texts
    short = short_names([FLAKY_A, FLAKY_B])
    assert short[FLAKY_A] != short[FLAKY_B]
    assert short[FLAKY_A].endswith("0.05") and short[FLAKY_B].endswith("0.06") and "…" in short[FLAKY_A]
    assert f"{short[FLAKY_A]} (sim)" in texts and f"{short[FLAKY_B]} (sim)" in texts
    # Names that differ only in the middle are widened until they differ.
    a, b = "m/" + "x" * 30 + "A" + "y" * 30, "m/" + "x" * 30 + "B" + "y" * 30
    assert len(set(short_names([a, b], 20).values())) == 2


def test_every_models_line_is_drawn_over_every_band_with_markers(reading):
    svg = first_error("count", compute(reading).cells, "end")
    assert svg is not None
    svg = accuracy("count", compute(reading).cells, "end")
    root = ET.fromstring(svg)
    for ax in (g for g in root.iter(f"{SVG}g") if re.fullmatch(r"axes_\d+", g.get("id", ""))):
        order = [g.get("id", "") for g in ax.iter(f"{SVG}g") if re.fullmatch(r"(band|line)-\d+", g.get("id", ""))]
        bands = [i for i, name in enumerate(order) if name.startswith("band")]
        lines = [i for i, name in enumerate(order) if name.startswith("line")]
        assert bands and lines and max(bands) < min(lines), order
        for g in ax.iter(f"{SVG}g"):
            if g.get("id", "").startswith("line-"):
                assert list(g.iter(f"{SVG}use")), "a marker on each point"


def test_item_numbers_are_1_based_in_the_table_and_the_trials(reading):
    trials = [t for t in read_trials(reading) if t.spec.model == "sim/drifter?at=12" and t.verdict.first_error]
    assert trials
    by_cell: dict[tuple[int, str], list[int]] = {}
    for t in trials:
        assert t.verdict.first_error is not None
        by_cell.setdefault((t.spec.size, t.spec.strategy), []).append(t.verdict.first_error.index)
    p = page(reading)
    (cells,) = [t for t in p.tables if t.section == "task-count" and not t.in_details]
    col = cells.head.index("first wrong item (median, 1-based)")
    for row in cells.rows:
        if row[0].startswith("sim/drifter?at=12") and (int(row[1]), row[2]) in by_cell:
            assert row[col] == f"{statistics.median(by_cell[(int(row[1]), row[2])]) + 1:,.0f}"
    said = [s for summaries in p.sections.values() for s in summaries if "wrong item" in s]
    shown = sorted(int(m.group(1)) for s in said if (m := re.search(r"wrong item (\d+)", s)))
    assert shown == sorted(i + 1 for indexes in by_cell.values() for i in indexes)


# 2. Tables that fit.


def test_every_table_scrolls_in_its_own_box_and_the_cell_table_keeps_details_on_demand(reading):
    p = page(reading)
    assert p.tables and all(t.in_scroll_box for t in p.tables)
    main = [t for t in p.tables if t.section == "task-count" and not t.in_details]
    details = [t for t in p.tables if t.section == "task-count" and t.in_details]
    assert len(main) == len(details) == 1
    assert len(main[0].head) <= 12
    assert {"median in", "median out", "median turns", "retries", "cost"} <= set(details[0].head)
    assert not {"median in", "median out", "retries", "cost"} & set(main[0].head)
    assert len(main[0].rows) == len(details[0].rows) == 5 * 4 * 2


def test_the_per_model_table_shows_every_column_with_short_heads(reading):
    (models,) = [t for t in page(reading).tables if t.section == "joint" and t.head[0] == "model"]
    assert models.head == [
        "model",
        "verdicts (of trials)",
        "over-refusal",
        "can't-do",
        "overconfidence",
        "provider errors",
        "max_tokens sent",
        "cost",
    ]
    assert all(len(row) == len(models.head) for row in models.rows) and len(models.rows) == 5


# 3. One word per meaning.


def test_error_means_the_providers_failure_and_cant_do_is_cant_do(reading):
    p = page(reading)
    heads = [h for t in p.tables for h in t.head]
    assert [h for h in heads if "error" in h and "provider error" not in h] == []
    md = (reading / "summary.md").read_text()
    assert "| over-refusal | can't-do | overconfidence |" in md and "error (" not in md
    model = json.loads((reading / "results.json").read_text())["models"][0]
    assert "cant_do_rate" in model and "error_rate" not in model
    html = (reading / "report.html").read_text()
    assert "error (can't-do)" not in html


# 4. Each cell links to its trials' evidence.


def test_each_cell_links_to_a_section_of_its_trials(reading):
    p = page(reading)
    (cells,) = [t for t in p.tables if t.section == "task-count" and not t.in_details]
    targets = [link for links in cells.links for link in links]
    assert len(targets) == len(cells.rows) == len(set(targets))
    for target in targets:
        assert target in p.ids and target in p.sections
        assert len(p.sections[target]) == 3  # every sample of the cell: more than two
    assert DRILL_PER_CELL > 2


def test_a_trials_summary_says_what_decided_it(reading):
    summaries = [s for ss in page(reading).sections.values() for s in ss]
    assert any(re.search(r"can't-do · 1 turn\(s\) · wrong item \d+ \(line \d+\): got .+, expected .+", s) for s in summaries)
    # A decline quotes its phrase with the answer around it.
    declines = [s for s in summaries if "won't-do" in s]
    assert declines and all(re.search(r"\(turn \d+\): \S", s) for s in declines)
    failed = [s for s in summaries if s.split(" · ")[1] == "provider error"]
    assert failed and all("gave up after" in s for s in failed)
    complete = [s for s in summaries if s.split(" · ")[1] == "complete"]
    assert complete and all(s.count(" · ") == 2 for s in complete)
