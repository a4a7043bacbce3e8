"""Python-function tools: `module:function`, imported from the project root at run time only.

The input schema is the declared one, else derived from the signature's type hints. A
side-effecting function that accepts `idempotency_key` receives the call's stable key.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import inspect
import json
import sys
import typing
from typing import Any, Callable

from agentctl.compile.ir import ToolDef
from agentctl.tools.base import ToolContext, ToolError

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}
_RESERVED = {"idempotency_key"}


def load_function(target: str, root: str) -> Callable[..., Any]:
    module_name, _, name = target.partition(":")
    if root not in sys.path:
        sys.path.insert(0, root)
    _forget_other_projects(module_name.split(".")[0], root)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - user code may raise anything at import
        raise ToolError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ToolError(f"{module_name} has no function {name}")
    return function


def _forget_other_projects(package: str, root: str) -> None:
    """Projects often name their package `tools`; a module cached from another project's root
    (an embedding process, a test session) must not stand in for this project's."""
    from pathlib import Path

    base = Path(root).resolve()
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        location = getattr(sys.modules[name], "__file__", None)
        if location and base not in Path(location).resolve().parents:
            del sys.modules[name]


def schema_from_signature(function: Callable[..., Any]) -> dict:
    hints = typing.get_type_hints(function)
    props: dict[str, dict] = {}
    required = []
    for name, param in inspect.signature(function).parameters.items():
        if name in _RESERVED or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = typing.get_origin(hints.get(name)) or hints.get(name)
        props[name] = {"type": _JSON_TYPES[hint]} if hint in _JSON_TYPES else {}
        if param.default is param.empty:
            required.append(name)
    return {"type": "object", "properties": props, "required": required}


class PythonTool:
    def __init__(self, spec: ToolDef, root: str) -> None:
        self.name = spec.name
        self.spec = spec
        self.root = root
        self._function: Callable[..., Any] | None = None

    @property
    def function(self) -> Callable[..., Any]:
        if self._function is None:
            self._function = load_function(self.spec.target, self.root)
        return self._function

    def input_schema(self) -> dict:
        return dict(self.spec.input_schema) if self.spec.input_schema else schema_from_signature(self.function)

    async def call(self, args: dict, ctx: ToolContext) -> Any:
        # A copy, as HTTP and MCP tools get one: arguments are often another step's output, by
        # reference, and a function that changes them must not change that output.
        kwargs = copy.deepcopy(args)
        if "idempotency_key" in inspect.signature(self.function).parameters:
            kwargs["idempotency_key"] = ctx.idempotency_key
        try:
            if inspect.iscoroutinefunction(self.function):
                result = await asyncio.wait_for(self.function(**kwargs), self.spec.timeout_s)
            else:
                result = await asyncio.wait_for(asyncio.to_thread(self.function, **kwargs), self.spec.timeout_s)
        except asyncio.TimeoutError:
            raise ToolError(f"tool '{self.name}' timed out after {self.spec.timeout_s:g} s", retryable=True) from None
        except TypeError as exc:
            raise ToolError(f"tool '{self.name}' rejected its arguments: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a tool's failure is reported, not fatal to agentctl
            raise ToolError(f"tool '{self.name}' failed: {type(exc).__name__}: {exc}") from None
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError):
            raise ToolError(f"tool '{self.name}' returned {type(result).__name__}, which is not JSON data") from None
