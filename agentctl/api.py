"""What the commands do, as plain functions returning results. The CLI only parses and prints."""

from __future__ import annotations

import gc
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agentctl.compile.compiler import compile_pipeline
from agentctl.compile.definitions import compile_prompt_file
from agentctl.compile.ir import CompiledPipeline
from agentctl.compile.project import LOCK_FILE, Project, display_path, find_root
from agentctl.diagnostics import Diagnostic
from agentctl.errors import AgentctlError, InvalidSpec, UsageError, writing
from agentctl.lockfile import lock_key, read_lock, write_lock
from agentctl.spec.load import load_spec
from agentctl.spec.models import Pipeline
from agentctl.spec.source_file import read_text

PIPELINE_SUFFIXES = (".yaml", ".yml")
PROMPT_SUFFIX = ".prompt"


@dataclass
class ValidationResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    pipelines: dict[str, CompiledPipeline] = field(default_factory=dict)
    files: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors

    @property
    def pipeline(self) -> CompiledPipeline | None:
        """The one pipeline compiled by compile_file (None if it has errors)."""
        return next(iter(self.pipelines.values()), None)

    def compiled(self) -> CompiledPipeline:
        """The pipeline, or InvalidSpec with every diagnostic."""
        if self.pipeline is None:
            raise InvalidSpec(self.diagnostics, self.files)
        return self.pipeline


@contextmanager
def _no_gc_pauses():
    """Compiling builds many small acyclic objects; the collector's full passes over them grow
    with the heap and made a 10,000-step pipeline cost 2.3x more per step than a 1,000-step one."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate(paths: list[str] | None = None, cwd: Path | None = None) -> ValidationResult:
    with _no_gc_pauses():
        return _validate(paths, cwd)


def _validate(paths: list[str] | None, cwd: Path | None) -> ValidationResult:
    """Check every pipeline and prompt in `paths` (default: the project's), all in one pass."""
    cwd = cwd or Path.cwd()
    if paths:
        files = _expand([cwd / p for p in paths])
        root = find_root(files[0].parent if files else cwd)
    else:
        root = find_root(cwd)
        files = _expand([d for d in (root / "pipelines", root / "prompts", root / "evals") if d.is_dir()])
        if not files:
            raise UsageError(f"no pipelines or prompts found in {display_path(root)}",
                             "pass paths to check, or run `agentctl init` to start a project")
    project = Project(root)
    lock = read_lock(root / LOCK_FILE)
    result = ValidationResult(files=len(files))
    found: list[Diagnostic] = []
    for file in files:
        if file.suffix == PROMPT_SUFFIX:
            found.extend(_check_prompt(project, file, lock))
        elif file.name.endswith(".eval.yaml"):
            from agentctl.evals.compile import compile_eval

            found.extend(compile_eval(file, display_path(file))[1])
        else:
            compiled, diags = _compile(project, file, lock)
            found.extend(diags)
            if compiled is not None:
                result.pipelines[compiled.path] = compiled
    result.diagnostics = sorted(dict.fromkeys(found), key=Diagnostic.sort_key)
    return result


def compile_file(path: str, cwd: Path | None = None) -> ValidationResult:
    """One pipeline compiled, with every diagnostic for it and the prompts it uses."""
    file = (cwd or Path.cwd()) / path
    if file.suffix not in PIPELINE_SUFFIXES and file.exists():
        raise UsageError(f"{path} is not a pipeline (expected a .yaml file)")
    project = Project(find_root(file.parent))
    with _no_gc_pauses():
        compiled, diags = _compile(project, file, read_lock(project.root / LOCK_FILE))
    result = ValidationResult(sorted(dict.fromkeys(diags), key=Diagnostic.sort_key), files=1)
    if compiled is not None:
        result.pipelines[compiled.path] = compiled
    return result


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.suffix in PIPELINE_SUFFIXES + (PROMPT_SUFFIX,) and p.is_file()]
            files.extend(sorted(found))
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def _compile(project: Project, file: Path, lock: dict | None) -> tuple[CompiledPipeline | None, list[Diagnostic]]:
    loaded, diags = load_spec(Pipeline, file, display_path(file), "a pipeline")
    if loaded is None:
        return None, diags
    spec, text, smap = loaded
    digest = hashlib.sha256(text.encode()).hexdigest()
    return compile_pipeline(spec, smap, project, source_sha256=digest, lock=lock)


def _check_prompt(project: Project, file: Path, lock: dict | None) -> list[Diagnostic]:
    key = file.resolve()
    if key not in project.prompts:
        project.prompts[key] = compile_prompt_file(file, display_path(file), lock)
    return project.prompts[key][1]


@dataclass
class LockResult:
    path: Path
    added: list[str]
    unchanged: int


def lock_prompts(cwd: Path | None = None, force: bool = False) -> LockResult:
    """Record the hash of every prompt version; refuse to re-record a changed version."""
    from agentctl.compile.prompts import prompt_hash
    from agentctl.spec.prompt_file import parse_prompt

    root = find_root(cwd or Path.cwd())
    lock_path = root / LOCK_FILE
    entries = read_lock(lock_path) or {}
    added, unchanged, problems = [], 0, []
    for file in sorted((root / "prompts").rglob("*" + PROMPT_SUFFIX)):
        text, diag = read_text(file, display_path(file))
        source, diags = parse_prompt(text, display_path(file)) if text is not None else (None, [diag])
        if source is None:
            problems.append(f"{display_path(file)}: {diags[0].message}")
            continue
        key, digest = lock_key(source.front.name, str(source.front.version)), prompt_hash(source)
        if entries.get(key) == digest:
            unchanged += 1
        elif key in entries and not force:
            problems.append(f"{display_path(file)}: {key} changed since it was locked; bump its version")
        else:
            entries[key] = digest
            added.append(key)
    if problems:
        raise AgentctlError("agentctl.lock was not written:\n  " + "\n  ".join(problems),
                            "fix the prompts above (or pass --force to re-record changed versions)")
    write_lock(lock_path, entries)
    return LockResult(lock_path, added, unchanged)


def json_schemas() -> dict[str, dict]:
    """The editor schemas for pipeline files, prompt front matter, eval files and policy files."""
    from agentctl.evals.spec import EvalFile
    from agentctl.spec.descriptions import SCHEMA_IDS, describe
    from agentctl.spec.models import Policy, PromptFrontMatter

    out = {}
    for name, model, title in (("pipeline.schema.json", Pipeline, "agentctl pipeline (apiVersion agentctl/v1)"),
                               ("prompt.schema.json", PromptFrontMatter, "agentctl prompt front matter"),
                               ("eval.schema.json", EvalFile, "agentctl eval file (evals/*.eval.yaml)"),
                               ("policy.schema.json", Policy, "agentctl policy file (policy.yaml)")):
        schema = describe(model.model_json_schema(by_alias=True), model.__name__)
        out[name] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_IDS[name],
                     "title": title, **schema}
    return out


def schema_files(directory: Path) -> dict[Path, str]:
    return {directory / name: json.dumps(schema, indent=2, sort_keys=True) + "\n"
            for name, schema in json_schemas().items()}


def write_schemas(directory: Path, check: bool = False) -> list[Path]:
    """Write the schemas; with check, return the stale ones instead of writing."""
    stale = [path for path, text in schema_files(directory).items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    if not check:
        with writing(directory):
            directory.mkdir(parents=True, exist_ok=True)
            for path, text in schema_files(directory).items():
                path.write_text(text, encoding="utf-8")
    return stale


@dataclass
class RunOptions:
    inputs: list[str] = field(default_factory=list)
    input_file: str | None = None
    record: str | None = None
    replay: str | None = None
    role: str | None = None  # --role; else $AGENTCTL_ROLE


def prepare_run(pipeline: str, options: RunOptions, cwd: Path | None = None):
    """Everything checked before the first token: spec, inputs, tools, cassette (a runs.Prepared).
    Raises InvalidSpec or UsageError on a problem."""
    from agentctl.run.inputs import collect_inputs
    from agentctl.run.permissions import run_role
    from agentctl.runs import Prepared
    from agentctl.tools.registry import build_tools

    compiled = compile_file(pipeline, cwd).compiled()
    inputs = collect_inputs(compiled.inputs, options.inputs, options.input_file)
    role = run_role(compiled, options.role, compiled.root)
    return Prepared(compiled, inputs, build_tools(compiled), make_model(options, compiled), role)


def check_writable(option: str, path: Path, folder: bool = False) -> None:
    """Before any paid call: the file (or folder) an option names can be written (UsageError)."""
    where = path if folder else path.parent
    if not folder and path.exists() and not path.is_file():
        raise UsageError(f"{option} {path}: not a regular file", "name a .json file to write to")
    probe = where / f".agentctl-probe-{os.getpid()}"
    try:
        where.mkdir(parents=True, exist_ok=True)
        probe.write_text("")
        probe.unlink()
    except FileExistsError:  # mkdir: the folder's name is taken by a file
        raise UsageError(f"{option} {path}: {where} is not a folder", "name a folder you can write to") from None
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}", "name a folder you can write to") from None


def make_model(options: RunOptions, pipeline: CompiledPipeline | None = None):
    """Replay needs no network and no litellm; everything else goes through the litellm adapter.
    A recording masks the pipeline's secrets in what it writes. With the pipeline, a live model's
    credentials are checked before anything runs (UsageError naming the variable)."""
    if options.record and options.replay:
        raise UsageError("--record and --replay cannot be used together")
    if options.replay:
        from agentctl.llm.cassette import ReplayModel

        path = Path(options.replay)
        if not path.is_file():
            raise UsageError(f"cassette {options.replay} does not exist", "record one with --record")
        try:
            return ReplayModel(path)
        except (ValueError, KeyError, TypeError) as exc:
            raise AgentctlError(f"cannot read cassette {options.replay}: {exc}") from None
    if pipeline is not None and not pipeline.agents:
        from agentctl.llm.client import NoModel

        return NoModel()  # no agent, no model call: litellm's 2-3 s import is not paid
    if pipeline is not None and pipeline.mcp_servers and not options.record:
        from agentctl.llm.loading import LoadingModel

        return LoadingModel(pipeline.models)  # loaded while the servers start
    if options.record:
        check_writable("--record", Path(options.record))
    from agentctl.llm.litellm_client import LitellmModel

    model = LitellmModel()
    if options.record:
        from agentctl.llm.cassette import RecordingModel

        from agentctl.record.redact import Redactor

        redactor = Redactor.for_pipeline(pipeline) if pipeline is not None else Redactor(())
        model = RecordingModel(model, Path(options.record), redactor.value)
    if pipeline is not None:
        model.check_credentials(pipeline.models)  # keys and endpoints, before any call
    return model
