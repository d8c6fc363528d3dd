"""Settings, read from `GPUX_*` environment variables (and `DATABASE_URL` / `REDIS_URL`).

With neither URL set, gpux runs on embedded real servers under `data_dir`; see
`gpux.adapters.embedded`. docker-compose.yml sets these same names; a test keeps the two in step.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gpux.domain.credits import DEFAULT_CREDIT_PERCENT, CreditSchedule
from gpux.domain.errors import InvalidValue
from gpux.domain.partitions import PartitionMap


class Settings(BaseSettings):
    """Every knob of the exchange, with the default a laptop demo wants."""

    model_config = SettingsConfigDict(env_prefix="GPUX_", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "GPUX_DATABASE_URL"),
        description="postgresql://... of the order book; unset = embedded PostgreSQL")
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "GPUX_REDIS_URL"),
        description="redis://... for the streams; unset = embedded Redis")
    data_dir: Path = Field(default=Path(".gpux"),
                           description="where the embedded servers keep their data")

    # Auctions
    auction_interval_seconds: float = Field(default=60.0, gt=0)
    horizon_hours: int = Field(default=168, ge=1, le=24 * 62)
    solve_time_limit_seconds: float = Field(default=20.0, gt=0)
    solve_workers: int = Field(default=2, ge=1)
    solve_seed: int = 0
    partition: str = Field(
        default="main", min_length=1, max_length=200, pattern=r"^[a-z0-9-]+(,[a-z0-9-]+)*$",
        description="the market partition(s) this worker clears, comma-separated; it leads "
                    "those whose advisory lock it gets and stands by for the others (unset "
                    "with partition_regions set: every partition of the map)")
    partition_regions: str | None = Field(
        default=None, max_length=2000,
        description="the market's partitions and the regions each holds, e.g. "
                    "`americas:us-east,us-west,us-central;europe:eu-west,eu-central;"
                    "asia:ap-northeast,ap-southeast` (every region in exactly one); unset = one "
                    "partition, the first `partition` names, holding every region")

    @field_validator("partition_regions", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset variable as "" (`${GPUX_PARTITION_REGIONS:-}`).
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _partitions_agree(self) -> Settings:
        if self.partition_regions is not None:
            known = self.partition_map().names
            unknown = [p for p in self.partitions() if p not in known]
            if unknown:
                raise ValueError(f"partition names {', '.join(unknown)}, which "
                                 f"partition_regions does not ({', '.join(known)})")
        return self

    def partitions(self) -> list[str]:
        """The partitions this worker clears: those `partition` names, in order, without
        repeats; with `partition` unset and `partition_regions` set, every partition."""
        if self.partition_regions is not None and "partition" not in self.model_fields_set:
            return list(self.partition_map().names)
        return list(dict.fromkeys(p for p in self.partition.split(",") if p))

    def partition_map(self) -> PartitionMap:
        """Which partition each region (so each pool, ask and bid) trades in."""
        if self.partition_regions is None:
            return PartitionMap.single(self.partitions()[0])
        try:
            return PartitionMap.parse(self.partition_regions)
        except InvalidValue as err:
            raise ValueError(str(err)) from None

    # Order limits
    max_order_gpus: int = Field(default=4096, ge=1)
    max_order_hours: int = Field(default=24 * 31, ge=1)
    max_price_per_gpu_hour: Decimal = Field(default=Decimal("100"), gt=0)
    max_alternatives: int = Field(default=8, ge=1)
    max_legs: int = Field(default=8, ge=1)
    max_open_orders_per_account: int = Field(default=1000, ge=1)
    order_entry_connections: int = Field(
        default=16, ge=1, le=200,
        description="PostgreSQL connections of an API process's order-entry pool, all opened "
                    "and prepared at start (so the first bids under load wait for none)")

    # Funds and market integrity (docs/settlement.md)
    fee_bps: int = Field(default=0, ge=0, le=10_000,
                         description="the exchange's fee on sellers' revenue, basis points")
    price_band_pct: Decimal | None = Field(
        default=None, gt=0, le=1000, description="refuse orders priced more than this percent "
        "from their GPU model's latest price index; unset = no band")
    credit_schedule: dict[Decimal, Decimal] = Field(
        default_factory=lambda: dict(DEFAULT_CREDIT_PERCENT),
        description="service credits per uptime tier, as JSON {tier: percent of the price of "
                    "the GPU-hours an outage loses}, e.g. "
                    '{"99.999": 100, "99.99": 50, "99.9": 25, "99.0": 10} (docs/settlement.md)')

    @field_validator("credit_schedule")
    @classmethod
    def _credit_schedule_valid(cls, value: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
        try:
            CreditSchedule.of(value)
        except InvalidValue as err:
            raise ValueError(str(err)) from None
        return value

    # API
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    admin_key: str | None = Field(
        default=None, description="bootstraps the admin account with this API key if set")
    page_size_max: int = Field(default=500, ge=1)
    worker_metrics_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="if set, the worker serves /metrics and /healthz on this port")
    health_port: int | None = Field(
        default=None, ge=1, le=65535, description="the port the image's healthcheck probes")
    log_format: str = Field(default="text", pattern="^(text|json)$")

    # Streams
    fills_stream: str = "gpux:fills"
    auctions_stream: str = "gpux:auctions"
    orders_stream: str = Field(
        default="gpux:orders", description="order status changes (filled, cancelled, expired)")
    supply_stream: str = Field(
        default="gpux:supply", description="open supply and demand totals, whole, each time "
                                           "the book changed (the feed's `supply` channel)")

    # WebSocket feed
    feed_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="a heartbeat on every feed connection this often")
    feed_snapshot_rounds: int = Field(
        default=10, ge=1, le=500, description="rounds in an `auctions` snapshot")
    feed_supply_seconds: float = Field(
        default=5.0, gt=0, description="the worker leading the first partition republishes "
                                       "`supply` this often if the book changed meanwhile")
    feed_queue_max: int = Field(
        default=1000, ge=10, description="messages a slow feed client may lag before it is "
                                          "closed (it resumes from its last sequence number)")
    stream_maxlen: int = Field(default=100_000, ge=1000)
