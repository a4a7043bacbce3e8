import pytest

from agentctl.compile.ir import InputDef
from agentctl.errors import UsageError
from agentctl.run.inputs import collect_inputs

DECLARED = {
    "topic": InputDef("topic", "string", True, None, None, None),
    "n": InputDef("n", "integer", False, 3, None, None),
    "budget": InputDef("budget", "number", False, 10.0, None, None),
    "flag": InputDef("flag", "boolean", False, False, None, None),
    "tags": InputDef("tags", "array", False, [], None, None),
    "mode": InputDef("mode", "string", False, "a", ("a", "b"), None),
}


def test_values_are_parsed_by_declared_type_and_defaults_fill_in():
    values = collect_inputs(DECLARED, ["topic=x=y", "n=5", "flag=yes", 'tags=["a"]'], None)
    assert values == {"topic": "x=y", "n": 5, "budget": 10.0, "flag": True, "tags": ["a"], "mode": "a"}


def test_every_problem_is_reported_at_once():
    with pytest.raises(UsageError) as caught:
        collect_inputs(DECLARED, ["n=five", "flag=maybe", "mode=c", "topik=x", "budget=true"], None)
    message = caught.value.message
    for part in ("'five' is not a number", "'maybe' is not true or false", "'c' is not one of",
                 "unknown input 'topik' (did you mean 'topic'?)", "missing input 'topic'",
                 "expected number, got a boolean"):
        assert part in message


def test_an_input_file_is_read_and_the_command_line_wins(tmp_path):
    file = tmp_path / "in.yaml"
    file.write_text("topic: from file\nn: 7\n")
    assert collect_inputs(DECLARED, ["n=8"], str(file))["n"] == 8
    assert collect_inputs(DECLARED, [], str(file))["topic"] == "from file"
    file.write_text("- not a mapping\n")
    with pytest.raises(UsageError):
        collect_inputs(DECLARED, ["topic=x"], str(file))


def test_a_jsonl_input_file_is_pointed_at_eval_not_misread_as_yaml(tmp_path):
    file = tmp_path / "data.jsonl"
    file.write_text('{"topic": "a"}\n{"topic": "b"}\n')
    with pytest.raises(UsageError) as caught:
        collect_inputs(DECLARED, [], str(file))
    assert "a .jsonl file holds rows" in caught.value.message and "`agentctl eval`" in caught.value.message
    assert "YAML syntax error" not in caught.value.message
