"""The golden corpus: one mistake per file, with the exact diagnostics it must produce.

Each case names its expected diagnostics on an `expect:` line: `CODE LINE:COL [FILE]`, comma
separated. FILE is given when the diagnostic points into another file (a prompt, a schema).
"""

import re

import pytest

from agentctl import api
from tests.conftest import GOLDEN

CASES = sorted((GOLDEN / "cases").iterdir())
EXPECT = re.compile(r"expect: (.*?)(?: #\}|$)", re.M)


def expected(case):
    line = EXPECT.search(case.read_text()).group(1)
    found = set()
    for item in line.split(","):
        parts = item.split()
        path = parts[2] if len(parts) > 2 else f"cases/{case.name}"
        line_no, col = parts[1].split(":")
        found.add((parts[0], path, int(line_no), int(col)))
    return found


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40


def test_the_base_every_case_mutates_is_clean(in_dir):
    in_dir(GOLDEN)
    assert api.validate(["base.yaml"]).diagnostics == []


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_reports_exactly_its_mistake(case, in_dir):
    in_dir(GOLDEN)
    result = api.validate([f"cases/{case.name}"])
    actual = {(d.code, d.span.path, d.span.line, d.span.col) for d in result.diagnostics}
    assert actual == expected(case)
    assert all(d.message and d.code[0] in "EW" for d in result.diagnostics)
