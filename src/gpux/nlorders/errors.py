"""The one error of the parser: text it could not turn into an order.

`UnreadableOrder` is an `ExchangeError`, so the CLI exits 2 and the API answers 422 with its
code. Its message names the order field concerned and quotes the exact words the parser could
not read (or says what is missing, such as a price, which the parser never invents).
"""

from __future__ import annotations

from gpux.domain.errors import ExchangeError, Problem


class UnreadableOrder(ExchangeError):
    """Order text the parser cannot read: `field` names what, `words` quotes the text."""

    code = "unreadable_order"

    def __init__(self, field: str, message: str, words: str = "") -> None:
        self.field = field
        self.words = words
        self.reason = message
        self.problems = (Problem(field, message, words),)
        quoted = f' "{words}"' if words else ""
        super().__init__(f"{field}:{quoted} {message}" if quoted else f"{field}: {message}")
