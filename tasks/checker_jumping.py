"""Checker jumping (Apple's *Illusion of Thinking*): swap n red and n blue checkers on a line."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from pydantic import Field

from longhaul import Item, Mistake, Prompt, Task, TaskParams, params_or_none

Move = tuple[str, int, int]
"""(colour 'R' or 'B', from position, to position), positions 0-based."""


class Params(TaskParams):
    checkers: int = Field(3, ge=1, le=60, description="checkers per colour (1-60)")


SYSTEM = """You are a helpful assistant. Solve this puzzle for me.

On a one-dimensional board, there are red checkers ('R'), blue checkers ('B'), and one empty space ('_'). A checker can move by either:
1. Sliding forward into an adjacent empty space, or
2. Jumping over exactly one checker of the opposite color to land in an empty space.

The goal is to swap the positions of all red and blue checkers, effectively mirroring the initial state.

Example: If the initial state is ['R', '_', 'B'], the goal is to reach ['B', '_', 'R']. Your solution should be a list of moves where each move is represented as [checker_color, position_from, position_to]. For example:
moves = [['R', 0, 1], ['B', 2, 0], ['R', 1, 2]]
This means: Move the red checker from position 0 to 1, then move the blue checker from position 2 to 0, and so on.

Requirements:
- When exploring potential solutions in your thinking process, always include the corresponding complete list of moves.
- The positions are 0-indexed (the leftmost position is 0).
- Ensure your final answer includes the complete list of moves for final solution in the format: moves = [[checker_color, position_from, position_to], ...]
"""

USER = """I have a puzzle with {size} positions, where {n} red checkers ('R') on left, {n} blue checkers ('B') on right, and one empty space ('_') in between are arranged in a line.

Initial board: {initial}
Goal board: {goal}

Rules:
- A checker can slide into an adjacent empty space.
- A checker can jump over exactly one checker of the opposite color to land in an empty space.
- Checkers cannot move backwards (towards their starting side).

Find the minimum sequence of moves to transform the initial board into the goal board.
"""


def _board(n: int) -> list[str]:
    return ["R"] * n + ["_"] + ["B"] * n


class CheckerJumping(Task[Params]):
    name = "checker_jumping"
    summary = "Checker jumping: swap n red and n blue checkers; (n+1)^2 - 1 moves."
    params_model = Params
    size_param = "checkers"
    list_item = r"\[[ \t]{0,4}['\"]?[RBrb]['\"]?[ \t]{0,4},[ \t]{0,4}\d{1,3}[ \t]{0,4},[ \t]{0,4}\d{1,3}[ \t]{0,4}\]"

    def prompt(self, p: Params) -> Prompt:
        start = _board(p.checkers)
        return Prompt(
            system=SYSTEM,
            user=USER.format(size=2 * p.checkers + 1, n=p.checkers, initial=" ".join(start), goal=" ".join(reversed(start))),
        )

    def reference(self, p: Params) -> Iterator[Move]:
        # The classic solution: alternate colours in runs of growing then shrinking length,
        # each run's checkers moving (by slide or jump) into the current empty square.
        n = p.checkers
        board = _board(n)
        runs = list(range(1, n + 1)) + [n] + list(range(n, 0, -1))
        colour = "R"
        for length in runs:
            for _ in range(length):
                empty = board.index("_")
                step = 1 if colour == "R" else -1
                for src in (empty - step, empty - 2 * step):
                    if 0 <= src < len(board) and board[src] == colour:
                        board[empty], board[src] = colour, "_"
                        yield (colour, src, empty)
                        break
            colour = "B" if colour == "R" else "R"

    def expected_count(self, p: Params) -> int:
        return (p.checkers + 1) ** 2 - 1

    def list_values(self, text: str, p: Params) -> list[Move]:
        return [(c.upper(), int(a), int(b)) for c, a, b in _ITEM.findall(text)]

    def items(self, m: re.Match[str], p: Params) -> list[Item]:
        return []

    def checker(self, p: Params) -> JumpChecker:
        return JumpChecker(p.checkers)

    def recognise(self, text: str) -> Params | None:
        m = re.search(r"I have a puzzle with \d+ positions, where (\d+) red checkers \('R'\) on left", text)
        return params_or_none(Params, checkers=int(m.group(1))) if m else None

    def wrong(self, value: Move, p: Params, rng: random.Random) -> Move:
        # The other colour from the same square: that square holds this move's colour.
        colour, src, dst = value
        return ("B" if colour == "R" else "R", src, dst)

    def show(self, value: Move, p: Params) -> str:
        return f"['{value[0]}', {value[1]}, {value[2]}]"

    def render(self, p: Params, values=None) -> str:  # type: ignore[no-untyped-def]
        moves = self.reference(p) if values is None else values
        return "moves = [" + ", ".join(self.show(m, p) for m in moves) + "]\n"


_ITEM = re.compile(r"([RBrb])['\"]?\s*,\s*(\d+)\s*,\s*(\d+)")


class JumpChecker:
    def __init__(self, n: int) -> None:
        self.n = n
        self.board = _board(n)
        self.goal = list(reversed(self.board))
        self.moves = 0

    def check(self, move: Move) -> Mistake | None:
        colour, a, b = move
        board = self.board
        if self.moves and board == self.goal:
            return Mistake("no further move", f"the board was already solved after move {self.moves}")
        if not (0 <= a < len(board) and 0 <= b < len(board)):
            return Mistake(f"positions 0 to {len(board) - 1}", f"position {a if not 0 <= a < len(board) else b} is off the board")
        if board[a] != colour:
            return Mistake(f"a {colour} checker at position {a}", f"position {a} holds {board[a]!r}, not {colour!r}")
        if board[b] != "_":
            return Mistake(f"the empty square at position {board.index('_')}", f"position {b} is not empty")
        forward = 1 if colour == "R" else -1
        dist = (b - a) * forward
        if dist <= 0:
            return Mistake("a forward move", f"{colour} checkers cannot move backwards")
        if dist == 2:
            middle = board[a + forward]
            if middle in ("_", colour):
                return Mistake("a jump over one checker of the opposite colour", f"cannot jump over {middle!r}")
        elif dist != 1:
            return Mistake("a slide of 1 or a jump of 2", f"a move of {dist} squares is not allowed")
        board[a], board[b] = "_", colour
        self.moves += 1
        return None

    def done(self) -> bool:
        return self.board == self.goal

    def notes(self) -> list[str]:
        if not self.done():
            return []
        optimal = (self.n + 1) ** 2 - 1
        return [
            f"optimal: {optimal} moves" if self.moves == optimal else f"legal but not optimal: {self.moves} moves, optimal is {optimal}"
        ]


TASK = CheckerJumping()
