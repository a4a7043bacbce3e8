"""A container engine for tests/test_container.py, as far as the machine allows, or the reason
there is none.

- The engine: podman or docker, the first that answers `info`.
- The base image: python:3.11-slim when the engine has it or can pull it; otherwise, with podman
  and debootstrap, a stand-in built from Debian's packages (Python 3.11, venv), which the
  Dockerfile takes as `--build-arg BASE=...`. The stand-in trusts what this machine trusts (its CA
  bundle, and pip told to use it), as a corporate base image behind a TLS proxy would.
- How to start a container: the engine's defaults, else (podman) runc with explicit rlimits, for
  a VM whose kernel refuses crun's cgroups and default rlimits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

BASE = "python:3.11-slim"
STAND_IN = "localhost/agentctl-test-base:bookworm"
_HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass
class Engine:
    name: str
    base: str
    flags: list[str] = field(default_factory=list)  # for build and run alike: the runtime and its limits

    def command(self, verb: str, *args: str) -> list[str]:
        return [self.name, verb, *self.flags, *args]


def find() -> tuple[Engine | None, str]:
    """(engine, "") or (None, why not)."""
    found = [name for name in ("podman", "docker") if shutil.which(name)]
    answering = [name for name in found if _ok([name, "info"], 60)]
    if not answering:
        return None, (f"no container engine answers here ({', '.join(found)} found)" if found
                      else "no container engine (docker or podman) is installed")
    name = answering[0]
    base, why_not = _base(name)
    if base is None:
        return None, why_not
    return _startable(name, base)


def _base(name: str) -> tuple[str | None, str]:
    if _ok([name, "image", "inspect", BASE], 60):
        return BASE, ""
    try:
        pulled = subprocess.run([name, "pull", BASE], capture_output=True, text=True, timeout=120)
        refused = (pulled.stderr.strip().splitlines() or ["?"])[-1][:200]
        if pulled.returncode == 0:
            return BASE, ""
    except subprocess.TimeoutExpired:
        refused = "no answer within 120 s"
    if _ok([name, "image", "inspect", STAND_IN], 60):
        return STAND_IN, ""
    if name != "podman" or not shutil.which("debootstrap") or os.geteuid() != 0:
        return None, f"{name} cannot pull {BASE} ({refused}), and a stand-in needs podman, debootstrap and root"
    return _build_stand_in()


def _build_stand_in() -> tuple[str | None, str]:
    with tempfile.TemporaryDirectory(prefix="agentctl-base-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        made = subprocess.run(["debootstrap", "--variant=minbase",
                               "--include=python3,python3-venv,python-is-python3,ca-certificates", "bookworm",
                               str(rootfs)], capture_output=True, text=True, timeout=900)
        if made.returncode != 0:
            return None, f"debootstrap could not build a stand-in base: {(made.stdout + made.stderr)[-300:]}"
        if _HOST_CA.is_file():
            shutil.copyfile(_HOST_CA, rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt")
            (rootfs / "etc" / "pip.conf").write_text(f"[global]\ncert = {_HOST_CA}\n")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["podman", "import", "-", STAND_IN], stdin=tar.stdout, capture_output=True,
                                  text=True, timeout=600)
        tar.wait()
        if imported.returncode != 0:
            return None, f"podman could not import the stand-in base: {imported.stderr[-300:]}"
    return STAND_IN, ""


def _startable(name: str, base: str) -> tuple[Engine | None, str]:
    attempts = [[]]
    runc = shutil.which("runc")
    if name == "podman" and runc:
        attempts.append(["--runtime", runc, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"])
    refused = ""
    for flags in attempts:
        ran = subprocess.run([name, "run", *flags, "--rm", "--network", "none", base, "python", "-c", "pass"],
                             capture_output=True, text=True, timeout=120)
        if ran.returncode == 0:
            return Engine(name, base, flags), ""
        refused = refused or (ran.stderr.strip().splitlines() or ["?"])[-1][:200]
    hint = "" if runc or name != "podman" else " (runc, from Debian's packages, may start one where crun cannot)"
    return None, f"{name} cannot start a container here: {refused}{hint}"


def _ok(command: list[str], timeout: int) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False
