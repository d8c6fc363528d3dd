"""docs/asyncapi.yaml parses and describes every channel the feed serves."""

from __future__ import annotations

from pathlib import Path

import yaml

from gpux.service.feed import CHANNELS, PRIVATE

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.yaml"


def test_the_asyncapi_document_parses_and_names_every_channel_the_feed_serves() -> None:
    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    assert str(doc["asyncapi"]).startswith(("2.6", "3.0"))
    described = {name for name, ch in doc["channels"].items() if name != "control"}
    assert described == set(CHANNELS)
    enum = doc["components"]["messages"]["subscribe"]["payload"]["properties"]["channel"]
    assert set(enum["enum"]) == set(CHANNELS)
    for name in PRIVATE:
        assert "Private" in doc["channels"][name]["description"]


def test_every_reference_in_the_asyncapi_document_resolves() -> None:
    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):
        target: object = doc
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, ref
            target = target[part]
