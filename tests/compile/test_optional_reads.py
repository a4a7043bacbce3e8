"""Reads that may find nothing: an optional field of a producer's output schema (W806), and the
output of a step that may be skipped, read by a step that runs anyway (W807)."""

from agentctl import api

SCHEMA = ('{"type": "object", "properties": {"answer": {"type": "string"}, "feedback": {"type": "string"}}, '
          '"required": ["answer"]}')


def diagnostics(project, body):
    (project.root / "schemas" / "review.json").write_text(SCHEMA)
    path = project.pipeline(body)
    return [(d.code, d.message, d.span.line, d.span.col, d.hint)
            for d in api.compile_file(path, cwd=project.root).diagnostics if d.code in ("W806", "W807")]


def review(output_expr: str) -> str:
    return """
agents:
  a: {model: m, prompt: prompts/p.prompt, output_schema: schemas/review.json}
steps:
  - {id: s, agent: a}
outputs:
  out: ${{ %s }}
""" % output_expr


def test_reading_an_optional_field_is_a_warning_with_the_fix(project):
    found = diagnostics(project, review("steps.s.output.feedback"))
    assert found == [("W806", "steps.s.output.feedback is optional in the output schema of 's': when it is left out "
                      "it reads as null", 21, 12, "write steps.s.output.feedback | default(...) or test it with "
                      "`is defined`, or list 'feedback' under required:")]


def test_required_fields_and_guarded_reads_are_not_warned(project):
    for expr in ("steps.s.output.answer", "steps.s.output.feedback | default('none')",
                 "steps.s.output.feedback if steps.s.output.feedback is defined else 'none'"):
        assert diagnostics(project, review(expr)) == [], expr


SKIPPABLE = """
inputs:
  go: {type: boolean}
tools:
  lookup: {python: "tools.lookup:lookup"}
agents:
  a: {model: m, prompt: prompts/p.prompt}
steps:
  - {id: maybe, agent: a, when: "${{ inputs.go }}"}
  - {id: after, tool: lookup, allow_skipped: true, needs: [maybe], with: {query: "%s"}}
"""


def test_a_step_that_runs_after_a_skipped_one_is_warned_that_its_output_is_null(project):
    found = diagnostics(project, SKIPPABLE % "${{ steps.maybe.output }}")
    assert [f[:2] for f in found] == [("W807", "step 'after' runs even when 'maybe' was skipped (allow_skipped), "
                                               "and then reads steps.maybe.output as null")]
    assert found[0][4] == "write steps.maybe.output | default(...), or test steps.maybe.status == 'succeeded'"
    for guarded in ("${{ steps.maybe.output | default('') }}",
                    "${{ steps.maybe.output if steps.maybe.status == 'succeeded' else '' }}"):
        assert diagnostics(project, SKIPPABLE % guarded) == [], guarded
