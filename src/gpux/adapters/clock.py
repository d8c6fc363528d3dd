"""The system clock: the one place gpux reads the time of day."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The `Clock` port on the machine's clock, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)
