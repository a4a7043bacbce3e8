"""Arbitrary and mutated input never makes the loader or compiler raise: diagnostics or success."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentctl import api
from agentctl.compile.prompts import compile_prompt
from agentctl.spec.prompt_file import parse_prompt
from tests.conftest import REPO

EXAMPLES = [p.read_text() for p in sorted((REPO / "pipelines").glob("*.yaml"))]
YAML_BITS = [":", " ", "\n", "  ", "- ", "[", "]", "{", "}", "&a ", "*a", "<<: ", "${{", "}}", "'", '"', "#", "!!",
             "steps", "agent", "needs", "loop", "with", "id", "0", "-1", "true", "null", "...", "---", "\t", "é", "\x00"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def check(text: str, project: Path) -> None:
    (project / "pipelines" / "p.yaml").write_bytes(text.encode("utf-8", errors="surrogatepass"))
    result = api.validate(["pipelines/p.yaml"], cwd=project)
    assert all(d.code and d.span.line >= 1 for d in result.diagnostics)


@given(st.text(max_size=400))
@SETTINGS
def test_arbitrary_text(tmp_path_factory, text):
    project = _project(tmp_path_factory)
    check(text, project)


@given(st.sampled_from(EXAMPLES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40),
                                                     st.sampled_from(YAML_BITS)), max_size=6))
@SETTINGS
def test_mutated_examples(tmp_path_factory, example, edits):
    text = example
    for position, cut, insert in edits:
        at = position % (len(text) + 1)
        text = text[:at] + insert + text[at + cut:]
    check(text, _project(tmp_path_factory))


@given(st.text(max_size=300))
@SETTINGS
def test_arbitrary_prompt_bodies(text):
    source, diags = parse_prompt("---\nname: p\nversion: 1\ninputs: {a: {type: string}}\n---\nuser:\n" + text, "p")
    if source is not None:
        compile_prompt(source, None)


_CACHE: dict = {}


def _project(factory) -> Path:
    if "p" not in _CACHE:
        root = factory.mktemp("fuzz")
        for sub in ("pipelines", "prompts", "schemas", "tools"):
            (root / sub).mkdir()
        for sub in ("prompts", "schemas", "tools"):
            for f in (REPO / sub).glob("*.*"):
                (root / sub / f.name).write_bytes(f.read_bytes())
        for name in ("agentctl.lock", "policy.yaml"):
            (root / name).write_text((REPO / name).read_text())
        _CACHE["p"] = root
    return _CACHE["p"]
