"""Graph algorithms over step ids: a stable topological order and the cycle that prevents one.

Iterative throughout (a 10,000-step chain must not hit the recursion limit) and linear in
nodes plus edges.
"""

from __future__ import annotations

import heapq
from typing import Iterable, Mapping


def topological_order(nodes: list[str], deps: Mapping[str, Iterable[str]]) -> tuple[list[str], list[str] | None]:
    """Nodes ordered so each comes after its deps (ties kept in declaration order).

    Returns (order, None), or (partial order, cycle) where cycle is [a, b, ..., a] with each
    node depending on the next.
    """
    index = {node: i for i, node in enumerate(nodes)}
    pending = {node: 0 for node in nodes}
    dependents: dict[str, list[str]] = {node: [] for node in nodes}
    for node in nodes:
        for dep in set(deps.get(node, ())):
            if dep in index:
                pending[node] += 1
                dependents[dep].append(node)
    ready = [index[n] for n in nodes if pending[n] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for dependent in dependents[node]:
            pending[dependent] -= 1
            if pending[dependent] == 0:
                heapq.heappush(ready, index[dependent])
    if len(order) == len(nodes):
        return order, None
    stuck = [n for n in nodes if pending[n] > 0]
    return order, find_cycle(stuck, deps)


def find_cycle(candidates: list[str], deps: Mapping[str, Iterable[str]]) -> list[str]:
    """A cycle among `candidates` (every candidate is on or behind one)."""
    allowed = {node: i for i, node in enumerate(candidates)}
    start = candidates[0]
    path: list[str] = []
    position: dict[str, int] = {}
    node = start
    while node not in position:
        position[node] = len(path)
        path.append(node)
        node = next(d for d in sorted(set(deps.get(node, ())), key=lambda d: allowed.get(d, -1)) if d in allowed)
    return path[position[node]:] + [node]


def descendants(roots: Iterable[str], dependents: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node reachable from `roots` along `dependents` edges (roots included)."""
    seen = set(roots)
    stack = list(seen)
    while stack:
        for nxt in dependents.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen
