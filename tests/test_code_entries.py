"""The entry parsers of code tasks on what a class body gives them line by line."""

from __future__ import annotations

import pytest

from longhaul.verify import code_entries


@pytest.mark.parametrize(
    "line",
    [
        "for _n in range(2, 101):",
        "    while n < 100:",
        "def __str__(self) -> str:",
        "@classmethod",
        "if TYPE_CHECKING:",
        "with suppress(KeyError):",
    ],
)
def test_the_header_of_a_loop_or_method_in_a_class_body_is_code_not_a_syntax_error(line):
    # The class body comes one line at a time: the header of a compound statement has no body yet.
    assert code_entries.python_statement_entry(line).kind == "instead"


@pytest.mark.parametrize("line", ["ZERO = 0:", "else:", "UN = (1,", "DEUX = = 2"])
def test_a_line_that_no_body_would_mend_is_still_a_syntax_error(line):
    assert code_entries.python_statement_entry(line).kind == "syntax"


def test_members_docstrings_and_pass_read_as_before():
    assert code_entries.python_statement_entry("    VINGT_ET_UN = 21").value == ("VINGT_ET_UN", 21)
    assert code_entries.python_statement_entry("UN: int = 1").value == ("UN", 1)
    assert code_entries.python_statement_entry("pass").kind == "skip"
    assert code_entries.python_statement_entry("...").kind == "elision"
    assert code_entries.python_statement_entry("ZERO = auto()").kind == "instead"
