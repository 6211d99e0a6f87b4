"""Tower of Hanoi, with Apple's *Illusion of Thinking* prompt and format as the default."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from longhaul import Item, Mistake, Prompt, Task, TaskParams, params_or_none

Move = tuple[int | None, int, int]
"""(disk or None where the format leaves it implied, from peg, to peg), pegs 0-2."""


class Params(TaskParams):
    disks: int = Field(3, ge=1, le=20, description="number of disks (1-20)")
    format: Literal["list", "csv", "lines"] = Field("list", description="answer format the prompt asks for")
    pegs: Literal["0-2", "1-3", "A-C"] = Field("0-2", description="how the prompt names the pegs")


SYSTEM = """You are a helpful assistant. Solve this puzzle for me.

There are three pegs and n disks of different sizes stacked on the first peg. The disks are numbered from 1 (smallest) to n (largest). Disk moves in this puzzle should follow:

1. Only one disk can be moved at a time.
2. Each move consists of taking the upper disk from one stack and placing it on top of another stack.
3. A larger disk may not be placed on top of a smaller disk.

The goal is to move the entire stack to the third peg.

**Example**: With 3 disks numbered 1 (smallest), 2, and 3 (largest), the initial state is `[[3, 2, 1], [], []]`, and a solution might be:

```
{example}
```

This means: Move disk 1 from {p0} to {p2}, then move disk 2 from {p0} to {p1}, and so on.

**Requirements**:
- When exploring potential solutions in your thinking process, always include the corresponding complete list of moves.
- The positions are {indexing} (the leftmost peg is {first}).
- Ensure your final answer includes the complete list of moves in the format:

```
{format}
```
"""

USER = """I have a puzzle with {n} disks of different sizes with

**Initial configuration**:
- Peg {a}: {tower}
- Peg {b}: (empty)
- Peg {c}: (empty)

**Goal configuration**:
- Peg {a}: (empty)
- Peg {b}: (empty)
- Peg {c}: {tower}

**Rules**:
- Only one disk can be moved at a time.
- Only the top disk from any stack can be moved.
- A larger disk may not be placed on top of a smaller disk.

Find the sequence of moves to transform the initial configuration into the goal configuration.
"""


def _peg_names(p: Params) -> tuple[str, str, str]:
    return {"0-2": ("0", "1", "2"), "1-3": ("1", "2", "3"), "A-C": ("A", "B", "C")}[p.pegs]


def _peg(token: str, p: Params) -> int:
    """A peg as written, to 0-2. Letters are unambiguous; digits follow the prompt's numbering."""
    if token.isalpha():
        return ord(token.upper()) - ord("A")
    value = int(token)
    return value - 1 if p.pegs == "1-3" else value


class Hanoi(Task[Params]):
    name = "hanoi"
    summary = "Tower of Hanoi: 2^n - 1 moves; any legal sequence reaching the goal is complete."
    params_model = Params
    size_param = "disks"

    # One `[disk, from, to]` inside a `moves = [[...], ...]` list.
    list_item = r"\[[ \t]{0,4}\d{1,2}[ \t]{0,4},[ \t]{0,4}['\"]?[A-Ca-c0-3]['\"]?[ \t]{0,4},[ \t]{0,4}['\"]?[A-Ca-c0-3]['\"]?[ \t]{0,4}\]"
    list_opener = r"(?:move_id|disk(?:_id)?)\s{0,2},\s{0,2}from(?:_peg)?\s{0,2},\s{0,2}to(?:_peg)?[\w, ]{0,40}"
    # 4,0,2,,2 1,3 : the state-tracking rows (move id, from, to, then the pegs after the move).
    # The state is the model's bookkeeping, not graded: any number of fields is read, and a row
    # whose state does not have three gets a note. One state field is only a state when it could
    # not be a CSV row's last number (empty, or several disks).
    keyed_item = r"""
        (?P<k_id>\d{1,7})[ \t]{0,3},[ \t]{0,3}(?P<k_from>[0-3])[ \t]{0,3},[ \t]{0,3}(?P<k_to>[0-3])[ \t]{0,3}
        (?P<k_state>(?:,[ \t\d]{0,80}){2,8}|,[ \t]{0,8}|,[ \t]{0,4}\d{1,2}(?:[ \t]{1,4}\d{1,2}){1,20}[ \t]{0,4})$
    """
    line_item = r"""
        (?:
            # 12. Move disk 1 from peg A to peg C (prose lines, optionally numbered)
            (?:\*\*)?(?:(?:move|step)[ \t]{0,3})?(?:(?P<t_lnum>\d{1,7})[ \t]{0,3}[.):][ \t]{0,4})?(?:\*\*)?[ \t]{0,4}
                move\s{1,3}disk\s{0,3}(?P<t_ldisk>\d{1,2})\s{1,3}from\s{1,3}(?:peg\s{0,3})?(?P<t_lfrom>[A-Ca-c0-3])
                \s{1,3}to\s{1,3}(?:peg\s{0,3})?(?P<t_lto>[A-Ca-c0-3])
                \b[^\n]{0,200}$
          | # 1,0,2 : CSV rows, optionally with a move number in front
            (?:(?P<t_cnum>\d{1,7})[ \t]{0,3}[,.:)][ \t]{0,3})??(?P<t_cdisk>\d{1,2})[ \t]{0,3},[ \t]{0,3}['\"]?(?P<t_cfrom>[A-Ca-c0-3])['\"]?[ \t]{0,3},[ \t]{0,3}['\"]?(?P<t_cto>[A-Ca-c0-3])['\"]?[ \t]{0,3}$
        )
    """

    def prompt(self, p: Params) -> Prompt:
        names = _peg_names(p)
        example = [(1, 0, 2), (2, 0, 1), (1, 2, 1), (3, 0, 2), (1, 1, 0), (2, 1, 2), (1, 0, 2)]
        if p.format == "list":
            shown = [f"[{d}, {_q(names[a], p)}, {_q(names[b], p)}]" for d, a, b in example]
            example_text = "moves = [" + ", ".join(shown[:4]) + ",\n         " + ", ".join(shown[4:]) + "]"
            fmt = "moves = [[disk id, from peg, to peg], ...]"
        elif p.format == "csv":
            example_text = "disk_id,from_peg,to_peg\n" + "\n".join(f"{d},{names[a]},{names[b]}" for d, a, b in example)
            fmt = "disk_id,from_peg,to_peg\n<one move per line>"
        else:
            example_text = "\n".join(f"Move disk {d} from peg {names[a]} to peg {names[b]}" for d, a, b in example)
            fmt = "Move disk <disk id> from peg <from> to peg <to>\n<one move per line>"
        indexing = {"0-2": "0-indexed", "1-3": "numbered 1 to 3", "A-C": "named A, B and C"}[p.pegs]
        system = SYSTEM.format(
            example=example_text,
            format=fmt,
            indexing=indexing,
            first=names[0],
            p0=f"peg {names[0]}",
            p1=f"peg {names[1]}",
            p2=f"peg {names[2]}",
        )
        tower = f"{p.disks} (bottom), ... 2, 1 (top)" if p.disks > 2 else ", ".join(str(d) for d in range(p.disks, 0, -1))
        user = USER.format(n=p.disks, a=names[0], b=names[1], c=names[2], tower=tower)
        return Prompt(system=system, user=user)

    def reference(self, p: Params) -> Iterator[Move]:
        # Iterative solution: disk 1 cycles one way, every other move is the only legal other move.
        n = p.disks
        pegs: list[list[int]] = [list(range(n, 0, -1)), [], []]
        step = 1 if n % 2 == 0 else 2  # direction of disk 1: 0->1->2 for even n, 0->2->1 for odd
        small = 0
        for k in range(2**n - 1):
            if k % 2 == 0:
                dst = (small + step) % 3
                pegs[small].pop()
                pegs[dst].append(1)
                yield (1, small, dst)
                small = dst
            else:
                a, b = [i for i in range(3) if i != small]
                if pegs[a] and (not pegs[b] or pegs[a][-1] < pegs[b][-1]):
                    src, dst = a, b
                else:
                    src, dst = b, a
                disk = pegs[src].pop()
                pegs[dst].append(disk)
                yield (disk, src, dst)

    def expected_count(self, p: Params) -> int:
        return 2**p.disks - 1

    def items(self, m: re.Match[str], p: Params) -> list[Item]:
        g = m.group
        if g("k_id") is not None:
            return [(int(g("k_id")) - 1, (None, int(g("k_from")), int(g("k_to"))))]
        if g("t_ldisk") is not None:
            num = g("t_lnum")
            move = (int(g("t_ldisk")), _peg(g("t_lfrom"), p), _peg(g("t_lto"), p))
            return [(int(num) - 1 if num else None, move)]
        if g("t_cdisk") is not None:
            num = g("t_cnum")
            move = (int(g("t_cdisk")), _peg(g("t_cfrom"), p), _peg(g("t_cto"), p))
            return [(int(num) - 1 if num else None, move)]
        return []

    def item_notes(self, m: re.Match[str], p: Params) -> list[str]:
        fields = m.group("k_state").count(",") if m.group("k_id") is not None else 3
        if fields == 3:
            return []
        return [f"move {m.group('k_id')}: the peg state has {fields} fields, not 3 (not graded)"]

    def list_values(self, text: str, p: Params) -> list[Move]:
        tokens = _TOKENS.findall(text)
        if p.pegs == "0-2" and not any(t.isalpha() for t in tokens[1::3]):
            # The common case, a million moves long: no per-item peg translation.
            nums = list(map(int, tokens))
            return list(zip(nums[0::3], nums[1::3], nums[2::3]))
        return [(int(tokens[i]), _peg(tokens[i + 1], p), _peg(tokens[i + 2], p)) for i in range(0, len(tokens) - 2, 3)]

    def checker(self, p: Params) -> HanoiChecker:
        return HanoiChecker(p)

    def recognise(self, text: str) -> Params | None:
        disks = re.search(r"I have a puzzle with (\d{1,2}) disks of different sizes", text)
        peg = re.search(r"\*\*Initial configuration\*\*:\s*- Peg ([01A]):", text)
        if not disks or not peg:
            return None
        # A line of CSV column names (ours, or a replication's "move_id,...,peg0,peg1,peg2" rows
        # with states); `moves=[[disk_id,from_peg,to_peg],...]` is a list, not CSV.
        if re.search(r"^(?:disk_id,from_peg,to_peg|move_id,from_peg,to_peg,peg0,peg1,peg2)[ \t]*$", text, re.MULTILINE):
            fmt = "csv"
        elif "Move disk <disk id> from peg <from> to peg <to>" in text:
            fmt = "lines"
        else:
            fmt = "list"
        pegs = {"0": "0-2", "1": "1-3", "A": "A-C"}[peg.group(1)]
        return params_or_none(Params, disks=int(disks.group(1)), format=fmt, pegs=pegs)

    def wrong(self, value: Move, p: Params, rng: random.Random) -> Move:
        # Another disk from the same peg: the moved disk was on top there, so this one is not.
        disk, a, b = value
        other = disk + 1 if disk < p.disks and (disk == 1 or rng.random() < 0.5) else disk - 1
        return (other, a, b)

    def show(self, value: Move, p: Params) -> str:
        disk, a, b = value
        names = _peg_names(p)
        na = names[a] if 0 <= a < 3 else str(a)
        nb = names[b] if 0 <= b < 3 else str(b)
        if p.format == "csv":
            return f"{disk},{na},{nb}"
        if p.format == "lines":
            return f"Move disk {disk} from peg {na} to peg {nb}"
        return f"[{disk}, {_q(na, p)}, {_q(nb, p)}]"

    def render(self, p: Params, values=None) -> str:  # type: ignore[no-untyped-def]
        moves = self.reference(p) if values is None else values
        if p.format == "list":
            return "moves = [" + ", ".join(self.show(m, p) for m in moves) + "]\n"
        if p.format == "csv":
            return "disk_id,from_peg,to_peg\n" + "".join(self.show(m, p) + "\n" for m in moves)
        return "".join(self.show(m, p) + "\n" for m in moves)


def _q(name: str, p: Params) -> str:
    return f'"{name}"' if p.pegs == "A-C" else name


_TOKENS = re.compile(r"[A-Ca-c0-9]+")


class HanoiChecker:
    """Executes every move, including moves after the goal is reached."""

    __slots__ = ("goal", "moves", "n", "pegs", "solved_at")

    def __init__(self, p: Params) -> None:
        self.n = p.disks
        self.pegs: list[list[int]] = [list(range(self.n, 0, -1)), [], []]
        self.goal = list(range(self.n, 0, -1))
        self.moves = 0
        self.solved_at: int | None = None

    def check(self, move: Move) -> Mistake | None:
        _ok, mistake = self.check_many([move])
        return mistake

    def check_many(self, moves: list[Move]) -> tuple[int, Mistake | None]:
        # The hot loop of a million-move answer: locals only, one goal test per move onto peg 2.
        pegs, n = self.pegs, self.n
        done = 0
        for disk, a, b in moves:
            if self.solved_at is not None:
                self.moves += done
                return done, Mistake("no further move", f"the puzzle was already solved after move {self.solved_at}")
            if a == b or not (0 <= a <= 2 and 0 <= b <= 2):
                self.moves += done
                return done, Mistake("a move between two different pegs", f"peg {a} to peg {b} is not a move")
            src = pegs[a]
            if not src:
                self.moves += done
                return done, Mistake("a move from a peg with disks", f"peg {a} is empty")
            top = src[-1]
            if disk is not None and disk != top:
                self.moves += done
                return done, Mistake(f"[{top}, {a}, {b}] (disk {top} is on top of peg {a})", f"disk {disk} is not on top of peg {a}")
            dst = pegs[b]
            if dst and dst[-1] < top:
                self.moves += done
                return done, Mistake(f"a disk smaller than {dst[-1]} on peg {b}", f"disk {top} cannot go on smaller disk {dst[-1]}")
            dst.append(src.pop())
            done += 1
            if b == 2 and len(dst) == n:
                self.solved_at = self.moves + done
        self.moves += done
        return done, None

    def done(self) -> bool:
        return self.solved_at is not None

    def notes(self) -> list[str]:
        if self.solved_at is None:
            return []
        optimal = 2**self.n - 1
        if self.solved_at == optimal:
            return [f"optimal: {optimal} moves"]
        return [f"legal but not optimal: {self.solved_at} moves, optimal is {optimal}"]


TASK = Hanoi()
