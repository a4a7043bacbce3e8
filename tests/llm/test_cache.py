"""The response cache's key (`--cache DIR`; its use by a batch is tested in tests/evals)."""

from agentctl.llm.cache import cache_key, context_of
from agentctl.llm.client import ChatRequest


MCP = """
mcp_servers:
  docs: {command: [python, -m, docs_server, ARG]}
tools:
  search: {mcp: docs, description: Search the docs}
"""


def test_the_cache_key_changes_with_the_mcp_configuration(project):
    request = ChatRequest("openai/m", ({"role": "user", "content": "hi"},))
    keys = []
    for arg in ("--v1", "--v2", "--v1"):
        project.pipeline("agents:\n  a: {model: m, prompt: prompts/p.prompt}\n" + MCP.replace("ARG", arg) +
                         "steps:\n  - {id: s, agent: a}\n")
        compiled = project.compile(str(project.root / "pipelines" / "t.yaml"))
        keys.append(cache_key(request, context_of(compiled)))
    assert keys[0] != keys[1] and keys[0] == keys[2]


def test_an_answer_the_cache_cannot_keep_is_one_warning_and_still_returned(tmp_path, capsys):
    """Found by trying: a cache entry that could not be written (a full disk) crashed the batch."""
    import asyncio

    from agentctl.llm.cache import CachedModel
    from agentctl.llm.client import ChatRequest
    from agentctl.llm.fake import ScriptedModel, reply

    folder = tmp_path / "cache"
    folder.write_text("a file where the cache folder would go")
    cached = CachedModel(ScriptedModel([reply("one"), reply("two")]), folder, {})
    for text, expected in (("a", "one"), ("b", "two")):
        request = ChatRequest("openai/m", ({"role": "user", "content": text},))
        assert asyncio.run(cached.complete(request)).content == expected
    err = capsys.readouterr().err
    assert err.count(f"warning: could not keep an answer in the cache {folder}") == 1, err

