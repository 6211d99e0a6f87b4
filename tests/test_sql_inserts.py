"""sql_inserts with answers as a real model writes them (seed 11, ids 1 to 4): one statement per
row inside a transaction, a multi-row insert with the columns in another order, no column list,
lazy, a query instead, cut by the token limit, a wrong value. The verdict of each was decided
before the test first ran."""

from __future__ import annotations

import pytest

from longhaul.verify import verify
from longhaul.verify.lexers import items_in

# The CSV of seed 11, ids 1 to 4:
#   1,Quinn Tanaka,Glasgow,57.8,false
#   2,Dmitri O'Brien,Jakarta,65.3,false
#   3,Umar Novak,New York,11.78,false
#   4,Bruno Baker,Glasgow,79.92,false

PER_ROW = """Here are the inserts:

```sql
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    score NUMERIC(5, 2),
    active BOOLEAN
);

BEGIN;
INSERT INTO people (id, name, city, score, active) VALUES (1, 'Quinn Tanaka', 'Glasgow', 57.8, FALSE);
INSERT INTO people (id, name, city, score, active) VALUES (2, 'Dmitri O''Brien', 'Jakarta', 65.3, FALSE);
INSERT INTO people (id, name, city, score, active) VALUES (3, 'Umar Novak', 'New York', 11.78, FALSE);
INSERT INTO people (id, name, city, score, active) VALUES (4, 'Bruno Baker', 'Glasgow', 79.92, FALSE);
COMMIT;
```
"""

MULTI_ROW = """```sql
INSERT INTO people (name, id, active, city, score) VALUES
    ('Quinn Tanaka', 1, false, 'Glasgow', 57.80),
    ('Dmitri O''Brien', 2, false, 'Jakarta', 65.3),
    ('Umar Novak', 3, 0, 'New York', 11.78),
    ('Bruno Baker', 4, 0, 'Glasgow', 79.92);
```
"""

NO_COLUMNS = """```sql
INSERT INTO people VALUES
  (1, 'Quinn Tanaka', 'Glasgow', 57.8, FALSE),
  (2, 'Dmitri O''Brien', 'Jakarta', 65.3, FALSE),
  (3, 'Umar Novak', 'New York', 11.78, FALSE),
  (4, 'Bruno Baker', 'Glasgow', 79.92, FALSE);
```
"""

LAZY = """```sql
INSERT INTO people (id, name, city, score, active) VALUES
  (1, 'Quinn Tanaka', 'Glasgow', 57.8, FALSE),
  (2, 'Dmitri O''Brien', 'Jakarta', 65.3, FALSE),
  -- ... remaining rows follow the same pattern
  ;
```
"""

QUERY = """```sql
INSERT INTO people (id, name, city, score, active) VALUES
  (1, 'Quinn Tanaka', 'Glasgow', 57.8, FALSE);

INSERT INTO people (id, name, city, score, active)
SELECT g, 'Person ' || g, 'Glasgow', 50.0, FALSE
FROM generate_series(2, 4) AS g;
```
"""

CUT = """```sql
INSERT INTO people (id, name, city, score, active) VALUES (1, 'Quinn Tanaka', 'Glasgow', 57.8, FALSE);
INSERT INTO people (id, name, city, score, active) VALUES (2, 'Dmitri O''Brien', 'Jakarta', 65.3, FALSE);
INSERT INTO people (id, name, city, score, active) VALUES (3, 'Umar Nov"""

WRONG = """```sql
INSERT INTO people (id, name, city, score, active) VALUES
  (1, 'Quinn Tanaka', 'Glasgow', 57.8, FALSE),
  (2, 'Dmitri O''Brien', 'Jakarta', '65.3', FALSE),
  (3, 'Umar Novak', 'New York', 11.78, FALSE),
  (4, 'Bruno Baker', 'Glasgow', 79.92, FALSE);
```
"""


@pytest.fixture
def task_p(tasks):
    task = tasks["sql_inserts"]
    return task, task.params({"seed": 11, "start": 1, "count": 4})


def test_the_records_are_the_ones_in_the_comments(task_p):
    task, p = task_p
    assert "\n2,Dmitri O'Brien,Jakarta,65.3,false\n" in task.prompt(p).user


@pytest.mark.parametrize("text", [PER_ROW, MULTI_ROW, NO_COLUMNS], ids=["per-row-in-a-transaction", "multi-row-reordered", "no-columns"])
def test_a_complete_answer_is_complete(task_p, text):
    task, p = task_p
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.items_correct) == ("complete", 4), verdict.explanation


def test_a_comment_in_place_of_rows_is_elision(task_p):
    task, p = task_p
    verdict = verify(task, p, LAZY)
    assert (verdict.outcome, verdict.wont_do_kind, verdict.items_correct) == ("wont_do", "elision", 2), verdict.explanation


def test_rows_made_by_generate_series_are_code_instead(task_p):
    task, p = task_p
    verdict = verify(task, p, QUERY)
    assert (verdict.outcome, verdict.wont_do_kind, verdict.items_correct) == ("wont_do", "code_instead", 1), verdict.explanation
    assert any("generate_series" in e.text or "SELECT" in e.text for e in verdict.evidence)


def test_a_recursive_cte_is_code_instead(task_p):
    task, p = task_p
    text = (
        "```sql\nINSERT INTO people (id, name, city, score, active)\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4)\n"
        "SELECT i, 'Person ' || i, 'Glasgow', 50.0, FALSE FROM n;\n```\n"
    )
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.wont_do_kind) == ("wont_do", "code_instead"), verdict.explanation


def test_a_row_cut_by_the_token_limit_is_budget_exhausted(task_p):
    task, p = task_p
    verdict = verify(task, p, CUT, stop_reason="max_tokens")
    assert (verdict.outcome, verdict.items_correct) == ("budget_exhausted", 2), verdict.explanation


def test_a_quoted_number_is_cant_do_naming_the_column(task_p):
    task, p = task_p
    verdict = verify(task, p, WRONG)
    assert verdict.outcome == "cant_do" and verdict.first_error is not None, verdict.explanation
    assert verdict.first_error.index == 1
    assert verdict.first_error.rule == "row 2: score must be a number (numbers unquoted), not a string ('65.3')"


@pytest.mark.parametrize(
    "bad, rule",
    [
        ("(3, 'Umar Novak', 'York', 11.78, FALSE)", "row 3: city is 'York', the CSV has 'New York'"),
        ("(3, 'Umar Novak', 'New York', 11.78, 2)", "row 3: active must be a boolean (TRUE/FALSE or 1/0), not a number (2)"),
        (
            "(3, 'Umar Novak', 'New York', 11.78)",
            "row 3 has 4 values; without a column list a row gives the 5 columns id, name, city, score, active in that order",
        ),
    ],
)
def test_a_wrong_value_is_named(task_p, bad, rule):
    task, p = task_p
    verdict = verify(task, p, NO_COLUMNS.replace("(3, 'Umar Novak', 'New York', 11.78, FALSE)", bad))
    assert verdict.first_error is not None and (verdict.first_error.index, verdict.first_error.rule) == (2, rule)


def test_a_backslash_escape_does_not_parse(task_p):
    task, p = task_p
    verdict = verify(task, p, NO_COLUMNS.replace("O''Brien", "O\\'Brien"))
    assert verdict.outcome == "cant_do" and verdict.first_error is not None, verdict.explanation
    assert verdict.first_error.index == 1 and "does not parse" in verdict.first_error.rule


def test_bare_rows_continuing_an_earlier_turn_are_read_in_the_prompts_column_order(task_p):
    task, p = task_p
    continued = "  (3, 'Umar Novak', 'New York', 11.78, FALSE),\n  (4, 'Bruno Baker', 'Glasgow', 79.92, FALSE);\n"
    given = items_in(task, p, continued)
    assert given.first == 2
    assert given.values == [(3, "Umar Novak", "New York", 11.78, False), (4, "Bruno Baker", "Glasgow", 79.92, False)]
    checker = task.checker(p)
    assert [checker.check(v) for v in [*list(task.reference(p))[:2], *given.values]] == [None] * 4


# Found in review: statements a seed script really holds. Each verdict decided before running.
ROWS = """(1, 'Quinn Tanaka', 'Glasgow', 57.8, FALSE),
  (2, 'Dmitri O''Brien', 'Jakarta', 65.3, FALSE),
  (3, 'Umar Novak', 'New York', 11.78, FALSE),
  (4, 'Bruno Baker', 'Glasgow', 79.92, FALSE)"""


@pytest.mark.parametrize(
    "tail",
    [
        "\nON CONFLICT (id) DO NOTHING;",
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;",
        " ON DUPLICATE KEY UPDATE name = VALUES(name);",
        "\nRETURNING id;",
    ],
)
def test_clauses_after_the_rows_end_the_statement_not_the_code(task_p, tail):
    task, p = task_p
    text = f"```sql\nINSERT INTO people (id, name, city, score, active) VALUES\n  {ROWS}{tail}\n```\n"
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.items_correct) == ("complete", 4), verdict.explanation


def test_one_statement_a_row_with_on_conflict_is_complete(task_p):
    task, p = task_p
    rows = [r.strip().rstrip(",") for r in ROWS.splitlines()]
    text = (
        "```sql\n"
        + "".join(f"INSERT INTO people (id, name, city, score, active) VALUES {r} ON CONFLICT DO NOTHING;\n" for r in rows)
        + "```\n"
    )
    assert verify(task, p, text).outcome == "complete"


def test_a_statement_the_parser_does_not_know_is_no_entry(task_p):
    task, p = task_p
    rows = [r.strip().rstrip(",") for r in ROWS.splitlines()]
    body = "".join(f"INSERT INTO people (id, name, city, score, active) VALUES {r};\n" for r in rows[:2])
    body += "PRAGMA foreign_keys = ON;\n"
    body += "".join(f"INSERT INTO people (id, name, city, score, active) VALUES {r};\n" for r in rows[2:])
    assert verify(task, p, f"```sql\n{body}```\n").outcome == "complete"


def test_mysql_backquoted_names_are_read(task_p):
    task, p = task_p
    text = f"```mysql\nINSERT INTO `people` (`id`, `name`, `city`, `score`, `active`) VALUES\n  {ROWS};\n```\n"
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.items_correct) == ("complete", 4), verdict.explanation


def test_a_bracketed_line_of_prose_after_unfenced_sql_is_no_row(task_p):
    task, p = task_p
    text = f"INSERT INTO people (id, name, city, score, active) VALUES\n  {ROWS};\n\n(All 4 rows are included, in the CSV's order.)\n"
    verdict = verify(task, p, text)
    assert (verdict.outcome, verdict.items_correct) == ("complete", 4), verdict.explanation
