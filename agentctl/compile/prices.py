"""Model prices and token limits from litellm's bundled price file, read without importing litellm.

Importing litellm takes about 3 s, so `validate` and `graph` read its JSON data file directly.
A zero price is treated as unknown: litellm's map has silently-zero entries for some models.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

PRICE_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    input_per_token: float | None
    output_per_token: float | None
    max_input_tokens: int | None
    max_output_tokens: int | None


def _litellm_spec():
    """litellm's package, located without running it; None when it is not installed."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):  # a module entry that is None or broken
        return None
    return spec if spec is not None and spec.submodule_search_locations else None


def litellm_installed() -> bool:
    """Whether litellm (the run extra), and with it the price table, is installed."""
    return _litellm_spec() is not None


class PriceTable:
    def __init__(self, entries: dict | _IndexText, installed: bool = True) -> None:
        self.entries = entries
        self.installed = installed  # False: litellm (the run extra) is not installed, so no table

    @classmethod
    def from_litellm_package(cls) -> "PriceTable":
        spec = _litellm_spec()
        if spec is None:
            return cls({}, installed=False)
        path = Path(list(spec.submodule_search_locations)[0]) / PRICE_FILE
        try:
            stat = path.stat()
        except OSError:
            return cls({})
        # Parsing the full 1.3 MB file costs 14 ms per run, and even a compact JSON index of it
        # (0.8 MB) 5 ms. Validate needs a handful of models, so the cache is one line per model,
        # searched as text; only the lines asked for are parsed.
        key = hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        cache = _cache_dir() / f"prices-{key}.tsv"
        try:
            return cls(_IndexText(cache.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
        try:
            entries = _compact(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return cls({})
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(_IndexText.render(entries), encoding="utf-8")
            tmp.replace(cache)
        except OSError:
            pass  # a read-only home is fine: we just parse the full file next time
        return cls(entries)

    def lookup(self, model: str) -> ModelInfo | None:
        entry = self.entries.get(model)
        if entry is None and "/" in model:
            provider, rest = model.split("/", 1)
            candidate = self.entries.get(rest)
            if isinstance(candidate, dict) and str(candidate.get("litellm_provider", "")).startswith(provider):
                entry = candidate
        if not isinstance(entry, dict):
            return None
        return ModelInfo(
            _positive(entry.get("input_cost_per_token")),
            _positive(entry.get("output_cost_per_token")),
            _count(entry.get("max_input_tokens")),
            _count(entry.get("max_output_tokens") or entry.get("max_tokens")),
        )


_FIELDS = ("litellm_provider", "input_cost_per_token", "output_cost_per_token", "max_input_tokens",
           "max_output_tokens", "max_tokens")


class _IndexText:
    """`name<TAB>{json}` lines; `get` finds one name without parsing the rest."""

    def __init__(self, text: str) -> None:
        self.text = "\n" + text

    @staticmethod
    def render(entries: dict) -> str:
        return "".join(f"{name}\t{json.dumps(entry)}\n" for name, entry in entries.items()
                       if "\t" not in name and "\n" not in name)

    def get(self, name: str) -> dict | None:
        start = self.text.find(f"\n{name}\t")
        if start < 0:
            return None
        start += len(name) + 2
        return json.loads(self.text[start:self.text.index("\n", start)])


def _compact(entries: dict) -> dict:
    return {name: {f: e[f] for f in _FIELDS if f in e} for name, e in entries.items() if isinstance(e, dict)}


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "agentctl"


def _positive(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _count(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and value > 0 else None
