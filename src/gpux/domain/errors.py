"""The one exception hierarchy of gpux.

Invalid commands and inputs raise a subclass of `ExchangeError`; each carries a stable
`code` that the API maps to an HTTP status and the CLI to exit status 2. Market outcomes
(a bid left unfilled, a solve stopped at its time limit) are values, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (a JSON path), what, and the value seen."""

    path: str
    message: str
    value: object

    def __str__(self) -> str:
        return f"{self.path}: {self.message}, was {self.value!r}"


class ExchangeError(Exception):
    """Base of every error gpux raises on purpose for bad input."""

    code = "exchange_error"


class InvalidBook(ExchangeError):
    """An auction book breaks the `gpu-auction/1` rules; `problems` lists every one."""

    code = "invalid_book"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid book, {len(self.problems)} problem(s):\n{lines}")


class InvalidResult(ExchangeError):
    """A result document cannot be read as `gpu-auction-result/1`."""

    code = "invalid_result"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid result, {len(self.problems)} problem(s):\n{lines}")


class InvalidValue(ExchangeError, ValueError):
    """A domain value failed its own validation (raised by frozen dataclasses)."""

    code = "invalid_value"

    def __init__(self, field: str, message: str, value: object,
                 more: tuple[Problem, ...] = ()) -> None:
        self.problem = Problem(field, message, value)
        self.problems = (self.problem, *more)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def of(cls, problems: list[Problem]) -> InvalidValue:
        """One error carrying every problem found, the first as `problem`."""
        first = problems[0]
        return cls(first.path, first.message, first.value, tuple(problems[1:]))
