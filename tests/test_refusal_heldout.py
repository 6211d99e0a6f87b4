"""The refusal detector measured leave-one-model-out on the dev pool (`../shared/corpora`).

For each of the seven models, the weights are fitted on the other six models' answers (inside the
test: the fit is tiny) and scored on the held-out model's. The cue patterns themselves were written
by a person who had read errors on all seven, so only the weights are held out (the threshold is a fixed 0.5);
the figures printed say so. Full refusal against full compliance; partial refusals (XSTest label 3)
are reported on their own. Harmful-set completions are never loaded, and no answer is printed.
"""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import FIGURES, ROOT, corpus

from longhaul.verify.refusal import decide, detect
from longhaul.verify.refusal_corpus import DIRECTION_SETS, XSTEST_FILES, Labelled, fingerprint, load
from longhaul.verify.refusal_features import Reading, normalise, read
from longhaul.verify.refusal_model import RefusalModel, shipped
from longhaul.verify.refusal_train import judged, train

JUDGED = ROOT / "tests" / "fixtures" / "refusal_judged.csv"


@pytest.fixture(scope="module")
def pool() -> list[tuple[Labelled, Reading]]:
    corpus("xstest")
    rows = load(corpus("refusal-direction").parent, judged(JUDGED))
    return [(r, _read(r.text)) for r in rows]


@pytest.fixture(scope="module")
def held_out(pool: list[tuple[Labelled, Reading]]) -> dict[str, RefusalModel]:
    """For each of the seven models, the weights fitted on the other six (fitted once, for every
    test that scores held out)."""
    fits = {}
    for held in sorted({r.model for r, _ in pool}):
        fits[held] = train([r for r, _ in pool if r.model != held])
        assert held not in fits[held].trained_on
    return fits


def _read(text: str) -> Reading:
    low = normalise(text)
    return read(low, low, len(low), 0)


def _prf(pairs: list[tuple[bool, str]]) -> tuple[float, float, int]:
    tp = sum(1 for said, truth in pairs if said and truth == "refusal")
    fp = sum(1 for said, truth in pairs if said and truth == "compliance")
    fn = sum(1 for said, truth in pairs if not said and truth == "refusal")
    return tp / max(1, tp + fp), tp / max(1, tp + fn), tp + fp + fn


def _said(model: RefusalModel, reading: Reading) -> bool:
    """What the detector with `model`'s weights says: declines (a partial refusal counts as declining,
    as it does in the won't-do verdict)."""
    return decide(reading, model.probability(reading.values), model.threshold, model.unsure).declines


def _report(title: str, predictions: dict[str, list[tuple[Labelled, bool, float]]]) -> tuple[float, float, dict[str, tuple[float, float]]]:
    per: dict[str, tuple[float, float]] = {}
    every: list[tuple[bool, str]] = []
    for model, preds in sorted(predictions.items()):
        pairs = [(said, r.label) for r, said, _ in preds if r.label != "partial"]
        p, r, _ = _prf(pairs)
        per[model] = (p, r)
        every += pairs
        FIGURES.append(f"refusal {title} {model}: precision {p:.3f} recall {r:.3f} ({len(pairs)} answers)")
    p, r, _ = _prf(every)
    FIGURES.append(f"refusal {title} pooled over {len(predictions)} models: precision {p:.3f} recall {r:.3f}")
    return p, r, per


def _set_rate(preds: dict[str, list[tuple[Labelled, bool, float]]], source: str) -> tuple[int, int]:
    rows = [(r, said) for ps in preds.values() for r, said, _ in ps if r.source == source]
    return sum(1 for _, said in rows if said), len(rows)


def _lomo(pool: list[tuple[Labelled, Reading]], fits: dict[str, RefusalModel]) -> dict[str, list[tuple[Labelled, bool, float]]]:
    out: dict[str, list[tuple[Labelled, bool, float]]] = {}
    for held, model in fits.items():
        out[held] = [(r, _said(model, v), model.probability(v.values)) for r, v in pool if r.model == held]
    return out


def test_leave_one_model_out(pool, held_out):
    preds = _lomo(pool, held_out)
    FIGURES.append(
        "refusal held-out figures: weights fitted without the scored model (threshold fixed at 0.5); "
        "cue patterns written after reading errors on all seven models"
    )
    p, r, per = _report("held-out", preds)
    fp, n_base = _set_rate(preds, "harmless_baseline")
    hit, n_act = _set_rate(preds, "harmless_actadd")
    FIGURES.append(
        f"refusal held-out harmless_baseline false positives {fp}/{n_base} ({fp / n_base:.1%}); "
        f"harmless_actadd recall {hit}/{n_act} ({hit / n_act:.1%})"
    )
    # Calibration: mean predicted probability against the observed rate of declines, by band.
    scored = [(prob, r.label == "refusal") for ps in preds.values() for r, _, prob in ps if r.label != "partial"]
    brier = sum((prob - truth) ** 2 for prob, truth in scored) / len(scored)
    bands = []
    for lo, hi in ((0, 0.2), (0.2, 0.5), (0.5, 0.8), (0.8, 1.01)):
        inside = [(prob, truth) for prob, truth in scored if lo <= prob < hi]
        if inside:
            bands.append(
                f"[{lo:.1f},{min(hi, 1):.1f}): n={len(inside)} mean p {sum(a for a, _ in inside) / len(inside):.2f} "
                f"observed {sum(b for _, b in inside) / len(inside):.2f}"
            )
    FIGURES.append(f"refusal held-out calibration: Brier {brier:.3f}; " + "; ".join(bands))
    assert p >= 0.96 and r >= 0.93
    assert all(mp >= 0.85 and mr >= 0.85 for mp, mr in per.values()), per
    assert fp / n_base <= 0.01
    assert hit / n_act >= 0.97


def test_partial_refusals_held_out(pool, held_out):
    """XSTest's partial refusals (label 3), read by the held-out detector, and what the partial and
    premise rules cost on the full rows. The work floor (400 characters) and the structural rule
    were chosen after looking at all seven models' rows, so these are not held-out figures for them."""
    counts: Counter[str] = Counter()
    turned: Counter[str] = Counter()
    unsure_full = premise_full = 0
    for held, model in held_out.items():
        for r, v in pool:
            if r.model != held:
                continue
            d = decide(v, model.probability(v.values), model.threshold, model.unsure)
            if r.label == "partial":
                counts[d.label] += 1
                counts["unsure"] += d.unsure
                counts["partial or unsure"] += d.label == "partial" or d.unsure
                counts["declining"] += d.declines
            else:
                turned[r.label] += d.label == "partial"
                unsure_full += d.unsure
                premise_full += d.premise is not None
    n = sum(1 for r, _ in pool if r.label == "partial")
    full = len(pool) - n
    FIGURES.append(
        f"refusal partial refusals (XSTest label 3, {n} rows, weights held out): called partial "
        f"{counts['partial']}, refusal {counts['refusal']}, compliance {counts['compliance']}; unsure "
        f"{counts['unsure']}; partial or unsure {counts['partial or unsure']}; counted as declining "
        f"{counts['declining']} (partial and refusal both are, in the won't-do verdict)"
    )
    FIGURES.append(
        f"refusal 'partial' said of {turned['refusal']} full refusals and {turned['compliance']} full "
        f"compliances (of {full}); unsure on {unsure_full} full rows, {premise_full} of them by a "
        f"premise rejection with no decline (rule thresholds chosen on all the data)"
    )
    # A partial refusal declines something: most must be read as declining, fully or in part.
    assert counts["declining"] >= 0.6 * n
    assert counts["partial"] >= 10
    assert turned["compliance"] <= 3 and turned["refusal"] <= 40


def test_in_sample_for_comparison(pool):
    """The shipped weights, fitted on all seven: in-sample, printed only to compare with held-out."""
    model = shipped()
    preds: dict[str, list[tuple[Labelled, bool, float]]] = {}
    for r, v in pool:
        preds.setdefault(r.model, []).append((r, _said(model, v), model.probability(v.values)))
    p, r, _ = _report("in-sample (not a held-out figure)", preds)
    assert p >= 0.96 and r >= 0.93


def test_shipped_weights_are_the_fit_of_the_pool(pool):
    """The JSON in the package is what `refusal_train` makes from the corpora and the judged labels."""
    refit = train([r for r, _ in pool])
    assert shipped().weights == pytest.approx(refit.weights, abs=1e-3)
    assert shipped().bias == pytest.approx(refit.bias, abs=1e-3)
    assert (shipped().rows, shipped().trained_on) == (refit.rows, refit.trained_on)


def test_shipped_weights_record_the_corpus_files_they_were_fitted_on(pool):
    """The JSON records each corpus file's SHA-256 and row count at training time: a corpus that
    changed since (or a file added or gone) is named here, before the weights are trusted."""
    recorded = {f.path: f for f in shipped().corpora}
    present = {f.path: f for f in fingerprint(corpus("xstest").parent)}
    assert recorded, "refusal_model.json records no corpus files: retrain it (python -m longhaul.verify.refusal_train)"
    changed = sorted(path for path in recorded.keys() | present.keys() if recorded.get(path) != present.get(path))
    assert not changed, f"corpus files differ from those the shipped weights were fitted on: {changed}"
    assert sum(f.rows for f in recorded.values()) == len(pool)


def test_a_changed_corpus_file_changes_its_fingerprint(tmp_path):
    """What the recorded fingerprint catches, on a corpus made here (no shared corpora needed)."""
    for name in XSTEST_FILES.values():
        (tmp_path / "xstest").mkdir(exist_ok=True)
        (tmp_path / "xstest" / name).write_text("id,completion,final_label\nv2-1,Sure.,1_full_compliance\n", encoding="utf-8")
    (tmp_path / "refusal-direction" / "m").mkdir(parents=True)
    for name in DIRECTION_SETS:
        (tmp_path / "refusal-direction" / "m" / f"{name}_evaluations.json").write_text('{"completions": [{"response": "Hi."}]}')
    before = fingerprint(tmp_path)
    assert [(f.path, f.rows) for f in before] == [
        *((f"xstest/{name}", 1) for name in XSTEST_FILES.values()),
        *((f"refusal-direction/m/{name}_evaluations.json", 1) for name in DIRECTION_SETS),
    ]
    assert sum(f.rows for f in before) == len(load(tmp_path))
    edited = tmp_path / "refusal-direction" / "m" / "harmless_actadd_evaluations.json"
    edited.write_text('{"completions": [{"response": "Hi!"}, {"response": "No."}]}')
    after = fingerprint(tmp_path)
    assert [a.path for a, b in zip(before, after) if a != b] == ["refusal-direction/m/harmless_actadd_evaluations.json"]
    assert after[-1].rows == 2 and after[-1].sha256 != before[-1].sha256


def test_judged_rows(pool, held_out):
    """Rows read by hand: the detector agrees with the judgement except where the fixture says it does not.

    The shipped weights were fitted on these very labels (`refusal_train` reads the fixture), so
    the shipped detector's figure is in-sample; each row is also scored by the weights fitted
    without its model (which never saw the row), and that figure is the held-out one."""
    by_key = {(r.model, r.source, r.row): (r, v) for r, v in pool}
    rows = {key: label for key, label in judged(JUDGED).items() if label != "partial"}  # binary labels only
    n_partial = len(judged(JUDGED)) - len(rows)
    missed, missed_held_out = [], []
    for key, label in rows.items():
        r, v = by_key[key]
        if detect(r.text).refusal != (label == "refusal"):
            missed.append(key)
        if _said(held_out[r.model], v) != (label == "refusal"):
            missed_held_out.append(key)
    FIGURES.append(
        f"refusal judged rows, in-sample (the shipped weights were fitted on these labels): the detector "
        f"disagrees on {len(missed)} of {len(rows)} rows read by hand as refusal or compliance ({n_partial} partial not scored)"
    )
    FIGURES.append(
        f"refusal judged rows, weights held out (fitted without the row's model): disagrees on "
        f"{len(missed_held_out)} of {len(rows)} (cue patterns written after reading them: not held out)"
    )
    # The fixture's reasons name 6 rows where the detector is wrong; more would be a regression.
    assert len(missed) <= 6, missed
    assert len(missed_held_out) <= 6, missed_held_out


def test_detector_is_the_shipped_model_on_whole_answers(pool):
    model = shipped()
    for r, v in pool[::25]:
        assert detect(r.text).refusal == _said(model, v)
