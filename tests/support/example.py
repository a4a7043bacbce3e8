"""The repository's example project, copied into a test's own folder (with its own journal)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("pipelines", "prompts", "schemas", "tools")
FILES = ("agentctl.lock", "policy.yaml")  # the lock, and the policy the retail example shares


def copy_example(target: Path) -> Path:
    for sub in FOLDERS:
        shutil.copytree(REPO / sub, target / sub)
    for name in FILES:
        shutil.copy(REPO / name, target / name)
    return target


def cassette_for_expense(path, policy):
    """Record the one model call of the expense example from the scripted model."""
    import asyncio
    import json

    from agentctl import api
    from agentctl.llm.cassette import RecordingModel
    from agentctl.llm.fake import ScriptedModel, reply
    from agentctl.run.approvals import FixedApprover
    from agentctl.run.executor import Executor
    from agentctl.tools.registry import build_tools

    compiled = api.compile_file("pipelines/expense_approval.yaml", cwd=REPO).pipeline
    model = RecordingModel(ScriptedModel([reply(json.dumps(policy))]), path)
    inputs = {"requester": "ada", "description": "train", "amount_usd": 800}
    asyncio.run(Executor(compiled, model, inputs=inputs, approver=FixedApprover(True),
                         tools=build_tools(compiled)).run())
