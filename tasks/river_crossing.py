"""River crossing (Apple's *Illusion of Thinking*): n actors and their agents, a boat of capacity k.

Some instances have no solution (capacity 3 with 6 or more pairs, capacity 2 with 4 or more);
a breadth-first search over the instance decides which, and there saying so is the answer.
"""

from __future__ import annotations

import random
import re
from collections import deque
from collections.abc import Iterator
from functools import lru_cache

from pydantic import Field

from longhaul import Item, Mistake, Prompt, Task, TaskParams, params_or_none

Move = frozenset[str]
"""The people in the boat for one crossing, as `a_3` (actor 3) and `A_3` (agent 3)."""


class Params(TaskParams):
    pairs: int = Field(3, ge=1, le=30, description="actor-agent pairs (1-30)")
    capacity: int = Field(2, ge=1, le=8, description="people the boat holds (1-8)")


SYSTEM = """You are a helpful assistant. Solve this puzzle for me.
You can represent actors with a_1, a_2, ... and agents with A_1, A_2, ... . Your solution must be a list of boat moves where each move indicates the people on the boat. For example, if there were two actors and two agents, you should return:

moves = [["A_2", "a_2"], ["A_2"], ["A_1", "A_2"], ["A_1"], ["A_1", "a_1"]]

which indicates that in the first move, A_2 and a_2 row from left to right, and in the second move, A_2 rows from right to left and so on.

Requirements:
- When exploring potential solutions in your thinking process, always include the corresponding complete list of boat moves.
- The list shouldn't have comments.
- Ensure your final answer also includes the complete list of moves for final solution.
"""

USER = """{n} actors and their {n} agents want to cross a river in a boat that is capable of holding only {k} people at a time, with the constraint that no actor can be in the presence of another agent, including while riding the boat, unless their own agent is also present, because each agent is worried their rivals will poach their client. Initially, all actors and agents are on the left side of the river with the boat. How should they cross the river? (Note: the boat cannot travel empty)"""

# Abstract state: pairs by where actor and agent are (LL, LR, RL, RR: actor side then agent side),
# and the boat's side. Pairs are interchangeable, so this small state space decides solvability
# and optimal length exactly.
State = tuple[int, int, int, int, int]


def _safe(ll: int, lr: int, rl: int, rr: int) -> bool:
    left_ok = lr == 0 or ll + rl == 0  # actors left without their agent, agents present on the left
    right_ok = rl == 0 or lr + rr == 0
    return left_ok and right_ok


def _moves(state: State, k: int) -> Iterator[tuple[State, tuple[int, int, int, int, int]]]:
    ll, lr, rl, rr, boat = state
    if boat == 1:  # mirror: solve the right bank as if it were the left
        for (a, b, c, d, _), how in _moves((rr, rl, lr, ll, 0), k):
            yield (d, c, b, a, 0), how
        return
    for x in range(ll + 1):  # whole pairs
        for y in range(ll - x + 1):  # lone actors from LL
            for z in range(ll - x - y + 1):  # lone agents from LL
                for u in range(lr + 1):  # actors whose agent is already across
                    for w in range(rl + 1):  # agents whose actor is already across
                        people = 2 * x + y + z + u + w
                        if not 1 <= people <= k:
                            continue
                        if x + z + w and y + u:  # an actor in the boat with another's agent
                            continue
                        new = (ll - x - y - z, lr - u + z, rl + y - w, rr + x + u + w, 1)
                        if _safe(*new[:4]):
                            yield new, (x, y, z, u, w)


@lru_cache(maxsize=256)
def solve(n: int, k: int) -> tuple[tuple[int, int, int, int, int], ...] | None:
    """The optimal sequence of abstract moves, or None when there is no solution."""
    start: State = (n, 0, 0, 0, 0)
    goal: State = (0, 0, 0, n, 1)
    parent: dict[State, tuple[State, tuple[int, int, int, int, int]] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if state == goal:
            path = []
            while parent[state] is not None:
                prev, how = parent[state]  # type: ignore[misc]
                path.append(how)
                state = prev
            return tuple(reversed(path))
        for nxt, how in _moves(state, k):
            if nxt not in parent:
                parent[nxt] = (state, how)
                queue.append(nxt)
    return None


class RiverCrossing(Task[Params]):
    name = "river_crossing"
    summary = "River crossing: actors and jealous agents in a small boat; some instances are unsolvable."
    params_model = Params
    size_param = "pairs"
    can_be_impossible = True
    list_item = r"""\[[ \t]{0,4}(?:['"]?[Aa]_?\d{1,2}['"]?[ \t]{0,4},?[ \t]{0,4}){1,8}\]"""

    def prompt(self, p: Params) -> Prompt:
        return Prompt(system=SYSTEM, user=USER.format(n=p.pairs, k=p.capacity))

    def solvable(self, p: Params) -> bool:
        return solve(p.pairs, p.capacity) is not None

    def reference(self, p: Params) -> Iterator[Move]:
        plan = solve(p.pairs, p.capacity)
        if plan is None:
            return
        side = {f"a_{i}": 0 for i in range(1, p.pairs + 1)} | {f"A_{i}": 0 for i in range(1, p.pairs + 1)}
        boat = 0
        for x, y, z, u, w in plan:
            here = lambda who, i, boat=boat: side[f"{who}_{i}"] == boat  # noqa: E731
            idx = range(1, p.pairs + 1)
            both = [i for i in idx if here("a", i) and here("A", i)]
            actor_only = [i for i in idx if here("a", i) and not here("A", i)]
            agent_only = [i for i in idx if here("A", i) and not here("a", i)]
            group = [f"A_{i}" for i in both[:x]] + [f"a_{i}" for i in both[:x]]
            group += [f"a_{i}" for i in both[x : x + y]] + [f"A_{i}" for i in both[x + y : x + y + z]]
            group += [f"a_{i}" for i in actor_only[:u]] + [f"A_{i}" for i in agent_only[:w]]
            boat = 1 - boat
            for person in group:
                side[person] = boat
            yield frozenset(group)

    def expected_count(self, p: Params) -> int | None:
        plan = solve(p.pairs, p.capacity)
        return None if plan is None else len(plan)

    def list_values(self, text: str, p: Params) -> list[Move]:
        return [frozenset(f"{w}_{int(d)}" for w, d in _NAME.findall(item)) for item in _GROUP.findall(text)]

    def items(self, m: re.Match[str], p: Params) -> list[Item]:
        return []

    def checker(self, p: Params) -> CrossingChecker:
        return CrossingChecker(p)

    def recognise(self, text: str) -> Params | None:
        m = re.search(
            r"(\d+) actors and their \d+ agents want to cross a river in a boat that is capable of holding only (\d+) people", text
        )
        return params_or_none(Params, pairs=int(m.group(1)), capacity=int(m.group(2))) if m else None

    def wrong(self, value: Move, p: Params, rng: random.Random) -> Move:
        # Leave an agent behind: an actor then crosses with no agent or with a rival's. When the
        # boat carries agents only, add a person from the far bank instead.
        agents = sorted(x for x in value if x.startswith("A_"))
        actors = [x for x in value if x.startswith("a_")]
        if actors and agents:
            return frozenset(value - {agents[0]})
        return frozenset(value | {f"a_{p.pairs + 1}"})

    def show(self, value: Move, p: Params) -> str:
        names = sorted(value, key=lambda s: (int(s[2:]), s[0].islower()))
        return "[" + ", ".join(f'"{n}"' for n in names) + "]"

    def render(self, p: Params, values=None) -> str:  # type: ignore[no-untyped-def]
        if values is None and not self.solvable(p):
            return f"This puzzle is impossible: with a boat for {p.capacity}, {p.pairs} pairs cannot cross safely.\n"
        moves = self.reference(p) if values is None else values
        return "moves = [" + ", ".join(self.show(m, p) for m in moves) + "]\n"


_GROUP = re.compile(r"\[([^\[\]]*)\]")
_NAME = re.compile(r"([Aa])_?(\d+)")


def _unsafe(group: set[str]) -> str | None:
    agents = {int(x[2:]) for x in group if x[0] == "A"}
    for person in group:
        if person[0] == "a":
            i = int(person[2:])
            if i not in agents and agents:
                return f"a_{i} is with agent A_{min(agents)} without A_{i}"
    return None


class CrossingChecker:
    def __init__(self, p: Params) -> None:
        self.p = p
        people = [f"a_{i}" for i in range(1, p.pairs + 1)] + [f"A_{i}" for i in range(1, p.pairs + 1)]
        self.banks: list[set[str]] = [set(people), set()]
        self.boat = 0
        self.moves = 0

    def check(self, group: Move) -> Mistake | None:
        side = ["left", "right"][self.boat]
        if not self.banks[0]:
            return Mistake("no further move", f"everyone had crossed after move {self.moves}")
        if not group:
            return Mistake("at least one person in the boat", "the boat cannot travel empty")
        if len(group) > self.p.capacity:
            return Mistake(f"at most {self.p.capacity} people", f"{len(group)} people in a boat for {self.p.capacity}")
        unknown = [x for x in group if int(x[2:]) > self.p.pairs or int(x[2:]) < 1]
        if unknown:
            return Mistake(f"people numbered 1 to {self.p.pairs}", f"there is no {unknown[0]}")
        away = [x for x in group if x not in self.banks[self.boat]]
        if away:
            return Mistake(f"people on the {side} bank, where the boat is", f"{away[0]} is not on the {side} bank")
        why = _unsafe(set(group))
        if why:
            return Mistake("a safe boat", f"in the boat, {why}")
        self.banks[self.boat] -= group
        self.banks[1 - self.boat] |= group
        for bank, name in zip(self.banks, ("left", "right")):
            why = _unsafe(bank)
            if why:
                return Mistake("safe banks after the crossing", f"on the {name} bank, {why}")
        self.boat = 1 - self.boat
        self.moves += 1
        return None

    def done(self) -> bool:
        return not self.banks[0]

    def notes(self) -> list[str]:
        if not self.done():
            return []
        optimal = len(solve(self.p.pairs, self.p.capacity) or ())
        return [
            f"optimal: {optimal} crossings"
            if self.moves == optimal
            else f"legal but not optimal: {self.moves} crossings, optimal is {optimal}"
        ]


TASK = RiverCrossing()
