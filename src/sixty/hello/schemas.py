from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Greeting(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"message": "Hello, Ada!"}]})

    message: str
