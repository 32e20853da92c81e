"""JSON bodies for the hot reads, rendered in one pass by pydantic-core.

The list, portrait and task-list routes return a `Response` holding these bytes: FastAPI then
skips re-validating the dict through the response model and walking it with `jsonable_encoder`,
which at a few hundred requests a second cost more CPU than the query. The JSON is the same (the
routes keep `response_model`, so the documented schema is unchanged): pydantic-core writes dates,
datetimes and floats exactly as a model's serialisation does.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json


def json_response(body: Any) -> Response:
    return Response(content=to_json(body), media_type="application/json")
