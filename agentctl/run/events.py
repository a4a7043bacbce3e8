"""What the engine reports as it runs. Progress display, journal and tracer subscribe to these;
the engine knows nothing about any of them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Event:
    kind: str  # run_started, step_started, step_finished, llm_attempt, tool_call, approval, run_finished
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def emit(self, kind: str, step: str | None = None, **data: Any) -> None:
        event = Event(kind, step, data)
        for subscriber in self.subscribers:
            subscriber(event)
