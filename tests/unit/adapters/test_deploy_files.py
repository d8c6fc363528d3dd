"""The deployment files agree with the code: metric names, settings, commands, datasources.

There is no Docker engine here, so what can be checked of the Dockerfile and the compose file
is their structure and their consistency with the settings class, the CLI and the metrics.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpux.adapters.metrics import exported_names
from gpux.adapters.postgres.tables import metadata
from gpux.config import Settings
from gpux.entrypoints.cli import parser

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
METRIC = re.compile(r"\bgpux_[a-z0-9_]+\b")


def _dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "grafana" / "dashboards" / "gpux.json").read_text())


def _promql() -> list[str]:
    exprs = [t["expr"] for p in _dashboard()["panels"] for t in p.get("targets", [])
             if "expr" in t]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return exprs


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_metric_the_dashboard_and_alerts_query_is_exported_by_the_code() -> None:
    exported = exported_names()
    used = {name for expr in _promql() for name in METRIC.findall(expr)}
    assert used, "no gpux metric found in the dashboard or the alerts"
    assert used - exported == set()


def test_every_exported_metric_follows_the_naming_conventions() -> None:
    for name in exported_names():
        assert name.startswith("gpux_"), name
        assert not re.search(r"_(ms|milliseconds|minutes|cents)(_|$)", name), name


def test_the_dashboard_covers_activity_prices_auction_health_and_service_health() -> None:
    rows = {p["title"] for p in _dashboard()["panels"] if p["type"] == "row"}
    assert rows == {"Market activity", "Prices", "Auction health", "Service health"}


def test_dashboard_datasources_are_the_provisioned_ones_and_sql_uses_real_tables() -> None:
    prov = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" /
                           "datasources.yml").read_text())
    uids = {d["uid"] for d in prov["datasources"]}
    tables = {t.name: {c.name for c in t.columns} for t in metadata.sorted_tables}
    for panel in _dashboard()["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] in uids
            if "rawSql" in target:
                for table, alias in re.findall(r"(?:FROM|JOIN) (\w+) (\w+)", target["rawSql"]):
                    assert table in tables
                    for col in re.findall(rf"\b{alias}\.(\w+)", target["rawSql"]):
                        assert col in tables[table], f"{table}.{col}"


def _env_of(service: dict[str, Any]) -> dict[str, str]:
    env = dict(service.get("environment") or {})
    env = {k: str(v) for k, v in env.items() if k != "<<"}
    # ${VAR:-default} takes its default, as compose does with VAR unset.
    return {k: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", v) for k, v in env.items()}


def _gpux_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in _compose()["services"].items() if svc.get("build")}


def test_compose_settings_are_fields_of_the_settings_class_and_validate() -> None:
    fields = set(Settings.model_fields)
    services = _gpux_services()
    assert set(services) == {"migrate", "api", "worker"}
    for name, svc in services.items():
        env = _env_of(svc)
        for key in env:
            if key in ("DATABASE_URL", "REDIS_URL"):
                continue
            assert key.startswith("GPUX_"), f"{name}: {key}"
            assert key.removeprefix("GPUX_").lower() in fields, f"{name}: {key}"
        settings = Settings(**{k.removeprefix("GPUX_").lower() if k.startswith("GPUX_")
                               else k.lower(): v for k, v in env.items()})
        assert settings.database_url and settings.redis_url


def test_compose_settings_validate_with_the_partition_map_the_scaling_guide_gives() -> None:
    found = re.search(r"^GPUX_PARTITION_REGIONS=(\S+)$",
                      (ROOT / "docs" / "scaling.md").read_text(), re.M)
    assert found
    env = _env_of(_gpux_services()["worker"])
    assert "GPUX_PARTITION_REGIONS" in env and "GPUX_PARTITION" not in env
    settings = Settings(**{k.removeprefix("GPUX_").lower() if k.startswith("GPUX_")
                           else k.lower(): v for k, v in {
                               **env, "GPUX_PARTITION_REGIONS": found.group(1)}.items()})
    assert settings.partitions() == ["americas", "europe", "asia"]
    assert settings.partition_map().of_region("eu-central") == "europe"


def test_compose_commands_are_real_gpux_subcommands() -> None:
    top = parser()
    commands = [svc["command"] for svc in _gpux_services().values()]
    docker_cmd = re.search(r'^CMD (\[.*\])$', (ROOT / "Dockerfile").read_text(), re.M)
    assert docker_cmd
    commands.append(json.loads(docker_cmd.group(1)))
    for cmd in commands:
        argv = cmd if isinstance(cmd, list) else shlex.split(cmd)
        assert argv[0] == "gpux"
        top.parse_args(argv[1:])  # exits with status 2 on an unknown command or option


def test_compose_runs_every_part_in_order() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "prometheus", "grafana"} <= set(
        services)
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully")


def test_prometheus_scrapes_the_ports_the_services_listen_on() -> None:
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"]
               for t in sc["targets"]}
    api, worker = (_env_of(_gpux_services()[n]) for n in ("api", "worker"))
    assert targets == {f"api:{api['GPUX_PORT']}", f"worker:{worker['GPUX_WORKER_METRICS_PORT']}"}


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*", text, re.M)
    assert "/healthz" in text
    assert re.search(r"^COPY migrations ", text, re.M)


@pytest.mark.parametrize("path", ["deploy/prometheus/alerts.yml",
                                  "deploy/prometheus/prometheus.yml", "docker-compose.yml"])
def test_yaml_files_parse(path: str) -> None:
    assert yaml.safe_load((ROOT / path).read_text())
