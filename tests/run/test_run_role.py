"""The role a run takes (`--role`, or AGENTCTL_ROLE): required by a pipeline with a policy, one of
the roles that may run it, taken by a person roles.yaml lists under it; recorded with the run,
used again by a resume, and named with the rule that allowed each call in the audit."""

import getpass

from tests.run.test_policy import BODY
from tests.support.cli import invoke


def policy_run(project, monkeypatch, capsys, *args):
    project.pipeline(BODY)
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("AGENTCTL_ROLE", raising=False)
    return invoke(capsys, monkeypatch, "run", "pipelines/t.yaml", "-i", "q=hello", "--json", *args)


def test_a_pipeline_with_a_policy_needs_a_role(project, monkeypatch, capsys):
    ran = policy_run(project, monkeypatch, capsys)
    assert ran.code == 2
    assert "pipeline t has a policy: say which role runs it" in ran.err
    assert "--role ROLE or set AGENTCTL_ROLE (roles that may run it: clerk, admin, guest, auditor)" in ran.err


def test_a_role_that_may_not_run_the_pipeline_is_refused(project, monkeypatch, capsys):
    ran = policy_run(project, monkeypatch, capsys, "--role", "intern")
    assert ran.code == 2 and "role 'intern' may not run pipeline t" in ran.err


def test_the_role_is_recorded_and_the_audit_names_the_rule(project, monkeypatch, capsys):
    monkeypatch.setenv("AGENTCTL_ROLE", "clerk")
    project.pipeline(BODY)
    monkeypatch.chdir(project.root)
    ran = invoke(capsys, monkeypatch, "run", "pipelines/t.yaml", "-i", "q=hello", "--json")
    assert ran.code == 0, ran.err
    run_id = ran.json()["run_id"]
    shown = invoke(capsys, monkeypatch, "runs", "show", run_id, "--json").json()
    assert shown["role"] == "clerk"
    audit = invoke(capsys, monkeypatch, "runs", "show", run_id, "--audit", "--json").json()
    assert [(d["decision"], d["tool"], d["by"]) for d in audit["decisions"]] == [
        ("allowed", "lookup", "policy rule 4 (pipelines/t.yaml:27:7)")]


def test_a_refusal_by_the_policy_is_in_the_audit(project, monkeypatch, capsys):
    ran = policy_run(project, monkeypatch, capsys, "--role", "guest")
    assert ran.code == 1
    audit = invoke(capsys, monkeypatch, "runs", "show", ran.json()["run_id"], "--audit", "--json").json()
    assert [(d["decision"], d["tool"], d["detail"]) for d in audit["decisions"]] == [
        ("refused", "lookup", "policy rule 1 (pipelines/t.yaml:24:7) denies role 'guest' this call of lookup")]


def test_roles_yaml_says_who_may_run_as_a_role(project, monkeypatch, capsys):
    (project.root / "roles.yaml").write_text("roles:\n  clerk: [someone_else]\n  admin: [%s]\n" % getpass.getuser())
    refused = policy_run(project, monkeypatch, capsys, "--role", "clerk")
    assert refused.code == 2
    assert f"user '{getpass.getuser()}' may not run as clerk (roles.yaml lists: someone_else)" in refused.err
    assert policy_run(project, monkeypatch, capsys, "--role", "admin").code == 0


def test_graph_shows_what_each_role_may_do(project, monkeypatch, capsys):
    project.pipeline(BODY)
    monkeypatch.chdir(project.root)
    shown = invoke(capsys, monkeypatch, "graph", "pipelines/t.yaml")
    assert "permissions (policy; first match wins, no match denies; roles: clerk, admin, guest, auditor):" in shown.out
    lines = [line.strip() for line in shown.out.splitlines()]
    at = lines.index("role clerk:")
    assert lines[at + 1].split(None, 1) == ["lookup", "deny if query ~ secret* (rule 2); else ask admin if query ~ "
                                            "vip* (rule 3); else allow (rule 4)"]
    assert lines[lines.index("role auditor:") + 1].split(None, 1) == ["lookup", "deny (no rule)"]
    one = invoke(capsys, monkeypatch, "graph", "pipelines/t.yaml", "--role", "guest")
    assert "role guest:" in one.out and "role clerk:" not in one.out
    assert invoke(capsys, monkeypatch, "graph", "pipelines/t.yaml", "--role", "nobody").code == 2
    project.pipeline(BODY.split("roles:")[0] + "steps:" + BODY.split("steps:")[1])  # the same without a policy
    plain = invoke(capsys, monkeypatch, "graph", "pipelines/t.yaml", "--role", "clerk")
    assert plain.code == 2 and "pipeline t has no policy" in plain.err


def test_an_approval_continues_the_run_as_the_role_it_started_with(project, monkeypatch, capsys):
    project.pipeline(BODY)
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("AGENTCTL_ROLE", raising=False)
    paused = invoke(capsys, monkeypatch, "run", "pipelines/t.yaml", "-i", "q=vip guest", "--role", "clerk", "--json")
    assert paused.code == 4, paused.err
    run_id = paused.json()["run_id"]
    wrong = invoke(capsys, monkeypatch, "approve", run_id, "--as", "clerk")
    assert wrong.code == 2 and "waits for approval by admin; you answer as clerk" in wrong.err
    done = invoke(capsys, monkeypatch, "approve", run_id, "--as", "admin", "--json")
    assert done.code == 0, done.err
    assert done.json()["outputs"] == {"result": "VIP GUEST"}
    assert invoke(capsys, monkeypatch, "runs", "show", run_id, "--json").json()["role"] == "clerk"
