"""One side of a diff, compiled: its prompts by name@version, its pipelines as semantic paths
(steps by id, not position; key order, comments, anchors and quoting gone), its schemas, and
what each pipeline uses. Built from files on disk with the same parser and compiler as
`validate`, so no project code is imported and no `${env:...}` is resolved."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from agentctl.compile.ir import CompiledPipeline
from agentctl.diagnostics import Diagnostic

SchemaDoc = Any


@dataclass
class PromptInfo:
    key: str  # name@version
    name: str
    version: str
    path: str  # relative to the project root
    sha256: str  # what the lock pins: inputs and sections
    sections: tuple[tuple[str, str, int], ...]  # (role, text, first line)
    inputs: dict[str, dict]
    description: str | None
    sample: dict[str, Any]
    lock: str  # recorded, missing, differs


@dataclass
class PipelineInfo:
    path: str
    values: dict[str, Any]  # semantic path -> value
    lines: dict[str, int]  # semantic path -> line in this side's file
    compiled: CompiledPipeline | None
    errors: list[Diagnostic]
    prompts: set[str] = field(default_factory=set)  # name@version
    files: set[str] = field(default_factory=set)  # schemas and tool modules it reads, relative


@dataclass
class Snapshot:
    root: Path
    prompts: dict[str, PromptInfo] = field(default_factory=dict)
    pipelines: dict[str, PipelineInfo] = field(default_factory=dict)
    schemas: dict[str, SchemaDoc] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # tool module -> sha256 of its text


def snapshot(root: Path, paths: tuple[str, ...] = ()) -> Snapshot:
    from agentctl.lockfile import read_lock

    snap = Snapshot(root)
    lock = read_lock(root / "agentctl.lock") or {}
    for file in _files(root, "prompts", ".prompt", paths):
        info = read_prompt(root, file, lock)
        if info is not None:
            snap.prompts[info.key] = info
    for file in _files(root, "schemas", ".json", paths):
        try:
            snap.schemas[_rel(root, file)] = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            snap.schemas[_rel(root, file)] = None
    for file in _files(root, "tools", ".py", paths):
        snap.sources[_rel(root, file)] = hashlib.sha256(file.read_bytes()).hexdigest()
    for file in [*_files(root, "pipelines", ".yaml", paths), *_files(root, "pipelines", ".yml", paths)]:
        snap.pipelines[_rel(root, file)] = _pipeline(root, file, snap.prompts)
    return snap


def _files(root: Path, folder: str, suffix: str, paths: tuple[str, ...]) -> list[Path]:
    base = root / folder
    found = sorted(p for p in base.rglob(f"*{suffix}") if p.is_file()) if base.is_dir() else []
    return [p for p in found if not paths or any(_rel(root, p).startswith(prefix.rstrip("/")) for prefix in paths)]


def _rel(root: Path, file: Path) -> str:
    return file.relative_to(root).as_posix()


def read_prompt(root: Path, file: Path, lock: dict[str, str]) -> PromptInfo | None:
    from agentctl.compile.prompts import prompt_hash
    from agentctl.lockfile import lock_key
    from agentctl.spec.prompt_file import parse_prompt

    try:
        source, _ = parse_prompt(file.read_text(encoding="utf-8"), _rel(root, file))
    except UnicodeDecodeError:
        return None
    if source is None:
        return None
    front = source.front
    key, digest = lock_key(front.name, str(front.version)), prompt_hash(source)
    status = "missing" if key not in lock else "recorded" if lock[key] == digest else "differs"
    return PromptInfo(key, front.name, str(front.version), _rel(root, file), digest,
                      tuple((s.role, s.text, s.first_line) for s in source.sections),
                      {k: v.model_dump(mode="json", exclude_unset=True) for k, v in front.inputs.items()},
                      front.description, dict(front.sample), status)


def _pipeline(root: Path, file: Path, prompts: dict[str, PromptInfo]) -> PipelineInfo:
    from agentctl import api
    from agentctl.spec.yaml_source import YamlLoadError, load_yaml

    rel = _rel(root, file)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    try:
        data, smap = load_yaml(file.read_text(encoding="utf-8"), rel)
        for path, value, yaml_path in flatten(data):
            values[path], lines[path] = value, smap.value(yaml_path).line
    except (YamlLoadError, UnicodeDecodeError):
        pass
    result = api.compile_file(str(file), cwd=root)
    compiled = next(iter(result.pipelines.values()), None)
    info = PipelineInfo(rel, values, lines, compiled, [d for d in result.diagnostics if d.is_error])
    if compiled is not None:
        info.prompts = {f"{a.prompt.name}@{a.prompt.version}" for a in compiled.agents.values()}
        _permissions(compiled, info)
    else:  # a prompt change may be what breaks it: it is still among the pipelines that prompt affects
        by_path = {p.path: key for key, p in prompts.items()}
        info.prompts = {by_path[v] for k, v in values.items()
                        if k.startswith("agents.") and k.endswith(".prompt") and v in by_path}
    for value in values.values():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and text.endswith(".json"):
                info.files.add(text.split("#")[0])
            elif isinstance(text, str) and ":" in text and text.replace(".", "").split(":")[0].isidentifier():
                info.files.add(text.split(":")[0].replace(".", "/") + ".py")
    return info


def _permissions(compiled: CompiledPipeline, info: PipelineInfo) -> None:
    """What each role may do with each tool, as values: a change to a shared policy file shows in
    every pipeline it changes, as `permissions.ROLE.TOOL: before -> after`."""
    from agentctl.graph_render import permission

    if compiled.policy is None:
        return
    for role in compiled.policy.runners:
        for tool in sorted(compiled.tools):
            path = f"permissions.{role}.{tool}"
            info.values[path] = permission(compiled, role, tool, numbered=False)
            info.lines[path] = info.lines.get("policy", 0)


def flatten(data: Any, yaml_path: tuple = (), semantic: tuple = ()) -> Iterator[tuple[str, Any, tuple]]:
    """(semantic path, leaf value, YAML path). Lists of mappings with an `id` (steps) are keyed by
    id, so moving a step is not a change of every step after it; other lists are one value."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from flatten(value, yaml_path + (key,), semantic + (str(key),))
    elif _by_id(data):
        for index, item in enumerate(data):
            for key, value in item.items():
                if key != "id":
                    yield from flatten(value, yaml_path + (index, key), semantic + (str(item["id"]), str(key)))
    else:
        yield ".".join(semantic), data, yaml_path


def _by_id(data: Any) -> bool:
    if not isinstance(data, list) or not data or not all(isinstance(i, dict) and isinstance(i.get("id"), str)
                                                          for i in data):
        return False
    return len({i["id"] for i in data}) == len(data)
