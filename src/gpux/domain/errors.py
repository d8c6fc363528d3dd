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


class InvalidOrder(InvalidValue):
    """A bid or ask breaks the order rules; `problems` lists every one, with its field path."""

    code = "invalid_order"


class WindowInPast(InvalidOrder):
    """An order's window has already begun too late (or ended) to be delivered."""

    code = "window_in_past"


class LimitExceeded(InvalidOrder):
    """An order is larger, longer or dearer than the exchange's configured limits allow."""

    code = "limit_exceeded"


class SpansPartitions(InvalidOrder):
    """A bid could be filled in more than one market partition; it must name regions (or
    pools) of one (docs/scaling.md)."""

    code = "spans_partitions"


class Refused(ExchangeError):
    """A well-formed command the exchange will not carry out, naming the field it refuses."""

    code = "refused"

    def __init__(self, message: str, field: str | None = None, value: object = None) -> None:
        self.problems: tuple[Problem, ...] = (
            (Problem(field, message, value),) if field is not None else ())
        super().__init__(message)


class Unauthenticated(Refused):
    """No API key, or one that names no live account."""

    code = "unauthenticated"


class Forbidden(Refused):
    """The caller's role (or ownership) does not allow this command."""

    code = "forbidden"


class AccountHalted(Forbidden):
    """The account is halted and may not place orders."""

    code = "account_halted"


class NotFound(Refused):
    """No such resource visible to the caller (other accounts' orders are not found either)."""

    code = "not_found"


class UnknownPool(Refused):
    """An ask (or filter) names a pool that does not exist."""

    code = "unknown_pool"


class AlreadyExists(Refused):
    """An account or pool with this id exists already."""

    code = "already_exists"


class ClientOrderIdReused(Refused):
    """A client order id was used before by this account for a different order."""

    code = "client_order_id_reused"


class TooManyOpenOrders(Refused):
    """The account already has the most open orders the exchange allows."""

    code = "too_many_open_orders"


class PoolOversold(Refused):
    """An ask would offer more GPUs of its pool, in some hour, than the pool has."""

    code = "pool_oversold"


class OrderNotOpen(Refused):
    """The order is filled, cancelled or expired, so it can no longer be cancelled."""

    code = "order_not_open"


class MarketHalted(Refused):
    """The whole market is halted: no orders are taken until an admin resumes it."""

    code = "market_halted"


class ReferenceReused(Refused):
    """A deposit or withdrawal reference already names a different transfer."""

    code = "reference_reused"


class InsufficientFunds(Refused):
    """The available balance does not cover a bid's hold, or a withdrawal."""

    code = "insufficient_funds"


class PriceOutOfBand(Refused):
    """A price per GPU-hour lies outside the band around the GPU model's price index."""

    code = "price_out_of_band"


class InvalidOutage(InvalidValue):
    """An outage report breaks the rules (its hours, its GPUs, its reason); names the field."""

    code = "invalid_outage"


class OutageOverlaps(Refused):
    """An outage is already recorded on the pool for some of these hours (credits are owed
    once per GPU-hour; a retry of the same report returns the first)."""

    code = "outage_overlaps"


class ContractNotHeld(Forbidden):
    """A resale offer names a contract the caller does not hold."""

    code = "contract_not_held"


class ContractSuperseded(Refused):
    """A resale offer names a contract already split into pieces (offer one of the pieces)."""

    code = "contract_superseded"


class OfferOutsideContract(InvalidOrder):
    """A resale offer's hours have started or lie outside the contract's hours."""

    code = "offer_outside_contract"


class OfferExceedsContract(Refused):
    """A resale offer asks more GPUs than the contract holds, or than are not already on
    offer (a GPU-hour is offered at most once)."""

    code = "offer_exceeds_contract"
