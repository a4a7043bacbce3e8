"""How a table fits the terminal: columns dropped, least useful first, when it is narrow (the live
view, the summary); rows folded, oldest finished first, when it is short (the live view)."""

from __future__ import annotations

from typing import Sequence

DROP_ORDER = ("attempt", "model", "tokens", "elapsed", "cost")  # step and state always stay


def fit_columns(columns: Sequence[str], rows: list[list[str]], width: int,
                drop_order: Sequence[str] = DROP_ORDER, cell: int = 3, frame: int = 1) -> list[int]:
    """The columns that fit in `width` terminal cells, least useful dropped first, so that a
    narrow terminal shows whole step ids and states rather than every column cut to '…'. A
    column takes its widest cell plus `cell` (borders, padding); the table adds `frame`."""
    kept, widths = list(range(len(columns))), column_widths(columns, rows)

    def needed() -> int:
        return frame + sum(cell + widths[i] for i in kept)
    for name in drop_order:
        if needed() <= width:
            break
        kept.remove(columns.index(name))
    return kept


def column_widths(columns: Sequence[str], rows: list[list[str]]) -> list[int]:
    """Each column's widest cell, its heading included."""
    return [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(columns)]


def fold_rows(rows: list, done: Sequence[bool], room: int) -> list:
    """At most `room` rows when the terminal is too short for them all: the oldest rows that are
    `done` are folded into one first row ("… ✓ 21 done"), so that what runs now, the newest rows,
    stays in sight. Other rows are never folded (rich crops what still does not fit)."""
    if len(rows) <= room:
        return rows
    excess, folded, kept = len(rows) - max(room, 1) + 1, 0, []
    for row, is_done in zip(rows, done):
        if is_done and folded < excess:
            folded += 1
        else:
            kept.append(row)
    if not folded:
        return rows
    return [("…", f"✓ {folded} done", *([""] * (len(rows[0]) - 2))), *kept]
