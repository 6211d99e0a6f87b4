"""`summary.md`: the run in a page of Markdown, for a CI job summary or a pull request."""

from __future__ import annotations

from collections import Counter, defaultdict

from longhaul.providers.local_model import local_label
from longhaul.report.reading import RULE, paragraphs, readings
from longhaul.report.results import CellResult, Results, Share, either
from longhaul.search import describe, mix
from longhaul.summary import markdown_table
from longhaul.verdict import OUTCOMES


def _pct(s: Share) -> str:
    return "–" if s.share is None else f"{100 * s.share:.0f}% [{100 * (s.low or 0):.0f}–{100 * (s.high or 0):.0f}]"


def _rate(s: Share) -> str:
    """A model rate with the verdicts it is over."""
    return "no verdicts" if not s.of else f"{_pct(s)} of {s.of}"


def _errors(n: int) -> str:
    return f"{n} provider error{'s' if n != 1 else ''}"


def _complete(c: CellResult) -> str:
    """The complete share over the cell's verdicts, and its provider errors beside it."""
    rate = "no verdicts" if c.verdicts == 0 else f"{100 * (c.outcomes['complete'].share or 0):.0f}% of {c.verdicts}"
    return rate + (f" · {_errors(c.provider_errors.count)}" if c.provider_errors.count else "")


def _name(model: str, simulated: bool) -> str:
    return f"`{model}` (simulated)" if simulated else f"`{model}`"


def _outcome_table(r: Results) -> str:
    """The end-of-run table, every column: a terminal may show it shortened."""
    cells: dict[tuple[str, str, int, str], Counter[str]] = {
        (c.model, c.task, c.size, c.strategy): Counter[str](
            {o: s.count for o, s in c.outcomes.items()} | {"error": c.provider_errors.count}
        )
        for c in r.cells
    }
    return markdown_table(cells, r.simulated_models)


def render(r: Results, size_labels: dict[str, str] | None = None) -> str:
    lines = [
        f"# longhaul: {r.suite}",
        "",
        f"Run `{r.run_id}`, {r.trials} trials ({len(r.searches)} search{'es' if len(r.searches) != 1 else ''}, planned round by round), longhaul {r.longhaul_version}."
        if r.searches
        else f"Run `{r.run_id}`, {r.trials} of {r.trials_planned} trials, longhaul {r.longhaul_version}.",
        "",
    ]
    if r.simulated_models:
        lines += [
            "> Simulated models (" + ", ".join(f"`{m}`" for m in r.simulated_models) + ") are longhaul's simulation: "
            "their numbers measure longhaul, never a real model.",
            "",
        ]
    for lm in r.local_models:
        lines += [f"> Local model `{lm.address}`: {local_label(lm)}", ""]
    lines += ["## Refusal elasticity", ""]
    lead = [m for m in r.models if m.elasticity.of]
    for m in lead:
        turns = f", median {m.median_turns_to_complete:.0f} turns" if m.median_turns_to_complete else ""
        lines.append(
            f"- {_name(m.model, m.simulated)}: {m.elasticity.count} of {m.elasticity.of} won't-do first answers became "
            f"complete under {either(r.follow_up_strategies)} ({_pct(m.elasticity)}{turns})."
        )
    if not lead:
        lines.append("- No follow-up trial began with a won't-do.")
    lines += [
        "",
        "## Per model",
        "",
        "| model | verdicts | over-refusal | can't-do | overconfidence | provider errors | max_tokens sent |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in r.models:
        lines.append(
            f"| {_name(m.model, m.simulated)} | {m.verdicts} of {m.trials} | {_rate(m.over_refusal)} | {_rate(m.cant_do_rate)} | "
            f"{_rate(m.overconfidence)} | {m.provider_errors} | {', '.join(f'{n:,}' for n in m.max_tokens)} |"
        )
    lines += [
        "",
        "Rates are over the trials with a verdict on the model; provider errors (the provider failed after "
        "retries) are counted beside them, never in them. Max_tokens sent: each request's output limit (the suite's, or the "
        "model's own where the suite clamps to it), the budget a budget verdict means.",
        "",
        "Outcomes: " + ", ".join(f"{o} {r.outcomes[o]}" for o in OUTCOMES),
        "",
    ]
    lines += ["## Outcomes by cell", "", _outcome_table(r), ""]  # the table the run's end prints, whole here
    if (j := r.refusal_judge) is not None:
        cost = "" if j.cost_usd is None else f", {j.cost_usd:.4f} USD"
        lines += [
            f"Refusal judge {', '.join(f'`{x}`' for x in j.judges)}: {j.judged} answers the detector was unsure of were judged "
            f"({j.cached} from the cache, {j.failed} without a class), {j.kinds_changed} won't-do kinds changed; "
            f"{j.input_tokens:,} tokens in / {j.output_tokens:,} out{cost} (not in the cells' token medians).",
            "",
        ]
    if r.searches:
        lines += ["## Adaptive searches: where the complete rate collapses", ""]
        for x in r.searches:
            fixed = ", ".join(f"{k}={v}" for k, v in x.params.items())
            lines.append(
                f"- {_name(x.model, x.model in r.simulated_models)} · {x.task}{f' ({fixed})' if fixed else ''} · {x.strategy}: {describe(x)}"
            )
            lines += [f"  - {x.param} = {s.value}: {mix(s)}" for s in x.sizes]
        lines.append("")
    lines += ["## Complete rate by task and size", ""]
    by_task: dict[str, dict[tuple[str, str], dict[int, CellResult]]] = defaultdict(lambda: defaultdict(dict))
    sims = {c.model: c.simulated for c in r.cells}
    for c in r.cells:
        by_task[c.task][(c.model, c.strategy)][c.size] = c
    second = readings(r.cells, size_labels or {})
    for task, rows in sorted(by_task.items()):
        sizes = sorted({size for row in rows.values() for size in row})
        lines += [f"### {task}", "", "| model | strategy | " + " | ".join(str(s) for s in sizes) + " |", "|---|---|" + "---:|" * len(sizes)]
        for (model, strategy), row in sorted(rows.items()):
            cells = ["–" if s not in row else _complete(row[s]) for s in sizes]
            lines.append(f"| {_name(model, sims[model])} | {strategy} | " + " | ".join(cells) + " |")
        lines.append("")
        said = [x for x in second if x.task == task]
        lines += [f"- {_name(model, sim)} · {text}" for model, sim, text in paragraphs(said)]
        if said:
            lines += ["", RULE, ""]
    return "\n".join(lines)
