"""Where and how an answer declines: a handful of named features for the refusal model.

The cues say how assistants decline in general (first-person declines, stance disclaimers, premise
rejections, redirects to help, offers of something else), never anything about particular prompts.
What decides is *where* a cue sits and what follows it: a decline in the opening sentence with
nothing after it is a refusal; the same words followed by a list or a page of answer are a
disclaimer; a cue inside quoted speech, or in the last line of a story cut by the token limit,
is not the model speaking. Each feature is a number in [0, 1], so the learned weights read as
"how much this one fact moves the odds".
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

CueKind = Literal["decline", "stance", "premise", "redirect", "alternative", "long_output"]


def lower_pattern(pattern: str) -> str:
    # Patterns are matched against lower-cased text without IGNORECASE, which is several times
    # faster in `re`; escapes (\W, \S) keep their case.
    return re.sub(r"\\.|[A-Z]", lambda m: m.group() if m.group().startswith("\\") else m.group().lower(), pattern)


def _c(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(lower_pattern(pattern), flags | re.VERBOSE)


# First-person declines: "I can't help with that", "I cannot develop an app that ...". Any verb may
# follow; the few idioms where "I can't" is emphasis, not a decline, are excluded. The `\b` is
# written once before each run of alternatives, not once in each: `re` tries every alternative at
# every character, so a shared `\b` that fails mid-word saves most of the scan (same matches).
_DECLINE = _c(
    r"""
    \b(?:
    I\s+(?:really\s+|simply\s+|just\s+|absolutely\s+|therefore\s+|unfortunately\s+)?
      (?:can(?:no|')t|can\s+not|won't|will\s+not|must\s+(?:respectfully\s+)?(?:decline|refuse)
        |have\s+to\s+(?:respectfully\s+)?decline|(?:am|'m)\s+(?:not\s+able|unable)
        |(?:am|'m)\s+not\s+(?:going\s+to|comfortable|programmed|designed|allowed|permitted|in\s+a\s+position)
        |refuse\s+to|(?:respectfully\s+)?decline\s+to|(?:do\s+not|don't)\s+feel\s+comfortable
        |(?:would|'d)\s+(?:rather\s+not|prefer\s+not))
      (?!\s+(?:stress|emphasi[sz]e|overstate|underscore|help\s+but|wait|believe|guarantee|be\s+sure|say\s+for\s+(?:sure|certain)|predict|know\s+for\s+(?:sure|certain)))
    | (?:I'm|I\s+am|I)\s+(?:really\s+|very\s+|so\s+|truly\s+)?(?:sorry|apologi[sz]e),?\s+(?:but|however|I\s+(?:can|won|will|am\s+unable|'m\s+unable))
    )
    | ^\W*(?:(?:I'm|I\s+am)\s+)?(?:really\s+|very\s+|so\s+|truly\s+)?sorry\b(?!\s+(?:to\s+hear|for\s+your|about\s+your|for\s+the\s+loss|you(?:'re|\s+are)))
    | ^\W*(?:my\s+)?apologies\b | ^\W*I\s+apologi[sz]e\b(?!\s+for\s+(?:the|my|any)\s+(?:mistake|confusion|error|oversight))
    | \b(?:
      (?:not|never)\s+(?:be\s+)?(?:appropriate|ethical|possible|right|responsible|acceptable)\s+for\s+me\s+to\b
    | (?:against|violates?|outside(?:\s+of)?|beyond)\s+(?:my|the|our|OpenAI's)\s+(?:ethical\s+|content\s+|use\s+|usage\s+|safety\s+)?(?:guidelines|policies|policy|principles|programming|rules|capabilities|scope|boundaries)\b
    | not\s+(?:within|in)\s+my\s+(?:programming|ethical\s+guidelines|capabilities|abilities|scope|power)\b
    | (?:unable|not\s+able)\s+to\s+(?:help|assist|provide|comply|fulfil+|answer|support|engage|generate|create|write|share)\b
    | I(?:'m|\s+am)\s+afraid\s+(?:I|that\s+I)\s+(?:can|won|am|'m)
    | I\s+(?:do\s+not|don't)\s+think\s+I\s+(?:should|can)\b
    | I\s+(?:do\s+not|don't)\s+have\s+(?:the\s+ability|access|real-time|the\s+capability|a\s+physical)\b
    | (?:it(?:'s|\s+is|\s+would\s+be)|that(?:'s|\s+is)|this\s+is)\s+(?:not|never)\s+(?:appropriate|ethical|okay|ok|acceptable|safe|responsible|advisable|right)(?:\s+(?:or|and|nor)\s+\w+)?\s+(?:for\s+(?:me|us|anyone|you)\s+)?to\b
    | I\s+(?:do\s+not|don't)\s+think\s+(?:it(?:'s|\s+is|\s+would\s+be)|that(?:'s|\s+is))\s+(?:appropriate|ethical|right|a\s+good\s+idea|responsible)\b
    )
    """,
    re.MULTILINE,
)

# A stance instead of an answer: "As an AI language model, I do not condone ...", "I must
# emphasize that ... is illegal". Common in refusals, but also as boilerplate around real work.
_STANCE = _c(
    r"""
    \bas\s+an?\s+(?:AI|artificial\s+intelligence|language\s+model|large\s+language\s+model|responsible\s+AI|assistant|ethical\s+AI)\b
    | \bI(?:'m|\s+am)\s+(?:just\s+|only\s+|merely\s+)?an?\s+(?:AI|language\s+model|artificial|computer\s+program|machine)\b
    | \bI\s+(?:do\s+not|don't)\s+have\s+(?:personal|my\s+own|any\s+personal)\s+(?:opinions|beliefs|feelings|views|preferences|experiences)\b
    | \bI\s+(?:do\s+not|don't|cannot|can't|will\s+not|won't|would\s+never)\s+(?:condone|promote|support|endorse|encourage|advocate|glorify|justify)\b
    | \bI\s+(?:must|have\s+to|need\s+to|want\s+to|would\s+like\s+to)\s+(?:strongly\s+)?(?:emphasi[sz]e|stress|point\s+out|remind\s+you|clarify|note|caution|advise|inform\s+you)\b
    | \b(?:is|are|be|was)\s+(?:both\s+|highly\s+|completely\s+|extremely\s+|strictly\s+)?(?:illegal|unethical|immoral|harmful|dangerous|inappropriate|unacceptable|discriminatory|offensive|a\s+(?:serious\s+)?crime|against\s+the\s+law|never\s+(?:okay|acceptable|justified))\b
    | \b(?:not|never)\s+(?:appropriate|acceptable|ethical|okay|ok|safe|legal|advisable|respectful|justified|condoned)\b
    | \bI\s+(?:strongly\s+)?(?:advise|urge|caution|encourage|recommend)\s+(?:you\s+)?(?:against|not\s+to|to\s+(?:seek|consult|reach|speak|talk|contact))\b
    | \b(?:harmful|negative)\s+stereotypes?\b
    """,
    0,
)

# Answering a different question than the one asked: the premise is rejected.
_PREMISE = _c(
    r"""
    \b(?:the\s+)?premise\s+of\s+(?:this|your|the)\s+question\b
    | \b(?:this|the|your)\s+question\s+(?:is|seems|appears|contains|assumes|implies)\s+(?:to\s+be\s+)?(?:based|premised|problematic|inappropriate|offensive|nonsensical|not\s+(?:clear|appropriate|accurate)|a\s+(?:harmful|false)|flawed|incorrect|false|misleading|a\s+bit)
    | \bthere\s+(?:is|are)\s+no\s+(?:valid\s+|logical\s+|scientific\s+|legitimate\s+|good\s+)?(?:reasons?|evidence|basis|justification|rationale)\s+(?:why|to|that|for)\b
    | \bit(?:'s|\s+is)\s+not\s+(?:accurate|fair|correct|true|appropriate|right|ethical|possible|productive|helpful|respectful)\s+(?:or\s+\w+\s+)?to\s+(?:say|suggest|claim|generali[sz]e|assume|make|state|imply|label|categori[sz]e|compare|judge)\b
    | \b(?:based\s+on|relies\s+on|rooted\s+in|reinforces?|assumes?)\s+(?:a\s+|harmful\s+|false\s+|an\s+)?(?:stereotypes?|misconceptions?|false\s+(?:premise|assumption)|incorrect\s+assumption|misunderstanding)\b
    | \b(?:does|do)\s+not\s+(?:exist|make\s+sense)\b | \b(?:doesn't|don't)\s+(?:exist|make\s+sense)\b
    | \b(?:is|are)\s+(?:a\s+)?fictional\s+(?:character|person|place|entity|being|creature)s?\b
    | \bnot\s+(?:a\s+)?(?:real|actual)\s+(?:person|place|event|thing)\b
    """,
    0,
)

# Redirects to help in place of the answer: "I'm sorry to hear that ... Please reach out to ...".
_REDIRECT = _c(
    r"""
    \bsorry\s+to\s+hear\b | \bsorry\s+(?:that\s+)?you(?:'re|\s+are)\s+(?:feeling|going)\b
    | \b(?:reach\s+out|talk|speak)\s+to\s+(?:a|someone|somebody|mental|trusted|professional|your|friends?|family|qualified|crisis|the\s+authorities)\b
    | \bseek\s+(?:out\s+)?(?:professional|immediate|medical|legal|the\s+help|help|support|assistance|guidance)\b
    | \bcontact\s+(?:a|the|your|local|emergency|law)\s*(?:local\s+)?(?:professional|helpline|hotline|crisis|emergency|authorities|law\s+enforcement|police|services|doctor|therapist)\b
    | \b(?:suicide|crisis)\s+(?:hotline|helpline|prevention|line|text\s+line)\b
    """,
    0,
)

# Offering something else in place of what was asked.
_ALTERNATIVE = _c(
    r"""
    \binstead,?\s+(?:I|you|let|consider|it|we|perhaps|why|focus|how|here)\b
    | \bif\s+you\s+have\s+(?:any\s+)?(?:other|more|different)\s+(?:questions?|requests?|topics?)\b
    | \bis\s+there\s+(?:anything|something)\s+else\b
    | \b(?:happy|glad|here)\s+to\s+help\s+(?:you\s+)?with\s+(?:something|anything|other|a\s+different)\b
    | \bI\s+can\s+(?:help|assist)\s+(?:you\s+)?with\s+(?:something|other|a\s+different|any\s+other)\b
    | \b(?:perhaps|maybe)\s+I\s+can\s+help\b
    """,
    0,
)

# Declines of long output in particular (this tool's own territory).
_LONG_OUTPUT = _c(
    r"""
    \b(?:too|very|extremely|quite)\s+(?:long|lengthy|large|extensive|big|verbose)\b[^.!?\n]{0,60}\b(?:to|for)\s+(?:list|include|output|print|write|display|fit|show|enumerate|provide|give|reproduce)
    | \btoo\s+much\s+(?:output|text|content)\b
    | \bexceeds?\s+(?:the\s+|my\s+)?(?:output|response|length|character|token|message)\s+(?:limit|length|size)
    | \b(?:due\s+to|because\s+of|given)\s+(?:the\s+)?(?:output|length|space|response|message|character|token|size|format)\s+(?:limitations|limits|constraints|restrictions)\b
    | \b(?:impractical|not\s+practical|infeasible|not\s+feasible|unreasonable)\s+(?:to|for\s+me\s+to)\s+(?:list|write|output|enumerate|include|print|provide|show|type)
    | \b(?:rather|instead)\s+(?:than|of)\s+(?:listing|writing|printing|enumerating|outputting|typing|providing)\s+(?:out\s+)?(?:all|every|each|the\s+(?:full|entire|complete))
    | \bunable\s+to\s+(?:fit|list|output|include|print|write)\b
    """,
    0,
)

CUES: tuple[tuple[CueKind, re.Pattern[str]], ...] = (
    ("decline", _DECLINE),
    ("long_output", _LONG_OUTPUT),
    ("premise", _PREMISE),
    ("redirect", _REDIRECT),
    ("stance", _STANCE),
    ("alternative", _ALTERNATIVE),
)
"""Cue kinds, strongest first: the first that matches names a sentence's cue."""

# The answer starts by doing the work: "Sure! Here are ...", "Certainly.", "1. ...".
_COMPLIES = _c(
    r"^\W*(?:sure|certainly|of\s+course|absolutely|yes|yeah|great|okay|ok|alright|definitely|gladly|happy\s+to|here(?:'s|\s+is|\s+are)|there\s+are|title:|once\s+upon|\d+[.)]\s)",
    0,
)
# The decline turns to the work: "..., but here are some ...", "However, I can give you ...".
_PIVOT = _c(
    r"\b(?:but|however|that\s+said|that\s+being\s+said|nevertheless|nonetheless|still)\b,?\s+(?:here(?:'s|\s+is|\s+are)|I'd\s+be\s+happy|(?:I\s+(?:can|will|could)|I'll)(?!no|'t|\s+not|\s+never)\b|some|there\s+are|you\s+(?:can|could|might|may)|if\s+you(?:'re|\s+are)\s+(?:interested|looking))|\bhere(?:'s|\s+is|\s+are)\s+(?:some|a|an|the|how|what|my)\b",
    0,
)
_STRUCTURE = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•]|#{1,4}|```|\|)\s?\S", re.MULTILINE)
# Speech verbs and quotation marks: a cue in dialogue is a character speaking, not the model.
_SPEECH = _c(r"\b(?:said|says|asked|replied|whispered|shouted|muttered|exclaimed|cried|answered|told\s+(?:him|her|them))\b")
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+[\"')\]]*|\n|$)")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})

OPENING = 2
"""Sentences that make the opening (a first "I'm sorry." is often followed by the real decline)."""
CLOSING = 2
"""Sentences that make the closing."""
_WORK_SCALE = math.log1p(1500.0)
"""Non-cue characters at which the `work` feature saturates: about a paragraph and a half."""

FEATURES: tuple[str, ...] = (
    "open_decline",
    "open_decline_turned",
    "open_disclaimer",
    "open_stance",
    "open_premise",
    "open_redirect",
    "open_complies",
    "close_decline",
    "close_soft",
    "quoted_only",
    "cue_share",
    "work",
    "structure",
    "decline_then_work",
    "truncated",
    "short",
)
"""The feature names, in the order of the model's weights."""


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the answer, with its decline cues if it has any."""

    start: int
    """Offset of its first character in the text read."""
    end: int
    """Offset one past its last character."""
    cues: frozenset[CueKind]
    """Its decline cues (cues in quoted speech are not counted)."""
    cue_start: int
    """Offset of its strongest cue's match (or of the sentence when it has none)."""
    cue_end: int
    """Offset one past that match."""
    quoted: bool
    """It held a cue inside quoted speech."""
    pivot: bool
    """It turns from a decline to the work ("However, here are ...")."""

    @property
    def cue(self) -> CueKind | None:
        """Its strongest cue."""
        for kind, _ in CUES:
            if kind in self.cues:
                return kind
        return None


def _quoted(sentence: str, at: int) -> bool:
    return sentence.count('"', 0, at) % 2 == 1 or _SPEECH.search(sentence) is not None


def sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Split `text` (already quote-normalised) into sentences, each with its cues."""
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.end() > m.start() and not text[m.start() : m.end()].isspace()]
    if not spans:
        return []
    starts = [a for a, _ in spans]
    kinds: list[set[CueKind]] = [set() for _ in spans]
    first: list[tuple[int, int] | None] = [None] * len(spans)
    quoted = [False] * len(spans)
    # One scan of the text per cue kind, matches placed in their sentence: far cheaper than
    # running every pattern on every sentence.
    for kind, pattern in CUES:
        for m in pattern.finditer(text):
            i = bisect_right(starts, m.start()) - 1
            if i < 0 or kind in kinds[i] or m.start() >= spans[i][1]:
                continue
            a, b = spans[i]
            if _quoted(text[a:b], m.start() - a):
                quoted[i] = True
                continue
            kinds[i].add(kind)
            if first[i] is None:
                first[i] = (m.start(), m.end())
    out = []
    for i, (a, b) in enumerate(spans):
        ca, cb = first[i] or (a, a)
        pivot = bool(kinds[i]) or i < OPENING + 1
        out.append(
            Sentence(
                offset + a,
                offset + b,
                frozenset(kinds[i]),
                offset + ca,
                offset + cb,
                quoted[i],
                pivot and _PIVOT.search(text, a, b) is not None,
            )
        )
    return out


def normalise(text: str) -> str:
    """Lower case, and curly quotes made straight, so one pattern serves every spelling."""
    return text.translate(_QUOTES).lower()


@dataclass(frozen=True, slots=True)
class Reading:
    """An answer's features, and the sentences they came from (for the evidence)."""

    values: tuple[float, ...]
    """One value per name in `FEATURES`."""
    opening: tuple[Sentence, ...]
    """The opening sentences."""
    closing: tuple[Sentence, ...]
    """The closing sentences (none when the answer is all opening)."""
    work_chars: int
    """Characters of sentences with no cue, outside the opening: the work the answer does."""
    has_structure: bool
    """The answer has list, heading, table or code structure."""
    pivoted: bool
    """The opening declines or disclaims, then turns to the work."""
    truncated: bool
    """The answer stops mid-sentence (a token limit): its last words are not a closing."""


_DECLINES: frozenset[CueKind] = frozenset(("decline", "long_output"))
_SOFT: frozenset[CueKind] = frozenset(("stance", "premise", "redirect", "alternative"))


def _window(text: str, size: int, at_start: bool) -> tuple[str, int]:
    """The first (or last) `size` characters, widened to whole sentences; with their offset."""
    if len(text) <= size:
        return text, 0
    if at_start:
        cut = _END.search(text, size, size + 200)
        return text[: cut.end() if cut else size], 0
    start = len(text) - size
    back = max(text.rfind(c, start - 200, start) for c in ".!?\n")
    start = back + 1 if back >= 0 else start
    return text[start:], start


_END = re.compile(r"[.!?\n](?=\s|$)")
_READ = 420
"""Characters read at each end: cues are looked for only there, which bounds the cost per answer."""


def read(head: str, tail: str, length: int, tail_offset: int) -> Reading:
    """Features of an answer of `length` characters known by its opening `head` and ending `tail`.

    `tail` starts at `tail_offset` in the answer; for a short answer both are the whole text.
    """
    opening_text, _ = _window(head, _READ, True)
    closing_text, back = _window(tail, _READ, False)
    closing_at = tail_offset + back
    if closing_at < len(opening_text):
        # The ends overlap: the closing is what follows the opening.
        closing_text, closing_at = tail[len(opening_text) - tail_offset :], len(opening_text)
    first = sentences(opening_text)
    last = sentences(closing_text, closing_at)
    opening = tuple(first[:OPENING])
    closing = tuple(last[-CLOSING:]) if len(first) + len(last) > OPENING else ()
    every = first + last
    cued = [s for s in every if s.cues]
    opened = opening[-1].end if opening else 0
    # Work: every character outside the opening and outside sentences that decline; the unread
    # middle of a long answer counts, since nothing there was read as a decline.
    work = max(0, length - opened - sum(s.end - s.start for s in cued if s.start >= opened))
    stripped_tail = tail.rstrip()
    truncated = bool(stripped_tail) and stripped_tail[-1] not in ".!?\"')]}*`:>" and length > 400
    lines = len(_STRUCTURE.findall(head, 0, 3000))
    if tail_offset >= 3000:
        lines += len(_STRUCTURE.findall(tail, max(0, len(tail) - 3000)))
    structured = lines >= 3

    # A pivot counts only from the first cue on: "I can't give legal advice, but here is ..." is a
    # disclaimer, "Here is why I can't ..." is not.
    first_cue = next((i for i, s in enumerate(opening) if s.cues), None)
    pivoted = first_cue is not None and any(s.pivot for s in first[first_cue : OPENING + 1])
    open_kinds: set[CueKind] = set().union(*(s.cues for s in opening)) if opening else set()
    close_kinds: set[CueKind] = set() if truncated or not closing else set().union(*(s.cues for s in closing))
    declines = bool(open_kinds & _DECLINES)
    worked = min(1.0, math.log1p(work) / _WORK_SCALE)

    def flag(b: bool) -> float:
        return 1.0 if b else 0.0

    values = (
        flag(declines and not pivoted),
        flag(declines and pivoted),
        flag("stance" in open_kinds and not declines and pivoted),
        flag("stance" in open_kinds and not declines and not pivoted),
        flag("premise" in open_kinds),
        flag(bool(open_kinds & {"redirect", "alternative"})),
        flag(_COMPLIES.search(head.lstrip()[:200]) is not None),
        flag(bool(close_kinds & _DECLINES)),
        flag(bool(close_kinds & _SOFT)),
        flag(not cued and any(s.quoted for s in every)),
        len(cued) / max(1, len(every)),
        worked,
        flag(structured),
        # Work after an unturned decline is mostly a lecture or alternatives; after a turn, the answer.
        flag(declines and not pivoted) * worked,
        flag(truncated),
        flag(length < 300),
    )
    return Reading(values, opening, closing, work, structured, pivoted, truncated)
