"""Secrets never reach a journal, trace or log: every text written passes through a Redactor."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping

MASK = "***"
_SECRET_PARAMS = ("key", "token", "secret", "password")


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if isinstance(s, str) and len(s) >= 4}
        # Also the JSON-escaped form, for secrets with quotes or backslashes inside JSON text.
        values |= {json.dumps(s)[1:-1] for s in list(values)}
        self.secrets = sorted(values, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def value(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {k: self.value(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.value(v) for v in data]
        return data

    @classmethod
    def for_pipeline(cls, pipeline: Any, environ: Mapping[str, str] | None = None) -> "Redactor":
        """Declared secret env variables' values, and credential-like model params."""
        environ = os.environ if environ is None else environ
        secrets = [environ.get(name, "") for name, secret in pipeline.env.items() if secret]
        for route in pipeline.models.values():
            secrets += [str(v) for k, v in route.params.items() if any(word in k.lower() for word in _SECRET_PARAMS)]
        return cls(secrets)
