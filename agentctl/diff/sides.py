"""The two sides of `agentctl diff`, read from git without a checkout: each revision's project
files (pipelines, prompts, schemas, the lock, Python tool sources as text) are written to a
scratch folder, where they are compiled like any project. Nothing is imported or run."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from agentctl.errors import UsageError

# What compiling a side needs. Python files are copied as text: a tool's module must exist for
# `validate` (it is never imported).
SUFFIXES = (".yaml", ".yml", ".prompt", ".json", ".py", ".lock")
WORKTREE = None  # HEAD's default: the working tree, as it is on disk


@dataclass(frozen=True)
class Side:
    label: str  # a revision as given, or "working tree"
    root: Path  # the project root of this side, on disk
    commit: str | None  # the full hash, None for the working tree


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, timeout=120)
    except FileNotFoundError:
        raise UsageError("agentctl diff needs git, which is not installed") from None
    if done.returncode != 0:
        raise GitFailed(done.stderr.decode("utf-8", "replace").strip())
    return done.stdout


class GitFailed(Exception):
    pass


def repository(project_root: Path) -> tuple[Path, str]:
    """(the repository's top folder, the project's path inside it, '' or 'sub/dir/')."""
    try:
        top = Path(git(project_root, "rev-parse", "--show-toplevel").decode().strip())
        prefix = git(project_root, "rev-parse", "--show-prefix").decode().strip()
    except GitFailed:
        raise UsageError(f"{project_root} is not in a git repository",
                         "agentctl diff compares git revisions: run it inside a clone") from None
    return top, prefix


def default_base(top: Path, head: str | None) -> str:
    """The merge base of HEAD with the default branch (origin/HEAD, else main or master)."""
    for branch in ("origin/HEAD", "origin/main", "origin/master", "main", "master"):
        try:
            git(top, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}")
        except GitFailed:
            continue
        try:
            return git(top, "merge-base", branch, head or "HEAD").decode().strip()
        except GitFailed:
            raise UsageError(f"no merge base between {branch} and {head or 'HEAD'}", _shallow_hint(top)) from None
    raise UsageError("cannot find the default branch to compare with (no origin/HEAD, main or master)",
                     "name the base: agentctl diff BASE [HEAD]")


def commit_of(top: Path, rev: str) -> str:
    try:
        return git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except GitFailed:
        raise UsageError(f"unknown revision '{rev}'", _shallow_hint(top) or "check the branch or commit name") from None


def _shallow_hint(top: Path) -> str | None:
    try:
        shallow = git(top, "rev-parse", "--is-shallow-repository").decode().strip() == "true"
    except GitFailed:
        return None
    if shallow:
        return ("this is a shallow clone: fetch the history (actions/checkout with fetch-depth: 0, "
                "or git fetch --unshallow)")
    return None


def materialize(top: Path, prefix: str, commit: str, into: Path) -> Path:
    """The project's files at `commit`, written under `into`; returns the project root there."""
    listing = git(top, "ls-tree", "-r", "-z", "--name-only", commit, "--", prefix or ".").decode("utf-8", "replace")
    paths = [p for p in listing.split("\0") if p and p.endswith(SUFFIXES)]
    if paths:
        batch = git(top, "cat-file", "--batch", data="".join(f"{commit}:{p}\n" for p in paths).encode())
        for path, content in zip(paths, _blobs(batch)):
            target = into / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    root = into / prefix
    root.mkdir(parents=True, exist_ok=True)
    return root


def _blobs(batch: bytes):
    """The contents in `git cat-file --batch` output: '<sha> <type> <size>\\n<content>\\n' each."""
    at = 0
    while at < len(batch):
        header_end = batch.index(b"\n", at)
        header = batch[at:header_end].split()
        if len(header) != 3:  # "<name> missing": no content follows
            yield b""
            at = header_end + 1
            continue
        size = int(header[2])
        yield batch[header_end + 1: header_end + 1 + size]
        at = header_end + 1 + size + 1
