"""A FastAPI app that does nothing: the yardstick for the order-entry benchmark.

`POST /bids` takes any body and answers 201 with an empty object, under the same uvicorn
settings as the real API, so the ratio of the two shows what the exchange itself costs.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response

app = FastAPI()


@app.post("/bids", status_code=201)
async def bids() -> Response:
    return Response(b"{}", status_code=201, media_type="application/json")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
