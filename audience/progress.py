"""What the audience models tell as they work: a listener of (done, total, message), as a CLI bar or a job takes it."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]
