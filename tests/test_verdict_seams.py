"""The verifier's seams, one test per mechanism, on answers shaped like real models' answers.

Each expected verdict was decided from the policies in docs/verdicts.md before the test was run.
"""

from __future__ import annotations

import pytest

from longhaul.verify import StreamingVerifier, verify


def moves(tasks, n):
    return list(tasks["hanoi"].reference(tasks["hanoi"].params({"disks": n})))


def as_list(ms):
    return "moves = [" + ", ".join(f"[{d}, {a}, {b}]" for d, a, b in ms) + "]"


def broken_at(ms, k, n):
    """The same moves with move k made illegal: another disk than the one on top of its peg."""
    d, a, b = ms[k]
    out = list(ms)
    out[k] = (d + 1 if d < n else d - 1, a, b)
    return out


def hanoi(tasks, text, n, **kw):
    return verify(tasks["hanoi"], {"disks": n}, text, **kw)


def french_lines(start, end, fmt="{n} - {w} - {c}", wrong_at=None, tasks=None):
    ref = list(tasks["french_numbers"].reference(tasks["french_numbers"].params({"start": start, "end": end})))
    lines = []
    for i, (n, w, c) in enumerate(ref):
        if wrong_at is not None and n == wrong_at:
            c += 1
        lines.append(fmt.format(n=n, w=w, c=c, i=i + 1, sp=f"{n:,}".replace(",", " ")))
    return lines


def french(tasks, text, start, end, **kw):
    return verify(tasks["french_numbers"], {"start": start, "end": end}, text, **kw)


# 1. A sample, then the real list -----------------------------------------------------------


def test_sample_then_full_list_with_an_illegal_move_is_cant_do_at_it(tasks):
    ms = moves(tasks, 7)
    text = "First, a sample: moves = [[1, 0, 2], [2, 0, 1], [1, 2, 1], ...]\n\nFull list:\n\n" + as_list(broken_at(ms, 15, 7)) + "\n"
    v = hanoi(tasks, text, 7)
    assert (v.outcome, v.first_error.index if v.first_error else None) == ("cant_do", 15)


def test_sample_then_full_french_list_with_a_wrong_line_is_cant_do_at_it(tasks):
    sample = "A few examples:\n0 - zéro - 4\n1 - un - 2\n2 - deux - 4\n...\n\nFull list:\n"
    text = sample + "\n".join(french_lines(0, 100, wrong_at=80, tasks=tasks))
    v = french(tasks, text, 0, 100)
    assert (v.outcome, v.first_error.index if v.first_error else None) == ("cant_do", 80)


def test_sample_then_full_correct_list_is_complete(tasks):
    ms = moves(tasks, 5)
    text = "For example, the first moves are [[1, 0, 2], [2, 0, 1], ...].\n\nThe full solution:\n" + as_list(ms)
    assert hanoi(tasks, text, 5).outcome == "complete"


# 2. Outline prose read as moves -------------------------------------------------------------


def test_outline_before_the_list_does_not_swallow_it(tasks):
    ms = moves(tasks, 4)
    text = (
        "Plan:\n- Move the top 3 disks from peg 0 to peg 1.\n- Move disk 4 from peg 0 to peg 2.\n"
        "- Move the top 3 disks from peg 1 to peg 2.\n\nNow the full list:\n\n" + as_list(ms)
    )
    assert hanoi(tasks, text, 4).outcome == "complete"


def test_numbered_outline_then_a_list_cut_by_the_token_limit_is_budget_exhausted(tasks):
    ms = moves(tasks, 10)
    text = (
        "The recursive plan:\n1. Move the top 9 disks from Peg 0 to Peg 1.\n2. Move disk 10 from Peg 0 to Peg 2.\n"
        "3. Move the top 9 disks from Peg 1 to Peg 2.\n\n```\n" + as_list(ms[:300])[:-1] + ", [1, "
    )
    v = hanoi(tasks, text, 10, stop_reason="max_tokens")
    assert (v.outcome, v.items_correct) == ("budget_exhausted", 300)


def test_a_legal_non_optimal_solution_after_an_outline_is_complete(tasks):
    # Starts with a wasted pair of moves, so its first move is not the reference's.
    ms = [(1, 0, 1), (1, 1, 0)] + moves(tasks, 3)
    text = "Outline:\n- Move disk 3 from peg 0 to peg 2 once the others are out of the way.\n\n" + as_list(ms)
    v = hanoi(tasks, text, 3)
    assert v.outcome == "complete" and any("not optimal" in n for n in v.notes)


def test_a_failed_draft_then_a_legal_non_optimal_list_is_judged_on_the_second(tasks):
    ms = [(1, 0, 1), (1, 1, 0)] + moves(tasks, 3)
    text = "moves = [[1, 0, 2], [2, 0, 2]]\n\nThat is wrong; again:\n\n" + as_list(ms)
    assert hanoi(tasks, text, 3).outcome == "complete"


# 3. A tail taken for a fresh start ------------------------------------------------------------


@pytest.mark.parametrize("n", [6, 8])
def test_last_moves_after_an_ellipsis_are_a_tail_not_a_new_attempt(tasks, n):
    ms = moves(tasks, n)
    text = "First moves:\n" + as_list(ms[:20]) + "\n\n...\n\nLast few moves:\n" + as_list(ms[-10:]) + "\n"
    v = hanoi(tasks, text, n)
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "elision", 20)


def test_a_tail_after_and_so_on_without_saying_last_is_still_a_tail(tasks):
    ms = moves(tasks, 6)
    text = as_list(ms[:20]) + "\n\nand so on, until:\n\n" + as_list(ms[-8:])
    v = hanoi(tasks, text, 6)
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "elision", 20)


# 4. A new list in the middle of a long list ---------------------------------------------------


def test_long_list_after_a_failed_sample_reports_its_own_first_error(tasks):
    ms = moves(tasks, 10)
    text = "Start: moves = [[1, 0, 2], [2, 0, 1], [1, 0, 1]]\n\nHmm, let me write it properly.\n\n" + as_list(broken_at(ms, 15, 10))
    v = hanoi(tasks, text, 10)
    assert (v.outcome, v.first_error.index if v.first_error else None) == ("cant_do", 15)


def test_long_list_with_an_early_error_reports_it_whatever_its_blocks(tasks):
    ms = broken_at(moves(tasks, 11), 15, 11)
    text = "moves = [" + ",\n".join(f"[{d},{a},{b}]" for d, a, b in ms) + "]"
    for chunks in (1, 7, 4096):
        sv = StreamingVerifier(tasks["hanoi"], {"disks": 11})
        step = max(1, len(text) // chunks) if chunks < 100 else chunks
        for i in range(0, len(text), step):
            sv.feed(text[i : i + step])
        v = sv.finish("end_turn")
        assert (v.outcome, v.first_error.index) == ("cant_do", 15)


def test_prose_inside_an_open_list_does_not_start_a_new_attempt(tasks):
    # Move 48 of 7 disks is the first move again, and the 15 after it are legal from the start:
    # read as a fresh list, the error would be reported at 15 of it instead of at 20.
    ms = broken_at(moves(tasks, 7), 20, 7)
    row = lambda part: ", ".join(f"[{d}, {a}, {b}]" for d, a, b in part)  # noqa: E731
    text = "moves = [" + row(ms[:48]) + ",\n    (second part)\n    " + row(ms[48:]) + "]"
    v = hanoi(tasks, text, 7)
    assert (v.outcome, v.first_error.index if v.first_error else None) == ("cant_do", 20)


def test_state_tracking_rows_then_an_ellipsis_and_the_last_rows_is_an_elision(tasks):
    rows = TRCK_3[:3] + ["...", "7,0,2,,,3 2 1"]
    v = hanoi(tasks, TRCK_HEADER + "\n".join(rows) + "\n", 3)
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "elision", 3)


# 5. Corrections -------------------------------------------------------------------------------

TRCK_HEADER = "move_id,from_peg,to_peg,peg0,peg1,peg2\n"
TRCK_3 = ["1,0,2,3 2,,1", "2,0,1,3,2,1", "3,2,1,3,2 1,", "4,0,2,,2 1,3", "5,1,0,1,2,3", "6,1,2,1,,3 2", "7,0,2,,,3 2 1"]


def test_trck_correction_rows_replace_the_rows_they_repeat(tasks):
    rows = TRCK_3[:4] + ["5,2,0,1,2 3,", "6,1,0,1 2,,3"] + ["5,1,0,1,2,3", "6,1,2,1,,3 2", "7,0,2,,,3 2 1"]
    v = hanoi(tasks, TRCK_HEADER + "\n".join(rows) + "\n", 3)
    assert v.outcome == "complete"


def test_trck_a_second_table_replaces_the_first(tasks):
    first = TRCK_3[:2] + ["3,0,1,3,2 1,"] + TRCK_3[3:]  # move 3 is illegal in the first table
    text = TRCK_HEADER + "\n".join(first) + "\n\nLet me redo it.\n\n" + TRCK_HEADER + "\n".join(TRCK_3) + "\n"
    assert hanoi(tasks, text, 3).outcome == "complete"


def test_trck_a_correction_that_is_wrong_is_judged(tasks):
    rows = TRCK_3 + ["3,0,1,3 2,,1"]  # move 3 again: disk 3, on top of peg 0, onto disk 2
    v = hanoi(tasks, TRCK_HEADER + "\n".join(rows) + "\n", 3)
    assert (v.outcome, v.first_error.index if v.first_error else None) == ("cant_do", 2)


def test_narrated_revision_replaces_the_move_it_revises(tasks):
    text = (
        "**Move 1:** Move disk 1 from peg 0 to peg 2\n**Move 2:** Move disk 2 from peg 0 to peg 1\n"
        "**Move 3:** Move disk 1 from peg 2 to peg 0. Wait, no.\n**Move 3:** Move disk 1 from peg 2 to peg 1\n"
        "**Move 4:** Move disk 3 from peg 0 to peg 2\n**Move 5:** Move disk 1 from peg 1 to peg 0\n"
        "**Move 6:** Move disk 2 from peg 1 to peg 2\n**Move 7:** Move disk 1 from peg 0 to peg 2\n"
    )
    assert hanoi(tasks, text, 3).outcome == "complete"


# 6. Malformed fields ----------------------------------------------------------------------------


def test_trck_row_with_a_malformed_state_is_graded_on_its_move(tasks):
    rows = TRCK_3[:2] + ["3,2,1,3,2 1"] + TRCK_3[3:]  # two state fields instead of three
    v = hanoi(tasks, TRCK_HEADER + "\n".join(rows) + "\n", 3)
    assert v.outcome == "complete"
    assert any("state" in n for n in v.notes)


# 7. Elision markers that skip nothing ----------------------------------------------------------


def test_a_heading_with_an_ellipsis_inside_a_gapless_list_is_not_an_elision(tasks):
    lines = french_lines(480, 520, tasks=tasks)
    text = "\n".join(lines[:20]) + "\n\nNow the 500s…\n\n" + "\n".join(lines[20:])
    assert french(tasks, text, 480, 520).outcome == "complete"


def test_an_ellipsis_where_lines_are_missing_is_an_elision(tasks):
    lines = french_lines(0, 100, tasks=tasks)
    text = "\n".join(lines[:30]) + "\n...\n" + "\n".join(lines[90:])
    v = french(tasks, text, 0, 100)
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "elision", 30)


# 8. List formats real models use ------------------------------------------------------------------

FORMATS = {
    "numbered": "{i}. {n} - {w} - {c}",
    "bullet": "- {n} - {w} - {c}",
    "bold": "**{n}** - {w} - {c}",
    "colon_lettres": "{n}: {w} ({c} lettres)",
    "trailing_note": "{n} - {w} - {c} (that is {c} letters)",
    "table": "| {n} | {w} | {c} |",
    "bold_numbered": "{i}. **{n}** - {w} - {c}",
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_french_list_formats_are_read(tasks, name):
    lines = french_lines(0, 120, FORMATS[name], tasks=tasks)
    head = "| n | en lettres | lettres |\n|---|---|---|\n" if name == "table" else "Voici la liste :\n\n"
    v = french(tasks, head + "\n".join(lines) + "\n", 0, 120)
    assert (v.outcome, v.items_correct) == ("complete", 121)


def test_thousands_written_with_a_space_are_read(tasks):
    lines = french_lines(990, 1010, "{sp} - {w} - {c}", tasks=tasks)
    assert french(tasks, "\n".join(lines), 990, 1010).outcome == "complete"


def test_a_trailing_note_on_a_line_does_not_blame_it(tasks):
    lines = french_lines(60, 80, tasks=tasks)
    lines[11] = "71 - soixante et onze - 14 (soixante + et + onze)"
    assert french(tasks, "\n".join(lines), 60, 80).outcome == "complete"


def test_a_numbered_list_that_stops_to_ask_is_wont_do_with_its_items(tasks):
    lines = french_lines(0, 1000, FORMATS["numbered"], tasks=tasks)[:50]
    v = french(tasks, "\n".join(lines) + "\n\nShall I continue?", 0, 1000)
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "offer_to_continue", 50)


# 9. A wrong restatement after a right list -------------------------------------------------------


def test_a_full_length_wrong_restatement_is_the_answer(tasks):
    ms = moves(tasks, 4)
    text = as_list(ms) + "\n\nSo the final answer is:\n\n" + as_list(broken_at(ms, 9, 4))
    v = hanoi(tasks, text, 4)
    assert (v.outcome, v.first_error.index if v.first_error else None) == ("cant_do", 9)


def test_a_short_recap_after_a_complete_list_does_not_override_it(tasks):
    ms = moves(tasks, 4)
    text = as_list(ms) + "\n\nIn short, it starts [[1, 0, 1], [2, 0, 2], [1, 1, 2]] and the rest follows."
    assert hanoi(tasks, text, 4).outcome == "complete"


# 10. Empty answers ------------------------------------------------------------------------------


def test_no_text_only_thinking_and_a_natural_stop_is_unparseable(tasks):
    v = hanoi(tasks, "", 5, thinking="Let me work this out. " * 40, stop_reason="end_turn")
    assert v.outcome == "unparseable"


def test_an_unterminated_thinking_block_is_unparseable(tasks):
    v = hanoi(tasks, "<think>\nThe smallest disk moves every other turn. " * 20, 5, stop_reason="end_turn")
    assert v.outcome == "unparseable"


def test_empty_text_at_the_token_limit_is_budget_exhausted(tasks):
    v = hanoi(tasks, "", 5, thinking="Let me work this out. " * 40, stop_reason="max_tokens")
    assert v.outcome == "budget_exhausted"


def test_noise_with_etc_is_not_an_elision(tasks):
    v = french(tasks, "qwpo zmxn etc vbla rtyu", 0, 100)
    assert v.wont_do_kind != "elision" and not any(e.kind == "elision" for e in v.evidence)


# 11. Claims of completeness ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "claim",
    [
        "That's the complete list from 0 to 1000.",
        "This is the full list.",
        "And that completes the list!",
        "All 1001 lines have been listed above.",
    ],
)
def test_a_claim_of_completeness_after_a_partial_list_is_recorded(tasks, claim):
    lines = french_lines(0, 1000, tasks=tasks)[:120]
    v = french(tasks, "\n".join(lines) + "\n\n" + claim, 0, 1000)
    assert v.outcome == "wont_do" and v.claims_complete


# Found in review -------------------------------------------------------------------------------


def test_a_next_n_heading_inside_a_list_that_goes_straight_on_cuts_nothing(tasks):
    ms = moves(tasks, 3)
    lines = [f"Move disk {d} from peg {a} to peg {b}" for d, a, b in ms]
    text = "\n".join(lines[:3]) + "\n\nNext three moves:\n" + "\n".join(lines[3:]) + "\n"
    assert verify(tasks["hanoi"], {"disks": 3, "format": "lines"}, text).outcome == "complete"
    french_text = "\n".join(french_lines(0, 9, tasks=tasks)) + "\n\nNext ten numbers:\n" + "\n".join(french_lines(10, 20, tasks=tasks))
    assert french(tasks, french_text, 0, 20).outcome == "complete"


def test_prose_split_by_a_stream_reads_as_the_whole_prose(tasks):
    ms = moves(tasks, 10)
    text = "First moves:\n" + as_list(ms[:800])[:-1] + ", ...]\nFull list:\n" + as_list(ms)[len("moves = ") :]
    whole = hanoi(tasks, text, 10)
    k = text.index("Full list") + 4 + 1024
    sv = StreamingVerifier(tasks["hanoi"], {"disks": 10})
    sv.feed(text[:k])
    sv.feed(text[k:])
    assert whole.outcome == "complete" and sv.finish("end_turn") == whole


def test_a_line_repeated_long_after_it_is_out_of_order_not_a_revision(tasks):
    lines = french_lines(0, 20, tasks=tasks)
    lines[3] = "3 - trois - 6"
    v = french(tasks, "\n".join(lines) + "\n3 - trois - 5", 0, 20)
    assert (v.outcome, v.first_error.index if v.first_error else None) == ("cant_do", 3)
    again = french(tasks, "\n".join(lines) + "\n" + "\n".join(french_lines(3, 20, tasks=tasks)), 0, 20)
    assert (again.outcome, again.first_error.index if again.first_error else None) == ("cant_do", 3)


def test_state_tracking_ids_from_zero_are_read_from_zero_with_a_note(tasks):
    rows = [f"{k},{row.split(',', 1)[1]}" for k, row in enumerate(TRCK_3)]
    v = hanoi(tasks, TRCK_HEADER + "\n".join(rows) + "\n", 3)
    assert v.outcome == "complete" and any("from 0" in n for n in v.notes)


def test_a_mark_after_the_count_does_not_hide_the_line(tasks):
    lines = french_lines(0, 20, tasks=tasks)
    lines[5] = "5 - cinq - 4 ✓"
    assert french(tasks, "\n".join(lines), 0, 20).outcome == "complete"


def test_a_list_announced_as_a_part_that_ends_is_a_subset(tasks):
    ms = moves(tasks, 5)
    text = "First 10 moves:\n" + "\n".join(f"Move disk {d} from peg {a} to peg {b}" for d, a, b in ms[:10]) + "\n"
    v = verify(tasks["hanoi"], {"disks": 5, "format": "lines"}, text)
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "subset", 10)


def test_every_line_written_twice_is_read_once(tasks):
    lines = french_lines(0, 2000, tasks=tasks)
    v = french(tasks, "\n".join(line for line in lines for _ in range(2)), 0, 2000)
    assert (v.outcome, v.items_correct) == ("complete", 2001)
