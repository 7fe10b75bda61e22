"""What every trainer returns, whatever the approach."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # log entries (loss, eval metrics per step)
    global_step: int = 0
    resumed_from: str | None = None
    warnings: list[str] = field(default_factory=list)
