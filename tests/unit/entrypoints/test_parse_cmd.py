"""`gpux parse --model`: the model backend from the environment, only when asked for."""

from __future__ import annotations

from datetime import datetime

import pytest

from gpux.adapters import llm
from gpux.entrypoints.cli import main
from gpux.entrypoints.jsonio import loads
from gpux.nlorders.backend import MODEL_WARNING

UNREADABLE = "8 V100 for 2 days at $1/gpu/hr"
NOW = "2026-12-01T09:00:00Z"
DOC = {"side": "buy", "alternatives": [{
    "value": "16", "earliest_start": "2026-12-01T10:00:00Z", "latest_end": "2026-12-08T10:00:00Z",
    "legs": [{"gpus": 8, "duration_hours": 2, "offset_hours": 0, "gpu": ["L4"]}]}]}


class Proposer:
    def propose(self, text: str, now: datetime) -> dict[str, object]:
        return dict(DOC)


def test_model_without_an_endpoint_exits_2(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GPUX_LLM_URL", raising=False)
    assert main(["parse", UNREADABLE, "--now", NOW, "--model"]) == 2
    assert "GPUX_LLM_URL" in capsys.readouterr().err


def test_model_with_an_endpoint_but_no_model_name_exits_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GPUX_LLM_URL", "http://127.0.0.1:1/v1")
    monkeypatch.delenv("GPUX_LLM_MODEL", raising=False)
    assert main(["parse", UNREADABLE, "--now", NOW, "--model"]) == 2
    assert "GPUX_LLM_MODEL" in capsys.readouterr().err


def test_the_model_reads_what_the_grammar_cannot_and_says_so(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(llm, "proposer_from_env", lambda: Proposer())
    assert main(["parse", UNREADABLE, "--now", NOW, "--model"]) == 0
    doc = loads(capsys.readouterr().out)
    assert doc["alternatives"][0]["legs"][0]["gpu"] == ["L4"]
    assert doc["warnings"][0] == MODEL_WARNING


def test_without_model_the_grammar_error_exits_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(llm, "proposer_from_env", lambda: Proposer())
    assert main(["parse", UNREADABLE, "--now", NOW]) == 2
    assert '"8 V100"' in capsys.readouterr().err
