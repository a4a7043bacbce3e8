import asyncio

import pytest

from agentctl.llm.cassette import RecordingModel, ReplayMiss, ReplayModel, request_key
from agentctl.llm.client import ChatRequest
from agentctl.llm.fake import ScriptedModel, reply


def request(text: str, **params) -> ChatRequest:
    return ChatRequest("openai/m", ({"role": "user", "content": text},), params=params)


def test_identical_requests_replay_in_recorded_order_and_unseen_ones_fail(tmp_path):
    path = tmp_path / "c.json"
    recorder = RecordingModel(ScriptedModel([reply("first"), reply("second"), reply("other")]), path)
    for text in ("same", "same", "different"):
        asyncio.run(recorder.complete(request(text)))
    replay = ReplayModel(path)
    assert asyncio.run(replay.complete(request("same"))).content == "first"
    assert asyncio.run(replay.complete(request("same"))).content == "second"
    with pytest.raises(ReplayMiss, match="no recorded response"):
        asyncio.run(replay.complete(request("same")))  # a third identical request was never recorded
    with pytest.raises(ReplayMiss, match="user message starts: 'never seen'"):
        asyncio.run(replay.complete(request("never seen")))


def test_credentials_and_endpoints_are_not_part_of_the_key_or_the_file(tmp_path):
    assert request_key(request("x", api_key="sk-a", api_base="http://a")) == request_key(request("x", api_key="sk-b"))
    assert request_key(request("x", temperature=0)) != request_key(request("x", temperature=1))
    path = tmp_path / "c.json"
    asyncio.run(RecordingModel(ScriptedModel([reply("ok")]), path).complete(request("x", api_key="sk-secret-1")))
    assert "sk-secret-1" not in path.read_text()


def test_a_cassette_of_another_version_is_refused(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"version": 99, "entries": []}')
    with pytest.raises(ValueError, match="cassette version 99"):
        ReplayModel(path)


def test_a_cassette_that_cannot_be_saved_mid_run_is_one_warning_and_the_answers_still_return(tmp_path, capsys):
    """Found by trying, on a full disk: the first answer (paid for) was lost with 'internal error:
    agentctl crashed'. Here the folder becomes a file after the first save."""
    folder = tmp_path / "cassettes"
    recorder = RecordingModel(ScriptedModel([reply("one"), reply("two"), reply("three")]), folder / "c.json")
    assert asyncio.run(recorder.complete(request("a"))).content == "one"
    (folder / "c.json").unlink()
    folder.rmdir()
    folder.write_text("not a folder any more")
    assert asyncio.run(recorder.complete(request("b"))).content == "two"
    assert asyncio.run(recorder.complete(request("c"))).content == "three"
    err = capsys.readouterr().err
    assert err.count(f"warning: could not write the cassette {folder / 'c.json'}") == 1, err


def test_a_cassette_path_that_cannot_be_written_is_refused_before_any_call(project, server, capsys, monkeypatch):
    from tests.support.cli import invoke

    project.pipeline("agents:\n  a: {model: m, prompt: prompts/p.prompt}\nsteps:\n  - {id: s, agent: a, with: {text: hi}}\n")
    (project.root / "prompts").mkdir(exist_ok=True)
    (project.root / "prompts" / "p.prompt").write_text("---\nname: p\nversion: 1\ninputs:\n  text: {type: string}\n"
                                                       "---\nuser:\n{{ text }}\n")
    (project.root / "taken").write_text("a file, not a folder")
    monkeypatch.chdir(project.root)
    done = invoke(capsys, monkeypatch, "run", "pipelines/t.yaml", "--record", "taken/c.json", "--no-live")
    assert done.code == 2 and server.count() == 0, done.err
    assert "error: --record taken/c.json: taken is not a folder" in done.err
    special = invoke(capsys, monkeypatch, "run", "pipelines/t.yaml", "--record", "/dev/null", "--no-live")
    assert special.code == 2 and "error: --record /dev/null: not a regular file" in special.err, special.err
