"""JSON bodies for the hot reads, rendered in one pass by pydantic-core.

The manager app's list, portrait and task-list routes and the customer app's account queries
return a `Response` holding these bytes: FastAPI then skips re-validating the dict through the
response model and walking it with `jsonable_encoder`, which at a few hundred requests a second
cost more CPU than the query. The JSON is the same (the routes keep `response_model`, so the
documented schema is unchanged, and tests compare the body with the model's own serialisation):
pydantic-core writes dates, datetimes and floats exactly as a model's serialisation does. The
dict must hold exactly the model's fields: nothing filters it on the way out.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json


def json_response(body: Any) -> Response:
    return Response(content=to_json(body), media_type="application/json")
