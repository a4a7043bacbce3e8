"""The policy at run time: which rule decides a call by the run's role (first match; no match
denies). `check_call` refuses, or returns the rule that allowed the call or asks an approver."""

from __future__ import annotations

from typing import Any, Mapping

from agentctl.compile.ir import Policy, PolicyRule


class PolicyRefused(Exception):
    """The policy does not let the run's role make this call; the message says which rule."""


class PolicyCheck:
    def __init__(self, policy: Policy | None, role: str | None) -> None:
        self.policy = policy
        self.role = role

    def check_call(self, tool: str, args: Mapping[str, Any]) -> PolicyRule | None:
        """None when the pipeline has no policy (each tool's own permission decides)."""
        if self.policy is None:
            return None
        role = self.role or ""
        rule = self.policy.first_match(role, tool, args)
        if rule is None:
            raise PolicyRefused(f"no policy rule lets role '{role}' call {tool} with these arguments (default deny)")
        if rule.decision == "deny":
            raise PolicyRefused(f"{rule.name} denies role '{role}' this call of {tool}")
        return rule


ROLE_ENV = "AGENTCTL_ROLE"


def run_role(pipeline, requested: str | None, root) -> str | None:
    """The role a run takes: --role, else $AGENTCTL_ROLE. A pipeline with a policy needs one of the
    roles that may run it, taken by a person roles.yaml lists under it (when the project has one)."""
    import os

    from agentctl.errors import UsageError
    from agentctl.record.roles import check_person, os_user

    role = requested or os.environ.get(ROLE_ENV) or None
    policy = pipeline.policy
    if policy is None:
        return role
    runners = ", ".join(policy.runners)
    if role is None:
        raise UsageError(f"pipeline {pipeline.name} has a policy: say which role runs it",
                         f"pass --role ROLE or set {ROLE_ENV} (roles that may run it: {runners})")
    if role not in policy.runners:
        raise UsageError(f"role '{role}' may not run pipeline {pipeline.name}", f"roles that may run it: {runners}")
    check_person(root, role, os_user())
    return role
