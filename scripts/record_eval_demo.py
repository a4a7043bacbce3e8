"""Re-record the eval example's cassette: evals/expense_approval.eval.yaml run through the real
litellm path against the local OpenAI-compatible test server, with scripted answers.

    .venv/bin/python scripts/record_eval_demo.py

The scripted policy checker is right about every claim's policy and wrong about two categories
(an office chair and books filed as "other"), so the report shows failing rows while the
thresholds are met.
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

MISTAKES = {"e15": "other", "e22": "other"}
REASONS = {True: "Within the policy for its category.",
           False: "Outside the policy: the claim breaks the limits on class of travel, alcohol, meal "
                  "allowance or purchase orders."}


def main() -> None:
    rows = [json.loads(line) for line in (ROOT / "evals" / "expenses.jsonl").read_text().splitlines()]
    by_text = {f"{r['description']}: {r['amount_usd']} USD": r for r in rows}

    def respond(body: dict) -> Behaviour:
        row = by_text[body["messages"][-1]["content"].strip()]
        answer = {"category": MISTAKES.get(row["id"], row["category"]), "within_policy": row["within_policy"],
                  "reason": REASONS[row["within_policy"]]}
        return Behaviour(content=json.dumps(answer), usage=(260, 30))

    server = FakeOpenAI(default=respond).start()
    try:
        env = {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-local-test", "NO_COLOR": "1"}
        cassette = ROOT / "evals" / "cassettes" / "expenses.json"
        cassette.unlink(missing_ok=True)
        subprocess.run([sys.executable, "-m", "agentctl", "eval", "evals/expense_approval.eval.yaml", "--approve",
                        "--record", str(cassette)], cwd=ROOT, env=env, check=False)
    finally:
        server.stop()
    print(f"recorded {cassette.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
