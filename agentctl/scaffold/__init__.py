"""`agentctl init`: a new project (pipeline, prompt, schemas, lock) that validates clean."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from agentctl.errors import UsageError, writing

GITIGNORE = ".agentctl/\n.venv/\n__pycache__/\n"
# VS Code's YAML extension (redhat.vscode-yaml) validates and completes these files with the schemas.
VSCODE_SETTINGS = {
    "yaml.schemas": {"./schemas/pipeline.schema.json": ["pipelines/*.yaml", "pipelines/**/*.yaml"],
                     "./schemas/eval.schema.json": ["evals/*.eval.yaml"],
                     "./schemas/policy.schema.json": ["policy.yaml", "*.policy.yaml"]},
    "files.associations": {"*.prompt": "markdown"},
}


def init_project(directory: Path) -> list[Path]:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"{directory} already exists and is not an empty folder",
                         "choose a new folder name; init never overwrites files")
    with writing(directory):
        return _write_project(directory)


def _write_project(directory: Path) -> list[Path]:
    template = resources.files(__package__) / "template"
    written = []
    for rel in ("pipelines/hello.yaml", "prompts/summarize.prompt", "schemas/summary.json"):
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((template / rel).read_text(encoding="utf-8"), encoding="utf-8")
        written.append(target)
    (directory / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    written.append(directory / ".gitignore")
    settings = directory / ".vscode" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(VSCODE_SETTINGS, indent=2) + "\n", encoding="utf-8")
    written.append(settings)

    from agentctl.api import lock_prompts, schema_files, write_schemas

    write_schemas(directory / "schemas")
    written += list(schema_files(directory / "schemas"))
    written.append(lock_prompts(directory).path)
    return written
