"""Patterns every task shares: elision and subset markers, code lines, completeness claims.

Each pattern is bounded in length (no unbounded repeats), because the streaming lexer holds back
only a fixed tail of its buffer: a match must never need more text than that to be decided.
"""

from __future__ import annotations

import re

# "..." and friends inside or between lists, and the phrases models use to skip items.
ELISION = r"""
    (?P<elision>
        \.{3,12} | … | \[\s?\.\.\.\s?\]
      | \b(?:and|or)\s+so\s+(?:on|forth)\b
      | \betc\b\.?
      | \b(?:the\s+)?pattern\s+(?:continues|repeats)\b
      | \bcontinu(?:e|es|ing)\s+(?:in\s+)?(?:the\s+|this\s+)?(?:same\s+)?(?:pattern|way|manner|fashion)\b
      | \b(?:repeat|repeating|following)\s+(?:the\s+|this\s+)?(?:same\s+)?pattern\b
      | \b(?:remaining|rest\s+of\s+the)\s+(?:\d{1,7}\s+)?(?:moves|lines|items|numbers|entries|steps|commands|digests|disks)\b
      | \b(?:omitted|truncated|elided|abbreviated)\b
      | \bfor\s+brevity\b
      | \b(?:similarly|likewise)\s+(?:for|up\s+to|until|through)\b
    )
"""

# "the first 20 moves", "last few moves": the model says it gives a part.
SUBSET = r"""
    (?P<subset>
        \b(?:first|last|final|next)\s+(?:\d{1,7}|few|several|some|two|three|four|five|six|seven|eight|nine|ten|twenty)
        \s+(?:moves|lines|items|numbers|entries|steps|commands|digests|pids|kills)\b
    )
"""

# A line of program code (a definition, a loop, a call assigned as "the answer").
CODE = r"""
    (?P<code>
        ^[ \t]{0,12}(?:
            def\s+\w+\s*\( | class\s+\w+[(:] | import\s+\w | from\s+[\w.]{1,60}\s+import\b
          | for\s+(?:\(\(|\w{1,20}\s+in\b) | while\s+(?:\(|\[|true\b|\w{1,20}\s*[<>!=]) | return\b
          | print\s*\( | function\s+\w+ | \#include\b | console\.log | if\s+__name__
          | seq\s+\d | \w{1,30}\s*=\s*[A-Za-z_]\w{0,30}\([^)\n]{0,80}\)\s*;?\s*$
        )
    )
"""

CODE_FENCE = r"(?P<fence>^[ \t]{0,8}(?:```|~~~)[\w+-]{0,20}[ \t]*$)"

ELISION_WORDS = re.compile(ELISION + "|" + SUBSET, re.IGNORECASE | re.VERBOSE)

CLAIMS_COMPLETE = re.compile(
    r"""
    \b(?:this|that|these|here)(?:\s+(?:is|are|was|were)|['’]s)\s+(?:the\s+)?(?:complete|full|entire|whole)\s+
        (?:list|sequence|solution|set|script|output|answer|table)
  | \b(?:here\s+(?:is|are)|below\s+is|i(?:'ve|\s+have)\s+(?:listed|provided|given|written))\s+(?:the\s+|all\s+(?:the\s+)?)?
        (?:complete|full|entire|whole)\b
  | \ball\s+(?:of\s+the\s+)?\d[\d,]{0,9}\s+(?:moves|lines|items|numbers|entries|steps|commands|digests|pids)
        \s+(?:are|have\s+been|were)\s+(?:listed|shown|given|included|provided|printed)
  | \b(?:completes|concludes)\s+(?:the|all)\b
  | \b(?:list|sequence|solution|script|output)\s+(?:is|was)\s+(?:now\s+)?complete\b
  | \bthat(?:'s|\s+is)\s+(?:all|every)\b
  | \b(?:solves|solved)\s+the\s+puzzle\b
  | \breach(?:es|ed)?\s+the\s+goal\b
    """,
    re.IGNORECASE | re.VERBOSE,
)

IMPOSSIBLE = re.compile(
    r"""
    \b(?:is|are|be)\s+(?:mathematically\s+|logically\s+)?(?:impossible|unsolvable|not\s+solvable|insoluble)\b
  | \bno\s+(?:valid\s+|possible\s+|legal\s+)?(?:solution|way|sequence)\s+(?:exists|is\s+possible|to\s+solve|that)\b
  | \b(?:has|have)\s+no\s+(?:valid\s+)?solution\b
  | \bcannot\s+be\s+solved\b | \bcan't\s+be\s+solved\b
  | \bimpossible\s+to\s+(?:solve|cross|get|transport|move)\b
  | \bthere\s+is\s+no\s+(?:valid\s+)?(?:solution|way)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
