"""Re-record the README demo cassette: run pipelines/article_review.yaml through the real litellm
path against the local OpenAI-compatible test server, with scripted answers.

    .venv/bin/python scripts/record_demo.py

The answers are scripted (a first draft the reviewer rejects, a revision it approves), so the
cassette shows the loop, a re-ask and the budget summary without any provider or key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.openai_server import Behaviour, FakeOpenAI  # noqa: E402

DRAFTS = [
    "Idempotency keys let a client retry a payment safely: the server stores the first result under the key.",
    "An idempotency key is a unique value a client sends with a request, such as a UUID in an "
    "Idempotency-Key header. The server stores the first response under that key; a retry with the same "
    "key returns the stored response instead of charging twice. Keys expire after 24 hours.",
]
REVIEWS = [
    {"approved": False, "score": 5, "feedback": "Say where the key is sent and how long it is kept."},
    "Sure! Here is my review: looks good.",  # not JSON: the reviewer is re-asked
    {"approved": True, "score": 9, "feedback": "Concrete and accurate."},
]


def main() -> None:
    drafts, reviews = iter(DRAFTS), iter(REVIEWS)

    def respond(body: dict) -> Behaviour:
        system = body["messages"][0]["content"]
        if "technical editor" in system:
            review = next(reviews)
            return Behaviour(content=review if isinstance(review, str) else json.dumps(review), usage=(310, 40))
        return Behaviour(content=next(drafts), usage=(120, 95))

    server = FakeOpenAI(default=respond).start()
    try:
        env = {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-local-test", "NO_COLOR": "1"}
        cassette = ROOT / "pipelines" / "cassettes" / "article_review.json"
        cassette.unlink(missing_ok=True)
        subprocess.run([sys.executable, "-m", "agentctl", "run", "pipelines/article_review.yaml",
                        "-i", "topic=Idempotency keys in payment APIs", "--record", str(cassette)],
                       cwd=ROOT, env=env, check=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
