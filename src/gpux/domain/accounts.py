"""Accounts and pools as the exchange registers them: roles, ids and the catalog's names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from gpux.domain.catalog import GPU_MODELS, REGIONS, UPTIME_TIERS
from gpux.domain.errors import InvalidValue, Problem

ROLES = ("buyer", "provider", "admin")
MAX_POOL_GPUS = 1_000_000
_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def id_problem(path: str, value: str) -> Problem | None:
    """The problem with an account or pool id, if any: lower-case letters, digits, `._-`."""
    if _ID.fullmatch(value):
        return None
    return Problem(path, "must be 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter "
                   "or digit", value)


@dataclass(frozen=True, slots=True)
class Account:
    """A party of the exchange: a buyer, a provider of pools, or an admin."""

    id: str
    name: str
    role: str
    halted: bool = False

    def __post_init__(self) -> None:
        problems = [p for p in (id_problem("id", self.id),) if p]
        if not 0 < len(self.name) <= 200:
            problems.append(Problem("name", "must be 1 to 200 characters", self.name))
        if self.role not in ROLES:
            problems.append(Problem("role", "must be one of " + ", ".join(ROLES), self.role))
        if problems:
            raise InvalidValue.of(problems)

    def may_bid(self) -> bool:
        """Buyers (and admins) place bids."""
        return self.role in ("buyer", "admin")

    def may_ask(self) -> bool:
        """Providers (and admins) register pools and place asks."""
        return self.role in ("provider", "admin")


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """A pool a provider registers: `gpus` physical GPUs of one model, region and uptime tier."""

    id: str
    gpu: str
    region: str
    uptime: Decimal
    gpus: int

    def __post_init__(self) -> None:
        problems = [p for p in (id_problem("id", self.id),) if p]
        if self.gpu not in GPU_MODELS:
            problems.append(Problem("gpu", "is not a known GPU model", self.gpu))
        if self.region not in REGIONS:
            problems.append(Problem("region", "is not a known region", self.region))
        if self.uptime not in UPTIME_TIERS:
            problems.append(Problem("uptime", "is not a known uptime tier (" +
                                    ", ".join(map(str, UPTIME_TIERS)) + ")", self.uptime))
        if not 0 < self.gpus <= MAX_POOL_GPUS:
            problems.append(Problem("gpus", f"must be between 1 and {MAX_POOL_GPUS}", self.gpus))
        if problems:
            raise InvalidValue.of(problems)
