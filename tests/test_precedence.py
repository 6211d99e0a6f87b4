"""Each precedence rule of the verifier, on small hand-written answers."""

from __future__ import annotations

from longhaul.verify import StreamingVerifier, verify

H3 = "[1, 0, 2], [2, 0, 1], [1, 2, 1], [3, 0, 2], [1, 1, 0], [2, 1, 2], [1, 0, 2]"


def hanoi(tasks, text, n=3, **kw):
    return verify(tasks["hanoi"], {"disks": n}, text, **kw)


def test_wrong_item_before_token_limit_is_cant_do(tasks):
    v = hanoi(tasks, "moves = [[1, 0, 2], [2, 0, 2], [1, 2, 1]", stop_reason="max_tokens")
    assert v.outcome == "cant_do" and v.first_error.index == 1


def test_wrong_item_then_apology_is_cant_do(tasks):
    v = hanoi(tasks, "moves = [[1, 0, 2], [3, 0, 1]]\n\nI'm sorry, this is too long to list in full.")
    assert v.outcome == "cant_do" and v.first_error.index == 1


def test_first_k_then_last_k_is_wont_do_not_an_illegal_seam(tasks):
    ref = list(tasks["hanoi"].reference(tasks["hanoi"].params({"disks": 6})))
    first = ", ".join(f"[{d}, {a}, {b}]" for d, a, b in ref[:20])
    last = ", ".join(f"[{d}, {a}, {b}]" for d, a, b in ref[-10:])
    v = hanoi(tasks, f"moves = [{first}, ..., {last}]", n=6)
    assert (v.outcome, v.items_correct, v.wont_do_kind) == ("wont_do", 20, "elision")


def test_error_before_elision_wins(tasks):
    v = hanoi(tasks, "moves = [[1, 0, 2], [2, 2, 0], ... ]")
    assert v.outcome == "cant_do" and v.first_error.index == 1


def test_clean_prefix_at_max_tokens_is_budget_exhausted(tasks):
    v = hanoi(tasks, "moves = [[1, 0, 2], [2, 0, 1], [1, 2", stop_reason="max_tokens")
    assert (v.outcome, v.items_correct) == ("budget_exhausted", 2)


def test_thinking_ate_the_budget(tasks):
    v = hanoi(tasks, "", thinking="Let me think about this carefully. " * 50, stop_reason="max_tokens")
    assert v.outcome == "budget_exhausted" and "thinking" in v.explanation


def test_clean_prefix_ended_by_the_model_is_wont_do(tasks):
    v = hanoi(tasks, "moves = [[1, 0, 2], [2, 0, 1]]\n\nWould you like me to continue with the rest?")
    assert (v.outcome, v.wont_do_kind, v.items_correct) == ("wont_do", "offer_to_continue", 2)


def test_gap_in_numbered_items_is_cant_do_missing(tasks):
    text = "\n".join(str(i) for i in range(1, 31) if i != 17)
    v = verify(tasks["count"], {"end": 30}, text)
    assert v.outcome == "cant_do" and v.first_error.index == 16 and "missing" in v.first_error.rule


def test_last_list_wins_and_earlier_lists_are_evidence(tasks):
    text = f"Draft: moves = [[1, 0, 1], [2, 0, 2], [1, 2, 2]]\nWait, let me correct that.\nmoves = [{H3}]"
    assert hanoi(tasks, text).outcome == "complete"


def test_text_after_the_closing_bracket_is_not_items(tasks):
    text = f"moves = [{H3}]\n\n1. Move disk 1 from peg 0 to peg 2 is the first move, as shown.\n"
    v = hanoi(tasks, text)
    assert v.outcome == "complete" and v.items_correct == 7


def test_moves_after_the_goal_are_executed(tasks):
    v = hanoi(tasks, f"moves = [{H3}, [1, 2, 0]]")
    assert v.outcome == "cant_do" and v.first_error.index == 7


def test_non_optimal_legal_solution_is_complete_with_a_note(tasks):
    text = "moves = [[1, 0, 1], [1, 1, 2], [2, 0, 1], [1, 2, 0], [1, 0, 1], [3, 0, 2], [1, 1, 0], [2, 1, 2], [1, 0, 2]]"
    v = hanoi(tasks, text)
    assert v.outcome == "complete" and "not optimal" in v.notes[0]


def test_code_instead_of_moves(tasks):
    text = "```python\ndef hanoi(n, a, b, c):\n    if n == 0:\n        return\n```\nThis code will generate all the moves."
    v = hanoi(tasks, text, n=12)
    assert (v.outcome, v.wont_do_kind) == ("wont_do", "code_instead")


def test_refusal(tasks):
    v = verify(tasks["kill_script"], {"start": 100, "end": 200}, "I'm sorry, but I can't help with killing processes.")
    assert (v.outcome, v.wont_do_kind) == ("wont_do", "refusal")


def test_claims_complete_on_a_short_list(tasks):
    v = hanoi(tasks, "moves = [[1, 0, 2], [2, 0, 1]]\n\nThis is the complete list of moves.")
    assert v.outcome == "wont_do" and v.claims_complete


def test_unsolvable_river_crossing(tasks):
    rc = tasks["river_crossing"]
    assert verify(rc, {"pairs": 6, "capacity": 3}, "With capacity 3 this is impossible: no solution exists.").outcome == "complete"
    v = verify(rc, {"pairs": 6, "capacity": 3}, 'moves = [["A_1", "a_1"], ["A_1"]]')
    assert v.outcome == "cant_do"


def test_streaming_says_cant_do_before_the_end(tasks):
    task = tasks["hanoi"]
    v = StreamingVerifier(task, task.params({"disks": 10}))
    ref = list(task.reference(task.params({"disks": 10})))
    text = "moves = [" + ", ".join(f"[{d}, {a}, {b}]" for d, a, b in ref[:5]) + ", [9, 0, 1]"
    text += ", [1, 0, 2]" * 3000  # the stream goes on after the wrong item
    failed_at = None
    for i in range(0, len(text), 500):
        v.feed(text[i : i + 500])
        if v.failed is not None:
            failed_at = i
            break
    assert failed_at is not None and failed_at < len(text) // 2
    assert v.failed.index == 5


def test_first_error_line_inside_a_multiline_list(tasks):
    text = "Here you go:\nmoves = [[1, 0, 2],\n [2, 0, 1],\n [1, 2, 1],\n [3, 1, 2]]"
    v = hanoi(tasks, text)
    assert v.outcome == "cant_do" and v.first_error.index == 3 and v.first_error.line == 5
