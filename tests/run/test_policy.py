"""A pipeline's policy at run time: the first rule matching the run's role, the tool and the
call's arguments decides (allow, deny, or ask its approver); a call no rule matches is denied.
Calls are made by tool steps here (no model); the retail example covers an agent's calls."""

import pytest

from agentctl.run.events import ApprovalAsked, EventBus, ToolCallRefused, ToolCallSucceeded

BODY = """
inputs:
  q: {type: string}
tools:
  lookup: {python: "tools.lookup:lookup"}
roles: [clerk, admin, guest, auditor]
policy:
  roles: [clerk, admin, guest, auditor]
  rules:
    - {role: guest, decision: deny}
    - {role: clerk, tool: lookup, args: {query: "secret*"}, decision: deny}
    - {role: clerk, tool: lookup, args: {query: "vip*"}, decision: ask, approver: admin}
    - {role: [clerk, admin], tool: "look*", decision: allow}
steps:
  - {id: s, tool: lookup, with: {query: "${{ inputs.q }}"}}
outputs:
  result: ${{ steps.s.output.result }}
"""


def run(project, role, query, approve=None, body=BODY):
    events, seen = EventBus(), []
    events.subscribe(seen.append)
    result = project.run(body, {"q": query}, approve=approve, events=events, role=role)
    return result, seen


@pytest.mark.parametrize("role, query, decided_by", [
    ("clerk", "hello", "policy rule 4"),  # a role list and a tool glob
    ("admin", "secret plan", "policy rule 4"),  # rule 2 is the clerk's only
])
def test_an_allow_rule_lets_the_call_run_and_is_named(project, role, query, decided_by):
    result, seen = run(project, role, query)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"result": query.upper()}
    ran = [e for e in seen if isinstance(e, ToolCallSucceeded)]
    assert ran[0].allowed_by.startswith(decided_by + " (pipelines/t.yaml:")


@pytest.mark.parametrize("role, query, reason", [
    ("clerk", "secret plan", "policy rule 2 (pipelines/t.yaml:25:7) denies role 'clerk' this call of lookup"),
    ("guest", "hello", "policy rule 1 (pipelines/t.yaml:24:7) denies role 'guest' this call of lookup"),
    ("auditor", "hello", "no policy rule lets role 'auditor' call lookup with these arguments (default deny)"),
])
def test_deny_rules_and_the_default_refuse_the_call_before_it_runs(project, role, query, reason):
    result, seen = run(project, role, query)
    assert result.status == "failed"
    assert [e.reason for e in seen if isinstance(e, ToolCallRefused)] == [reason]
    assert not [e for e in seen if isinstance(e, ToolCallSucceeded)]
    assert reason in result.error


def test_the_first_matching_rule_wins_over_a_later_allow(project):
    """Rule 4 would allow clerk's lookup of anything; rule 2, first, refuses 'secret*'."""
    allowed, _ = run(project, "clerk", "secretary")  # 'secret*' matches 'secretary' too: globs are literal
    assert allowed.status == "failed"
    other, _ = run(project, "clerk", "a secret")  # does not start with 'secret': rule 4
    assert other.status == "succeeded"


@pytest.mark.parametrize("approve, status", [(True, "succeeded"), (False, "failed")])
def test_an_ask_rule_asks_its_approver(project, approve, status):
    result, seen = run(project, "clerk", "vip customer", approve=approve)
    asked = [e for e in seen if isinstance(e, ApprovalAsked)]
    assert [(a.role, a.tool) for a in asked] == [("admin", "lookup")]
    assert "policy rule 3" in asked[0].message
    assert result.status == status
    assert bool([e for e in seen if isinstance(e, ToolCallSucceeded)]) == approve


def test_the_trace_names_the_rule_that_allowed_a_call_and_why_one_was_refused(project):
    from agentctl.record.redact import Redactor
    from agentctl.record.tracer import RunTracer

    for role, query in (("clerk", "hello"), ("clerk", "secret")):
        events = EventBus()
        compiled = project.compile(project.pipeline(BODY))
        tracer = RunTracer(compiled, "run1", Redactor.for_pipeline(compiled))
        events.subscribe(tracer)
        project.run(BODY, {"q": query}, events=events, role=role)
        span = next(s for s in tracer.spans() if s.name == "execute_tool lookup")
        if query == "hello":
            assert span.attributes["agentctl.policy.rule"].startswith("policy rule 4 (pipelines/t.yaml:")
        else:
            assert span.attributes["agentctl.tool.refused"].startswith("policy rule 2 (pipelines/t.yaml:")


def test_a_path_pattern_cannot_be_walked_out_of_with_dot_dot(project):
    """Found by trying: under fnmatch, `reports/../secret.txt` matched `reports/*`."""
    body = BODY.replace('''    - {role: guest, decision: deny}''', '''    - {role: guest, tool: lookup, args: {query: "reports/*"}, decision: allow}''')
    inside, _ = run(project, "guest", "reports/q3.txt", body=body)
    assert inside.status == "succeeded", inside.error
    outside, seen = run(project, "guest", "reports/../secret.txt", body=body)
    assert outside.status == "failed"
    assert [e.reason for e in seen if isinstance(e, ToolCallRefused)] == [
        "no policy rule lets role 'guest' call lookup with these arguments (default deny)"]

