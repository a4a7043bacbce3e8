"""Benchmarks for `agentctl diff` (issue 11). Prints figures; asserts nothing.

    .venv/bin/python bench/diff_bench.py

1. Cold: `agentctl diff BASE HEAD` between two commits of the example project against cold
   `agentctl validate` on the same project, interleaved, same machine. Target: ratio <= 2.5.
2. Scale: generated projects of 100 / 250 / 500 prompts and 10 / 25 / 50 pipelines, 20 prompts
   changed between the commits, `agentctl diff` cold. Target: 500 prompts under 3 s; time per
   prompt flat (linear, not quadratic).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AGENTCTL = [sys.executable, "-m", "agentctl"]
ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
       "GIT_COMMITTER_EMAIL": "b@b"}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=ENV)


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1, 5):  # validate exits 1 on the unbumped prompts: still timed
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return elapsed


def example_repo(into: Path) -> Path:
    for sub in ("pipelines", "prompts", "schemas", "tools"):
        shutil.copytree(REPO / sub, into / sub)
    for name in ("agentctl.lock", "policy.yaml"):
        shutil.copy(REPO / name, into / name)
    git(into, "init", "-q", "-b", "main")
    git(into, "add", "-A")
    git(into, "commit", "-qm", "base")
    for prompt in sorted((into / "prompts").glob("*.prompt"))[:3]:
        text = prompt.read_text()
        prompt.write_text(text.replace("\nuser:\n", "\nuser:\nPlease be brief.\n", 1))
    pipeline = into / "pipelines" / "article_review.yaml"
    pipeline.write_text(pipeline.read_text().replace("max_iterations: 3", "max_iterations: 4"))
    git(into, "commit", "-qam", "head")
    return into


def cold(rounds: int = 9) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = example_repo(Path(scratch))
        timed(AGENTCTL + ["validate"], root)
        diffs, validates = [], []
        for _ in range(rounds):
            validates.append(timed(AGENTCTL + ["validate"], root))
            diffs.append(timed(AGENTCTL + ["diff", "HEAD~1", "HEAD"], root))
        d, v = statistics.median(diffs), statistics.median(validates)
        print(f"1. example project, {rounds} rounds interleaved: diff HEAD~1 HEAD {d * 1000:.0f} ms, "
              f"validate {v * 1000:.0f} ms (medians): ratio {d / v:.2f} (target <= 2.5)")


PROMPT = "---\nname: p{n}\nversion: 1\ninputs:\n  text: {{type: string}}\nsample: {{text: hi}}\n---\nsystem:\nYou are helper {n}.\n\nuser:\n{{{{ text }}}}\n"
PIPELINE_HEAD = ("apiVersion: agentctl/v1\nname: g{n}\nversion: 1\nmodels:\n  m: {{model: openai/gpt-4o-mini, params: "
                 "{{max_tokens: 100}}}}\nagents:\n")


def generated(root: Path, prompts: int, pipelines: int) -> Path:
    (root / "prompts").mkdir(parents=True)
    (root / "pipelines").mkdir()
    for n in range(prompts):
        (root / "prompts" / f"p{n}.prompt").write_text(PROMPT.format(n=n))
    per = prompts // pipelines
    for k in range(pipelines):
        agents = "".join(f"  a{n}: {{model: m, prompt: prompts/p{n}.prompt}}\n" for n in range(k * per, (k + 1) * per))
        steps = "steps:\n" + "".join(f"  - {{id: s{n}, agent: a{n}, with: {{text: hi}}}}\n"
                                     for n in range(k * per, (k + 1) * per))
        (root / "pipelines" / f"g{k}.yaml").write_text(PIPELINE_HEAD.format(n=k) + agents + steps)
    (root / "agentctl.lock").write_text("")
    subprocess.run(AGENTCTL + ["lock"], cwd=root, check=True, capture_output=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    for n in range(0, prompts, prompts // 20):  # 20 changed prompts, bumped
        path = root / "prompts" / f"p{n}.prompt"
        path.write_text(path.read_text().replace("version: 1", "version: 2").replace("helper", "a careful helper"))
    git(root, "commit", "-qam", "head")
    return root


def scale() -> None:
    print("2. generated projects, 20 prompts changed, diff HEAD~1 HEAD cold (median of 3):")
    for prompts, pipelines in ((100, 10), (250, 25), (500, 50)):
        with tempfile.TemporaryDirectory() as scratch:
            root = generated(Path(scratch), prompts, pipelines)
            runs = [timed(AGENTCTL + ["diff", "HEAD~1", "HEAD"], root) for _ in range(3)]
            validate = statistics.median(timed(AGENTCTL + ["validate"], root) for _ in range(3))
            d = statistics.median(runs)
            print(f"   {prompts} prompts, {pipelines} pipelines: diff {d:.2f} s ({d / prompts * 1000:.2f} ms a prompt), "
                  f"validate {validate:.2f} s")


if __name__ == "__main__":
    cold()
    scale()
