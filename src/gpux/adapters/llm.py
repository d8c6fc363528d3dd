"""The model backend over HTTP: an OpenAI-compatible chat-completions endpoint proposes a parse.

Off by default: `proposer_from_env()` returns None unless `GPUX_LLM_URL` is set (the base URL,
such as `http://127.0.0.1:8080/v1`), with `GPUX_LLM_MODEL` naming the model and
`GPUX_LLM_API_KEY` the bearer key if the endpoint wants one. Whatever the model answers is only
a proposal: `gpux.nlorders.backend.from_doc` checks it like a grammar parse, and it is shown for
confirmation with a `model` warning. Every network, HTTP and JSON failure is one `LLMError`.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from gpux.domain.catalog import GPU_MODELS, REGIONS, UPTIME_TIERS
from gpux.domain.jsonio import dumps, loads
from gpux.nlorders.order import iso

_EXCERPT = 300


class LLMError(Exception):
    """The model endpoint could not be reached, failed, or answered something unreadable."""


def system_prompt(now: datetime) -> str:
    """What the model is told: the output shape, the canonical names, the reference time."""
    return f"""You turn a GPU compute order written in plain English into one JSON object.
The reference time (now) is {iso(now)}; read relative phrases ("next week", "tomorrow") from it.

A buy order:
{{"side": "buy", "alternatives": [{{"value": "<total USD the buyer pays at most>",
  "earliest_start": "<ISO 8601 UTC>", "latest_end": "<ISO 8601 UTC>",
  "legs": [{{"gpus": <int>, "duration_hours": <int>, "offset_hours": <int>,
            "gpu": [<models>], "regions": [<regions>], "min_uptime": "<percent>"}}]}}],
 "explanation": [{{"field": "<field>", "value": "<value>", "words": "<the words it came from>"}}],
 "warnings": ["<kind>: <what you assumed>"]}}
A sell order:
{{"side": "sell", "pool": "<pool id>", "gpus": <int>, "start": "<ISO 8601 UTC>",
 "end": "<ISO 8601 UTC>", "price": "<least USD per GPU-hour>", "explanation": [...],
 "warnings": [...]}}

Rules:
- Alternatives are substitutes (exactly one is bought); the legs of one alternative are all
  bought together, each running `duration_hours` contiguous hours, `offset_hours` after the
  alternative's start.
- `value` is the whole alternative's worth: price per GPU-hour x GPUs x hours, summed over its
  legs (a node is 8 GPUs unless the text says otherwise).
- Money as strings of USD with at most 6 decimals, e.g. "2.40". Never a float.
- Read times as UTC unless the text names a zone; write them in UTC on whole hours, like
  "2026-12-07T00:00:00Z", starting no earlier than the next whole hour after now. With no
  window given: from the next whole hour to end within 7 days.
- GPU models, exactly these names: {', '.join(GPU_MODELS)} ("A100" means both A100s).
- Regions, exactly these names: {', '.join(REGIONS)}.
- Uptime tiers in percent: {', '.join(str(t) for t in UPTIME_TIERS)}.
- Leave out `gpu`, `regions` or `min_uptime` when the text does not restrict them.
- Record every assumption in `warnings`.
- Never invent a price: if the text states no price or budget, or you cannot read it, answer
  {{"error": "<what is missing or unclear>"}} instead.
Answer with the JSON object only."""


class OpenAICompatibleProposer:
    """A `ParseProposer` asking `{url}/chat/completions` for a JSON order document."""

    def __init__(self, url: str, model: str, api_key: str | None = None,
                 timeout: float = 10) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise LLMError(f"the model URL must be http:// or https://, was {url!r}")
        self.url = url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    def request_body(self, text: str, now: datetime) -> dict[str, object]:
        """The chat-completions request for `text` written at `now`."""
        return {"model": self.model, "temperature": 0,
                "response_format": {"type": "json_object"},
                "messages": [{"role": "system", "content": system_prompt(now)},
                             {"role": "user", "content": text}]}

    def propose(self, text: str, now: datetime) -> dict[str, object]:
        """The model's order document for `text`, numbers as Decimals; raises LLMError."""
        answer = _json(self._post(self.request_body(text, now)), "the endpoint's answer")
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise LLMError("the answer is not a chat completion (no choices[0].message."
                           f"content): {_excerpt(str(answer))}") from None
        if not isinstance(content, str):
            raise LLMError(f"the model's message content is not text: {_excerpt(str(content))}")
        doc = _json(_unfence(content), "the model's message")
        if not isinstance(doc, dict):
            raise LLMError(f"the model did not answer a JSON object: {_excerpt(content)}")
        if set(doc) == {"error"}:
            raise LLMError(f"the model could not read the order: {_excerpt(str(doc['error']))}")
        return doc

    def _post(self, body: dict[str, object]) -> str:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=dumps(body, indent=None).encode(),
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw: bytes = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")
            raise LLMError(f"{self.url} answered HTTP {err.code}: {_excerpt(detail)}") from err
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            reason = getattr(err, "reason", err)
            raise LLMError(f"{self.url} could not be reached: {reason}") from err
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise LLMError(f"{self.url} answered bytes that are not UTF-8") from err


def _json(text: str, what: str) -> Any:
    try:
        return loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise LLMError(f"{what} is not JSON ({err}): {_excerpt(text)}") from err


def _unfence(content: str) -> str:
    """The JSON inside a ```json fence, which some models add despite the response format."""
    body = content.strip()
    if body.startswith("```") and body.endswith("```"):
        body = body[3:-3]
        body = body[4:] if body.startswith("json") else body
    return body


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


def proposer_from_env(environ: Mapping[str, str] | None = None) -> OpenAICompatibleProposer | None:
    """The model backend named by `GPUX_LLM_URL` / `_MODEL` / `_API_KEY`, or None when unset."""
    env = os.environ if environ is None else environ
    url = env.get("GPUX_LLM_URL", "").strip()
    if not url:
        return None
    model = env.get("GPUX_LLM_MODEL", "").strip()
    if not model:
        raise LLMError("GPUX_LLM_URL is set but GPUX_LLM_MODEL is not; name the model to ask")
    return OpenAICompatibleProposer(url, model, env.get("GPUX_LLM_API_KEY") or None)
