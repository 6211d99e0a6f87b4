"""Blocks world (Apple's *Illusion of Thinking*): restack lettered blocks, moving only top blocks."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator

from pydantic import Field

from longhaul import Item, Mistake, Prompt, Task, TaskParams, params_or_none

Move = tuple[str, int, int]
"""(block, from stack, to stack), stacks 0-2."""


class Params(TaskParams):
    blocks: int = Field(6, ge=2, le=26, description="number of blocks (2-26)")


SYSTEM = """You are a helpful assistant. Solve this puzzle for me.

In this puzzle, there are stacks of blocks, and the goal is to rearrange them into a target configuration using a sequence of moves where:
- Only the topmost block from any stack can be moved.
- A block can be placed either on an empty position or on top of another block.

Example: With initial state [["A", "B"], ["C"], []] and goal state [["A"], ["B"], ["C"]], a solution might be:
moves = [["C", 1, 2], ["B", 0, 1]]
This means: Move block C from stack 1 to stack 2, then move block B from stack 0 to stack 1.

Requirements:
- When exploring potential solutions in your thinking process, always include the corresponding complete list of moves.
- Ensure your final answer also includes the complete list of moves for final solution in the format: moves = [[block, from stack, to stack], ...]
"""

USER = """I have a puzzle with {n} blocks.
Initial state:
{initial}
Goal state:
{goal}
Find the minimum sequence of moves to transform the initial state into the goal state. Remember that only the topmost block of each stack can be moved."""


def _names(n: int) -> list[str]:
    return list(string.ascii_uppercase[:n])


def initial_state(n: int) -> list[list[str]]:
    """Blocks dealt alternately onto stacks 0 and 1 (bottom to top); stack 2 empty."""
    names = _names(n)
    return [names[0::2], names[1::2], []]


def goal_state(n: int) -> list[list[str]]:
    """All blocks on stack 2 in alphabetical order, A at the bottom."""
    return [[], [], _names(n)]


def _describe(stacks: list[list[str]]) -> str:
    return "\n".join(f"Stack {i}: {' '.join(s) + ' (top)' if s else '(empty)'}" for i, s in enumerate(stacks))


class BlocksWorld(Task[Params]):
    name = "blocks_world"
    summary = "Blocks world: rebuild two interleaved stacks into one ordered stack, top blocks only."
    params_model = Params
    size_param = "blocks"
    list_item = r"\[[ \t]{0,4}['\"]?[A-Za-z]['\"]?[ \t]{0,4},[ \t]{0,4}\d[ \t]{0,4},[ \t]{0,4}\d[ \t]{0,4}\]"

    def prompt(self, p: Params) -> Prompt:
        return Prompt(
            system=SYSTEM, user=USER.format(n=p.blocks, initial=_describe(initial_state(p.blocks)), goal=_describe(goal_state(p.blocks)))
        )

    def reference(self, p: Params) -> Iterator[Move]:
        # Greedy and legal: dig out the next block the goal needs onto the other spare stack.
        stacks = initial_state(p.blocks)
        for block in _names(p.blocks):
            src = next(i for i in (0, 1) if block in stacks[i])
            spare = 1 - src
            while stacks[src][-1] != block:
                top = stacks[src].pop()
                stacks[spare].append(top)
                yield (top, src, spare)
            stacks[src].pop()
            stacks[2].append(block)
            yield (block, src, 2)

    def expected_count(self, p: Params) -> int:
        return sum(1 for _ in self.reference(p))

    def list_values(self, text: str, p: Params) -> list[Move]:
        return [(b.upper(), int(a), int(c)) for b, a, c in _ITEM.findall(text)]

    def items(self, m: re.Match[str], p: Params) -> list[Item]:
        return []

    def checker(self, p: Params) -> BlocksChecker:
        return BlocksChecker(p, self.expected_count(p))

    def recognise(self, text: str) -> Params | None:
        m = re.search(r"I have a puzzle with (\d+) blocks\.\nInitial state:", text)
        return params_or_none(Params, blocks=int(m.group(1))) if m else None

    def wrong(self, value: Move, p: Params, rng: random.Random) -> Move:
        # Take the block from the stack it is going to: it is not there.
        block, src, dst = value
        return (block, dst, src)

    def show(self, value: Move, p: Params) -> str:
        return f'["{value[0]}", {value[1]}, {value[2]}]'

    def render(self, p: Params, values=None) -> str:  # type: ignore[no-untyped-def]
        moves = self.reference(p) if values is None else values
        return "moves = [" + ", ".join(self.show(m, p) for m in moves) + "]\n"


_ITEM = re.compile(r"([A-Za-z])['\"]?\s*,\s*(\d)\s*,\s*(\d)")


class BlocksChecker:
    def __init__(self, p: Params, reference_length: int) -> None:
        self.stacks = initial_state(p.blocks)
        self.goal = goal_state(p.blocks)
        self.reference_length = reference_length
        self.moves = 0

    def check(self, move: Move) -> Mistake | None:
        block, a, b = move
        if self.stacks == self.goal:
            return Mistake("no further move", f"the goal was already reached after move {self.moves}")
        if not (0 <= a <= 2 and 0 <= b <= 2) or a == b:
            return Mistake("a move between two of stacks 0, 1, 2", f"stack {a} to stack {b} is not a move")
        if not self.stacks[a]:
            return Mistake("a move from a stack with blocks", f"stack {a} is empty")
        top = self.stacks[a][-1]
        if top != block:
            return Mistake(f'["{top}", {a}, {b}] ({top} is on top of stack {a})', f"block {block} is not on top of stack {a}")
        self.stacks[b].append(self.stacks[a].pop())
        self.moves += 1
        return None

    def done(self) -> bool:
        return self.stacks == self.goal

    def notes(self) -> list[str]:
        if not self.done():
            return []
        return [f"{self.moves} moves; the reference plan has {self.reference_length} (optimality not checked)"]


TASK = BlocksWorld()
