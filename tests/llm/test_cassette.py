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
