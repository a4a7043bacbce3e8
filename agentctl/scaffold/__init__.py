"""`agentctl init`: a new project (pipeline, prompt, schemas, lock) that validates clean."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from agentctl.errors import UsageError

GITIGNORE = ".agentctl/\n.venv/\n__pycache__/\n"


def init_project(directory: Path) -> list[Path]:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"{directory} already exists and is not an empty folder",
                         "choose a new folder name; init never overwrites files")
    template = resources.files(__package__) / "template"
    written = []
    for rel in ("pipelines/hello.yaml", "prompts/summarize.prompt", "schemas/summary.json"):
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((template / rel).read_text(encoding="utf-8"), encoding="utf-8")
        written.append(target)
    (directory / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    written.append(directory / ".gitignore")

    from agentctl.api import lock_prompts, schema_files, write_schemas

    write_schemas(directory / "schemas")
    written += list(schema_files(directory / "schemas"))
    written.append(lock_prompts(directory).path)
    return written
