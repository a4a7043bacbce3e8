import pytest

from agentctl.spec.yaml_source import MAX_ALIAS_NODES, YamlLoadError, load_yaml


def load(text):
    return load_yaml(text, "f.yaml")


def test_values_and_keys_keep_their_positions():
    data, smap = load("a: 1\nb:\n  - c: x\n")
    assert data == {"a": 1, "b": [{"c": "x"}]}
    assert str(smap.key(("b",))) == "f.yaml:2:1"
    assert str(smap.value(("b", 0, "c"))) == "f.yaml:3:8"


def test_lookup_falls_back_to_the_nearest_located_ancestor():
    _, smap = load("a:\n  b: 1\n")
    assert str(smap.value(("a", "b", "missing", 3))) == "f.yaml:2:6"


@pytest.mark.parametrize("text, value", [
    ("x: NO", "NO"), ("x: yes", "yes"), ("x: on", "on"), ("x: true", True), ("x: False", False),
    ("x: 010", 10), ("x: 0x1f", 31), ("x: 1.5", 1.5), ("x: ~", None), ("x:", None),
    ("x: 2024-01-01", "2024-01-01"), ("x: 1:30", "1:30"), ("x: '5'", "5"),
])
def test_scalars_follow_the_yaml_1_2_core_schema(text, value):
    assert load(text)[0]["x"] == value


def test_expression_columns_inside_plain_and_quoted_strings():
    _, smap = load('a: ${{ x }}\nb: "${{ y }}"\n')
    assert smap.in_string(("a",), 4).col == 8
    assert smap.in_string(("b",), 4).col == 9


def test_merge_keys_merge_and_explicit_keys_win():
    data, _ = load("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")
    assert data["other"] == {"x": 1, "y": 3}


@pytest.mark.parametrize("text, code, where", [
    ("a: 1\na: 2\n", "E102", "f.yaml:2:1"),
    ("a: [1\n", "E101", "f.yaml:2:1"),
    ("a: 1\n---\nb: 2\n", "E109", "f.yaml:2:1"),
    ("a: !!python/name:os.system x\n", "E101", "f.yaml:1:4"),
    ("a: *nope\n", "E101", "f.yaml:1:4"),
    ("? [a, b]\n: 1\n", "E101", "f.yaml:1:3"),
])
def test_bad_yaml_is_one_located_diagnostic(text, code, where):
    with pytest.raises(YamlLoadError) as caught:
        load(text)
    assert caught.value.diagnostic.code == code
    assert str(caught.value.diagnostic.span) == where


def test_an_alias_bomb_stops_at_the_expansion_limit():
    levels = ["a: &a [" + ",".join(["x"] * 10) + "]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        levels.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(YamlLoadError) as caught:
        load("\n".join(levels))
    assert caught.value.diagnostic.code == "E103"
    assert f"{MAX_ALIAS_NODES:,}" in caught.value.diagnostic.message


def test_ten_thousand_levels_of_nesting_are_refused_without_recursion():
    for text in ("x: " + "[" * 10_000 + "]" * 10_000, "x: " + "{a: " * 10_000 + "1" + "}" * 10_000):
        with pytest.raises(YamlLoadError) as caught:
            load(text)
        assert caught.value.diagnostic.code == "E104"


def test_an_anchor_cannot_refer_to_itself():
    with pytest.raises(YamlLoadError) as caught:
        load("a: &a [*a]\n")
    assert caught.value.diagnostic.code == "E101"


def test_a_character_yaml_does_not_allow_is_located_where_it_is():
    """It was reported at 1:1 with pyyaml's `in "<unicode string>", position 58`."""
    with pytest.raises(YamlLoadError) as caught:
        load_yaml("a: 1\nsteps: []\nbad\x1b[2Jkey: 1\n", "f.yaml", line_offset=2)
    d = caught.value.diagnostic
    assert (d.code, str(d.span)) == ("E101", "f.yaml:5:4")
    assert d.message == "YAML syntax error: the control character '\\x1b' is not allowed in YAML"
    assert d.hint == 'remove it, or write it as an escape in a double-quoted string: "\\x1b"'
