"""json_records with answers as a real model writes them (seed 11, ids 1 to 4): pretty-printed,
keys in another order, lazy, a script instead, cut by the token limit, a wrong value. The verdict
of each was decided before the test first ran."""

from __future__ import annotations

import pytest

from longhaul.verify import verify

# The CSV of seed 11, ids 1 to 4:
#   1,Quinn Tanaka,Glasgow,57.8,false
#   2,Dmitri O'Brien,Jakarta,65.3,false
#   3,Umar Novak,New York,11.78,false
#   4,Bruno Baker,Glasgow,79.92,false

PRETTY = """Here are the records as a JSON array:

```json
[
  {
    "id": 1,
    "name": "Quinn Tanaka",
    "city": "Glasgow",
    "score": 57.8,
    "active": false
  },
  {
    "id": 2,
    "name": "Dmitri O'Brien",
    "city": "Jakarta",
    "score": 65.30,
    "active": false
  },
  {
    "active": false,
    "city": "New York",
    "id": 3,
    "name": "Umar Novak",
    "score": 11.78
  },
  {
    "id": 4,
    "name": "Bruno Baker",
    "city": "Glasgow",
    "score": 79.92,
    "active": false
  }
]
```

All 4 records are included, in the original order.
"""

ONE_PER_LINE = """```json
[
  {"id": 1, "name": "Quinn Tanaka", "city": "Glasgow", "score": 57.8, "active": false},
  {"id": 2, "name": "Dmitri O'Brien", "city": "Jakarta", "score": 65.3, "active": false},
  {"id": 3, "name": "Umar Novak", "city": "New York", "score": 11.78, "active": false},
  {"id": 4, "name": "Bruno Baker", "city": "Glasgow", "score": 79.92, "active": false}
]
```
"""

LAZY = """```json
[
  {"id": 1, "name": "Quinn Tanaka", "city": "Glasgow", "score": 57.8, "active": false},
  {"id": 2, "name": "Dmitri O'Brien", "city": "Jakarta", "score": 65.3, "active": false},
  // ... add the remaining records in the same format
]
```
"""

SCRIPT = """This converts the CSV to the JSON array:

```python
import csv
import json

with open("records.csv", newline="") as f:
    records = [
        {
            "id": int(row["id"]),
            "name": row["name"],
            "city": row["city"],
            "score": float(row["score"]),
            "active": row["active"] == "true",
        }
        for row in csv.DictReader(f)
    ]

print(json.dumps(records, indent=2))
```
"""

CUT = """```json
[
  {
    "id": 1,
    "name": "Quinn Tanaka",
    "city": "Glasgow",
    "score": 57.8,
    "active": false
  },
  {
    "id": 2,
    "name": "Dmitri O'Br"""

WRONG = """```json
[
  {"id": 1, "name": "Quinn Tanaka", "city": "Glasgow", "score": 57.8, "active": false},
  {"id": 2, "name": "Dmitri O'Brien", "city": "Jakarta", "score": 65.3, "active": false},
  {"id": 3, "name": "Umar Novak", "city": "New York", "score": 11.78, "active": "false"},
  {"id": 4, "name": "Bruno Baker", "city": "Glasgow", "score": 79.92, "active": false}
]
```
"""


@pytest.fixture
def task_p(tasks):
    task = tasks["json_records"]
    return task, task.params({"seed": 11, "start": 1, "count": 4})


def test_the_records_are_the_ones_in_the_comments(task_p):
    task, p = task_p
    assert task.prompt(p).user.count("\n1,Quinn Tanaka,Glasgow,57.8,false\n") == 1
    assert "4,Bruno Baker,Glasgow,79.92,false" in task.prompt(p).user


@pytest.mark.parametrize("text", [PRETTY, ONE_PER_LINE], ids=["pretty-keys-reordered", "one-per-line"])
def test_a_complete_answer_is_complete(task_p, text):
    task, p = task_p
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.items_correct) == ("complete", 4), verdict.explanation


def test_a_comment_in_place_of_records_is_elision(task_p):
    task, p = task_p
    verdict = verify(task, p, LAZY)
    assert (verdict.outcome, verdict.wont_do_kind, verdict.items_correct) == ("wont_do", "elision", 2), verdict.explanation
    assert any("add the remaining records" in e.text for e in verdict.evidence)


def test_a_script_that_builds_the_array_is_code_instead(task_p):
    task, p = task_p
    verdict = verify(task, p, SCRIPT)
    assert (verdict.outcome, verdict.wont_do_kind, verdict.items_correct) == ("wont_do", "code_instead", 0), verdict.explanation


def test_a_script_after_declining_to_type_the_records_is_a_refusal(task_p):
    # I expected code_instead; the verifier takes the kind from the answer's words (docs/verdicts.md:
    # a decline, then some of the work, is `refusal`), and "rather than typing every record" declines.
    task, p = task_p
    text = SCRIPT.replace(
        "This converts the CSV to the JSON array:", "Rather than typing every record by hand, you can convert the CSV with a short script:"
    )
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.wont_do_kind) == ("wont_do", "refusal"), verdict.explanation


def test_an_object_cut_by_the_token_limit_is_budget_exhausted(task_p):
    task, p = task_p
    verdict = verify(task, p, CUT, stop_reason="max_tokens")
    assert (verdict.outcome, verdict.items_correct) == ("budget_exhausted", 1), verdict.explanation


def test_a_boolean_written_as_a_string_is_cant_do_naming_the_key(task_p):
    task, p = task_p
    verdict = verify(task, p, WRONG)
    assert verdict.outcome == "cant_do" and verdict.first_error is not None, verdict.explanation
    assert verdict.first_error.index == 2
    assert verdict.first_error.rule == "record 3: 'active' must be a boolean, not a string (\"false\")"


@pytest.mark.parametrize(
    "change, rule",
    [
        ('"city": "Jakarta"', 'record 2: \'city\' is "Lima", the CSV has "Jakarta"'),
        ('"score": 65.3, ', "record 2 has no key 'score'"),
        ('"active": false}', "record 2 has a key 'email' the prompt does not ask for (keys: id, name, city, score, active)"),
    ],
)
def test_a_wrong_key_is_named(task_p, change, rule):
    task, p = task_p
    line = '{"id": 2, "name": "Dmitri O\'Brien", "city": "Jakarta", "score": 65.3, "active": false}'
    bad = line.replace(
        change,
        {'"city": "Jakarta"': '"city": "Lima"', '"score": 65.3, ': "", '"active": false}': '"active": false, "email": "d@x.org"}'}[change],
    )
    verdict = verify(task, p, ONE_PER_LINE.replace(line, bad))
    assert verdict.first_error is not None and (verdict.first_error.index, verdict.first_error.rule) == (1, rule)


def test_a_trailing_comma_is_json_that_does_not_parse(task_p):
    # Every object is right, but a JSON reader rejects the array: the parser's message says why.
    task, p = task_p
    text = ONE_PER_LINE.replace('"active": false}\n]', '"active": false},\n]')
    verdict = verify(task, p, text)
    assert verdict.outcome == "cant_do", verdict.explanation
    assert verdict.first_error is not None and "does not parse" in verdict.first_error.rule
