"""The OpenAI-compatible model client, against a tiny chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gpux.adapters.llm import LLMError, OpenAICompatibleProposer, proposer_from_env
from gpux.nlorders.backend import MODEL_WARNING, parse_with_fallback
from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.order import BuyOrder

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
ORDER = ('{"side": "buy", "alternatives": [{"value": 2.40, "earliest_start": '
         '"2026-12-01T10:00:00Z", "latest_end": "2026-12-01T11:00:00Z", "legs": '
         '[{"gpus": 1, "duration_hours": 1, "offset_hours": 0, "gpu": ["H100"]}]}]}')


@dataclass
class Endpoint:
    """What the server answers next, and every request it received."""

    status: int = 200
    body: str = ""
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, content: str, status: int = 200) -> None:
        """Answer the next requests with a chat completion whose message is `content`."""
        self.status = status
        self.body = json.dumps({"id": "x", "object": "chat.completion", "choices": [
            {"index": 0, "finish_reason": "stop",
             "message": {"role": "assistant", "content": content}}]})


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((self.path, dict(self.headers), json.loads(raw)))
            body = state.body.encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                              daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_client_posts_a_chat_completion_and_reads_the_order(endpoint: Endpoint) -> None:
    endpoint.answer(ORDER)
    proposer = OpenAICompatibleProposer(endpoint.url + "/", "tiny-model", api_key="k-1")
    doc = proposer.propose("one H100 for an hour, two forty", NOW)
    assert doc["alternatives"][0]["value"] == Decimal("2.40")  # type: ignore[index]
    (path, headers, body), = endpoint.requests
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer k-1"
    assert body["model"] == "tiny-model"
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system["role"] == "system"
    assert "2026-12-01T09:00:00Z" in system["content"]
    assert "A100-80GB" in system["content"]
    assert "ap-southeast" in system["content"]
    assert user == {"role": "user", "content": "one H100 for an hour, two forty"}


def test_no_key_sends_no_authorization(endpoint: Endpoint) -> None:
    endpoint.answer(ORDER)
    OpenAICompatibleProposer(endpoint.url, "m").propose("x", NOW)
    assert "Authorization" not in endpoint.requests[0][1]


QUOTED = ORDER[:-1] + (', "explanation": [{"field": "alternatives[0].value", "value": "2.4", '
                      '"words": "two forty"}]}')


def test_the_proposal_goes_through_the_checks_and_is_marked(endpoint: Endpoint) -> None:
    endpoint.answer(QUOTED)
    order = parse_with_fallback("one H100 for an hour, two forty", NOW,
                                OpenAICompatibleProposer(endpoint.url, "m"))
    assert isinstance(order, BuyOrder)
    assert order.alternatives[0].value == Decimal("2.4")
    assert order.warnings[0] == MODEL_WARNING


def test_a_fenced_answer_is_still_read(endpoint: Endpoint) -> None:
    endpoint.answer(f"```json\n{ORDER}\n```")
    assert OpenAICompatibleProposer(endpoint.url, "m").propose("x", NOW)["side"] == "buy"


@pytest.mark.parametrize(("status", "content", "says"), [
    (500, "boom", "HTTP 500"),
    (200, "I think you want 8 H100s", "not JSON"),
    (200, "[1, 2]", "not answer a JSON object"),
    (200, '{"error": "no price given"}', "no price given"),
])
def test_a_failed_or_unreadable_answer_is_an_llm_error(endpoint: Endpoint, status: int,
                                                       content: str, says: str) -> None:
    endpoint.answer(content, status)
    with pytest.raises(LLMError, match=says):
        OpenAICompatibleProposer(endpoint.url, "m").propose("x", NOW)


def test_an_answer_that_is_not_a_chat_completion_is_an_llm_error(endpoint: Endpoint) -> None:
    endpoint.status, endpoint.body = 200, '{"data": []}'
    with pytest.raises(LLMError, match="not a chat completion"):
        OpenAICompatibleProposer(endpoint.url, "m").propose("x", NOW)
    endpoint.body = "<html>gateway</html>"
    with pytest.raises(LLMError, match="not JSON"):
        OpenAICompatibleProposer(endpoint.url, "m").propose("x", NOW)


def test_an_unreachable_endpoint_is_an_llm_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LLMError, match="could not be reached"):
        OpenAICompatibleProposer(f"http://127.0.0.1:{port}/v1", "m", timeout=2).propose("x", NOW)


def test_the_model_failure_keeps_the_grammar_error(endpoint: Endpoint) -> None:
    endpoint.answer("boom", 500)
    with pytest.raises(UnreadableOrder, match=r'gpu: "8 V100".*HTTP 500'):
        parse_with_fallback("8 V100 for 2 days at $1/gpu/hr", NOW,
                            OpenAICompatibleProposer(endpoint.url, "m"))


def test_only_http_urls_are_accepted() -> None:
    with pytest.raises(LLMError, match="http"):
        OpenAICompatibleProposer("file:///etc/passwd", "m")


def test_the_backend_is_off_unless_the_url_is_set() -> None:
    assert proposer_from_env({}) is None
    assert proposer_from_env({"GPUX_LLM_URL": " ", "GPUX_LLM_MODEL": "m"}) is None
    with pytest.raises(LLMError, match="GPUX_LLM_MODEL"):
        proposer_from_env({"GPUX_LLM_URL": "http://127.0.0.1:1/v1"})
    proposer = proposer_from_env({"GPUX_LLM_URL": "http://127.0.0.1:1/v1",
                                  "GPUX_LLM_MODEL": "m", "GPUX_LLM_API_KEY": "k"})
    assert proposer is not None
    assert (proposer.url, proposer.model, proposer.api_key) == (
        "http://127.0.0.1:1/v1/chat/completions", "m", "k")
