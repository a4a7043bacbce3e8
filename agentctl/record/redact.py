"""Secrets never reach a journal, trace or log: every text written passes through a Redactor."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping

from agentctl.llm.client import CREDENTIAL_PARAM  # api_key, access_token... not max_tokens

MASK = "***"
MIN_FRAGMENT = 6  # the shortest piece of a cut secret that is masked at a text's ends
_JSON_SCALARS = (int, float, bool, type(None))
# One encoder for the compact JSON every record is written in (json.dumps with options builds a
# new one per call, and the journal writes a few per step).
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def to_json(data: Any, **options: Any) -> str:
    """JSON as agentctl writes it (UTF-8 text, unknown objects as their str()); no masking."""
    return json.dumps(data, ensure_ascii=False, default=str, **options) if options else _ENCODER.encode(data)


def _cut_ends(value: str, secret: str) -> str:
    """A secret cut by a truncation somewhere before (an error message shortened to N characters)
    leaves its first characters at the end of a text, or its last ones at the start: masked too."""
    for k in range(len(secret) - 1, MIN_FRAGMENT - 1, -1):
        if value.endswith(secret[:k]):
            value = value[:-k] + MASK
            break
    for k in range(len(secret) - 1, MIN_FRAGMENT - 1, -1):
        if value.startswith(secret[-k:]):
            value = MASK + value[k:]
            break
    return value


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
            value = _cut_ends(value, secret)
        return value

    def value(self, data: Any) -> Any:
        """`data` with every string masked (keys too), ready for JSON: masking the encoded text
        instead could cut into numbers or JSON syntax. Other objects become their masked str()."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, _JSON_SCALARS):
            return data
        if isinstance(data, dict):
            return {self.value(k) if isinstance(k, str) else k: self.value(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.value(v) for v in data]
        return self.text(str(data))

    def json(self, data: Any, **options: Any) -> str:
        """to_json with every string masked first (so default=str never sees an unmasked object)."""
        return to_json(self.value(data) if self.secrets else data, **options)

    def json_masked(self, data: Any) -> tuple[str, bool]:
        """The masked JSON, and whether masking changed it (the value held a secret)."""
        if not self.secrets:
            return to_json(data), False
        masked = to_json(self.value(data))
        return masked, MASK in masked and masked != to_json(data)

    @classmethod
    def for_pipeline(cls, pipeline: Any, environ: Mapping[str, str] | None = None) -> "Redactor":
        """Declared secret env variables' values, and credential-like model params."""
        environ = os.environ if environ is None else environ
        secrets = [environ.get(name, "") for name, secret in pipeline.env.items() if secret]
        for route in pipeline.models.values():
            secrets += [v for k, v in route.params.items() if isinstance(v, str) and CREDENTIAL_PARAM.search(k)]
        return cls(secrets)
