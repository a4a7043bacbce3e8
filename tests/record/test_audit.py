"""`agentctl runs show --audit RUN`: every permission decision of a run, from the journal: the
calls that ran, the approval asked and who answered, the calls refused before they ran."""

import json

from tests.run.test_bound_arguments import CANCEL, PRECONDITION
from tests.support.cli import invoke
from tests.support.openai_server import Behaviour, answer


def test_the_audit_equals_the_decisions_made(project, server, capsys, monkeypatch):
    (project.root / "tools" / "orders.py").write_text(CANCEL.replace("LEDGER", str(project.root / "calls.log")))
    project.pipeline(PRECONDITION.replace("tools.orders:authenticate", "tools.orders:authenticate_orders"))
    server.push(Behaviour(content=None, tool_calls=[("cancel_order", json.dumps({"order_id": "o9"}))]),  # refused
                Behaviour(content=None, tool_calls=[("cancel_order", json.dumps({"order_id": "o2"}))]),  # asked
                answer("done"))
    monkeypatch.chdir(project.root)
    ran = invoke(capsys, monkeypatch, "run", "pipelines/t.yaml", "-i", "email=ana@example.com", "--approve", "--json")
    assert ran.code == 0, ran.out + ran.err
    run_id = ran.json()["run_id"]
    audit = invoke(capsys, monkeypatch, "runs", "show", run_id, "--audit", "--json").json()
    assert audit["version"] == 1
    made = [(d["decision"], d["step"], d["tool"]) for d in audit["decisions"]]
    assert made == [("allowed", "auth", "authenticate"), ("refused", "help", "cancel_order"),
                    ("approved", "help", "cancel_order"), ("allowed", "help", "cancel_order")]
    refused = audit["decisions"][1]
    assert "precondition of cancel_order not met" in refused["detail"] and "'o9'" in refused["detail"]
    text = invoke(capsys, monkeypatch, "runs", "show", run_id, "--audit")
    assert "4 permission decision(s)" in text.out and "refused" in text.out
