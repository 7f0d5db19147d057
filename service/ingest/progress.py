"""How far a long load has come: one live line per step on a terminal (drawn by rich), and the time each step
took, kept for the summary at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.progress import Progress as Display
from rich.progress import ProgressColumn, Task, TaskID
from rich.text import Text


@dataclass
class Step:
    name: str
    unit: str
    count: int = 0
    seconds: float = 0.0


class _StepColumn(ProgressColumn):
    """A step as 'reading coding sheets: 2,000 rows, 8,100 rows/s, 0.2 s'."""

    def render(self, task: Task) -> Text:
        unit = task.fields["unit"]
        seconds = task.elapsed or 0.0
        count = int(task.completed)
        rate = f", {count / seconds:,.0f} {unit}/s" if seconds > 0 and count else ""
        return Text(f"{task.description}: {count:,} {unit}{rate}, {seconds:.1f} s")


@dataclass
class Progress:
    """Shows progress on `stream` (pass one only when it is a terminal); always records the steps' times and
    the counts a step reports (observations, collaborations …) for the summary at the end."""

    stream: TextIO | None = None
    steps: list[Step] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    _started: float = 0.0
    _display: Display | None = None
    _task: TaskID | None = None

    def start(self, name: str, unit: str) -> None:
        self.steps.append(Step(name, unit))
        self._started = time.perf_counter()
        if self.stream is not None:
            self._display = Display(_StepColumn(), console=Console(file=self.stream))
            self._task = self._display.add_task(name, total=None, unit=unit)
            self._display.start()

    def advance(self, count: int = 1) -> None:
        self.steps[-1].count += count
        if self._display is not None and self._task is not None:
            self._display.advance(self._task, count)

    def finish(self, count: int | None = None) -> None:
        step = self.steps[-1]
        if count is not None:
            step.count = count
        step.seconds = time.perf_counter() - self._started
        if self._display is not None and self._task is not None:
            self._display.update(self._task, completed=step.count)
            self._display.stop_task(self._task)
            self._display.stop()
            self._display = self._task = None
