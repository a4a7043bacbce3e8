from agentctl.compile.expressions import parse_template
from agentctl.diagnostics import SourceSpan


def parse(text):
    return parse_template(text, lambda offset: SourceSpan("f", 1, 1 + offset))


def test_a_whole_expression_keeps_its_type_and_lists_its_references():
    expr, diags = parse("${{ steps.plan.output.total_usd <= inputs.max }}")
    assert diags == [] and expr.is_whole
    assert [str(r) for r in expr.refs] == ["steps.plan.output.total_usd", "inputs.max"]
    assert [r.span.col for r in expr.refs] == [5, 36]


def test_mixed_text_is_split_into_segments():
    expr, _ = parse("Hello ${{ inputs.name }}!")
    assert expr.segments == (("text", "Hello "), ("expr", "inputs.name"), ("text", "!"))
    assert not expr.is_whole


def test_computed_indexes_stop_the_static_chain_but_are_checked_themselves():
    expr, _ = parse("${{ steps.a.output[inputs.i].name }}")
    assert [str(r) for r in expr.refs] == ["steps.a.output", "inputs.i"]


def test_python_internals_are_refused_once_per_expression():
    _, diags = parse("${{ ''.__class__.__mro__[1].__subclasses__() }}")
    assert [(d.code, d.span.col) for d in diags] == [("E402", 8)]


def test_private_item_access_is_refused_too():
    _, diags = parse("${{ inputs['_secret'] }}")
    assert [d.code for d in diags] == ["E402"]


def test_statements_are_not_expressions():
    _, diags = parse("${{ x }}{% for y in z %}{{ y }}{% endfor %}${{ 1 }}")
    assert diags == []  # `{% %}` outside ${{ }} is literal text
    _, diags = parse("${{ 1 }} {{ 2 }")
    assert diags == []


def test_literal_constants_are_recognised():
    assert parse("${{ false }}")[0].constant is False
    assert parse("${{ inputs.x }}")[0].constant is None
