"""Secrets are masked in every string written, without touching numbers or JSON syntax."""

import json
from types import SimpleNamespace

from agentctl.record.journal import Journal
from agentctl.record.redact import Redactor


def pipeline(params: dict, env: dict | None = None):
    return SimpleNamespace(env=env or {}, models={"m": SimpleNamespace(params=params)})


def test_credential_params_are_secrets_and_max_tokens_is_not():
    params = {"api_key": "sk-live-abcdef", "max_tokens": 1200, "access_token": "tok-123456", "temperature": 0.2,
              "client_secret": "shh-secret", "tokenizer": "cl100k", "key": 12345}
    assert sorted(Redactor.for_pipeline(pipeline(params), environ={}).secrets) == sorted(
        ["sk-live-abcdef", "tok-123456", "shh-secret"])


def test_declared_secret_env_values_are_secrets():
    env = {"API_TOKEN": True, "REGION": False}
    redactor = Redactor.for_pipeline(pipeline({}, env), environ={"API_TOKEN": "s3cr3t-v4lue", "REGION": "eu-west"})
    assert redactor.secrets == ["s3cr3t-v4lue"]


def test_a_digit_secret_never_breaks_json():
    redactor = Redactor(["1200"])
    text = redactor.json({"tokens": 1200, "cost": 0.00012001, "note": "pin 1200 used", "1200": ["a1200"]})
    assert json.loads(text) == {"tokens": 1200, "cost": 0.00012001, "note": "pin *** used", "***": ["a***"]}


def test_objects_are_masked_through_their_text():
    class Token:
        def __str__(self):
            return "Token(sk-abcdef)"

    assert Redactor(["sk-abcdef"]).value({"t": Token()}) == {"t": "Token(***)"}


def test_journal_rows_stay_valid_json_with_a_digit_secret(tmp_path):
    journal = Journal(tmp_path / "j.db", Redactor(["7001"]))
    attempt = {"model": "m", "attempt": 1, "state": "succeeded", "input_tokens": 7001, "output_tokens": 2,
               "cost_usd": 0.0001700100744, "duration_s": 0.7001}
    journal.step("r", "s", "", "succeeded", {"n": 17001, "text": "code 7001"}, None, {"tokens": 7001}, None,
                 [("s", attempt)])
    (step,) = journal.steps("r")
    assert step.output == {"n": 17001, "text": "code ***"}
    (stored,) = journal.attempts("r")
    assert stored["input_tokens"] == 7001 and stored["duration_s"] == 0.7001


def test_a_secret_cut_by_a_truncation_is_still_masked():
    """Errors were shortened before they were masked: 'Bearer kSEC-7f3a9b1e2' (13 of 15
    characters) reached the journal, traces and the terminal."""
    redactor = Redactor(["kSEC-7f3a9b1e2c4"])
    assert redactor.text("HTTP 401: Bearer kSEC-7f3a9b1e2") == "HTTP 401: Bearer ***"
    assert redactor.text("a9b1e2c4 was refused") == "*** was refused"
    assert redactor.text("kSEC-7 starts the text, but it is the start of the secret, not its end") .startswith("kSEC-7")
    assert redactor.text("ends in kSEC-") == "ends in kSEC-"  # too short a piece to be sure
