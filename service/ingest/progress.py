"""How far a long load has come: one updating line per step on a terminal, and the time each step took."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Step:
    name: str
    unit: str
    count: int = 0
    seconds: float = 0.0


@dataclass
class Progress:
    """Shows progress on `stream` (pass one only when it is a terminal); always records the steps' times and
    the counts a step reports (observations, collaborations …) for the summary at the end."""

    stream: TextIO | None = None
    interval: float = 0.2
    steps: list[Step] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    _started: float = 0.0
    _shown: float = 0.0

    def start(self, name: str, unit: str) -> None:
        self.steps.append(Step(name, unit))
        self._started = self._shown = time.perf_counter()
        self._show()

    def advance(self, count: int = 1) -> None:
        step = self.steps[-1]
        step.count += count
        now = time.perf_counter()
        if self.stream is not None and now - self._shown >= self.interval:
            self._shown = now
            step.seconds = now - self._started
            self._show()

    def finish(self, count: int | None = None) -> None:
        step = self.steps[-1]
        if count is not None:
            step.count = count
        step.seconds = time.perf_counter() - self._started
        self._show(done=True)

    def _show(self, done: bool = False) -> None:
        if self.stream is None:
            return
        step = self.steps[-1]
        rate = f", {step.count / step.seconds:,.0f} {step.unit}/s" if step.seconds > 0 and step.count else ""
        line = f"{step.name}: {step.count:,} {step.unit}{rate}, {step.seconds:.1f} s"
        self.stream.write(f"\r\x1b[K{line}" + ("\n" if done else ""))
        self.stream.flush()
