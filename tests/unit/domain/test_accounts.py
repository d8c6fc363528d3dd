"""Accounts and pools check their ids, roles and catalog names."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpux.domain.accounts import Account, PoolSpec
from gpux.domain.errors import InvalidValue


def test_an_account_needs_a_known_role_and_a_plain_id() -> None:
    assert Account("lab-7", "Lab", "buyer").may_bid()
    assert Account("acme", "Acme", "provider").may_ask()
    assert Account("ops", "Ops", "admin").may_ask()
    with pytest.raises(InvalidValue) as info:
        Account("Lab 7", "", "trader")
    assert [p.path for p in info.value.problems] == ["id", "name", "role"]


def test_a_pool_uses_the_catalogs_names() -> None:
    PoolSpec("acme-h100", "H100", "us-east", Decimal("99.99"), 64)
    with pytest.raises(InvalidValue) as info:
        PoolSpec("acme-h100", "H9000", "mars", Decimal("97"), 0)
    assert [p.path for p in info.value.problems] == ["gpu", "region", "uptime", "gpus"]
