"""A policy rule's argument patterns are path-like globs: `*` within a segment, `**` across, and
no walking out of a pattern with `.` or `..` segments."""

import pytest

from agentctl.compile.resource_pattern import resource_matches


@pytest.mark.parametrize("pattern, value, matches", [
    ("reports/*", "reports/q3.txt", True),
    ("reports/*", "reports/2026/q3.txt", False),  # * stays in its segment
    ("reports/**", "reports/2026/q3.txt", True),
    ("reports/*", "reports/../secret.txt", False),  # found by trying to walk around a policy
    ("reports/**", "reports/../../etc/passwd", False),
    ("reports/**", "reports/./q3.txt", False),
    ("reports/../shared/*", "reports/../shared/a", True),  # a pattern that spells it out
    ("o?", "o9", True),
    ("o?", "o10", False),
    ("W[0-9]*", "W123", True),
    ("W[!0-9]*", "W123", False),
    ("https://api.example.com/**", "https://api.example.com/v1/orders", True),
    ("https://api.example.com/*", "https://evil.example/https://api.example.com/x", False),
    ("damaged*", "damaged in transit", True),
    ("a.b", "aXb", False),  # only glob characters are special
    ("v1.2", "v1.2", True),
])
def test_argument_patterns(pattern, value, matches):
    assert resource_matches(pattern, value) is matches
