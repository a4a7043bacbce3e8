"""The fuzzer's finds and a seeded sample of its inputs (tests/support/fuzz.py; scripts/fuzz.py runs
10,000): validate and graph end with diagnostics, never an internal error or a hang."""

from pathlib import Path

import pytest

from tests.support.fuzz import check, make_input, project

CORPUS = sorted((Path(__file__).resolve().parents[1] / "fuzz_corpus").iterdir())


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return project(tmp_path_factory.mktemp("fuzz"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_input_the_fuzzer_broke_the_tool_with_now_gets_diagnostics(path, root):
    kind = "pipeline" if path.suffix == ".yaml" else "prompt"
    outcome = check(root, kind, path.read_text(encoding="utf-8", errors="surrogatepass"))
    assert outcome.ok, outcome.problem


def test_a_seeded_sample_of_fuzzed_inputs_gets_diagnostics(root):
    for index in range(400):
        kind, text = make_input(index, seed=7)
        outcome = check(root, kind, text)
        assert outcome.ok, (index, outcome.problem)
