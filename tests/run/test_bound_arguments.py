"""Arguments an agent's tool entry binds (`tools: [{get_order: {with: {customer_id: ...}}}]`): the
model does not see them, cannot set them (a value it sends is refused and told), and every call
gets them; a binding is checked by the compiler like any other reference."""

import json

from agentctl.run.events import EventBus
from tests.support.openai_server import Behaviour, answer

ORDERS = '''
ORDERS = {"o1": {"customer": "c1", "item": "kettle"}, "o9": {"customer": "c2", "item": "laptop"}}

def authenticate(email: str) -> dict:
    return {"customer_id": "c1" if email == "ana@example.com" else "unknown"}

def get_order(customer_id: str, order_id: str) -> dict:
    with open("LEDGER", "a") as ledger:
        ledger.write(f"{customer_id} {order_id}\\n")
    order = ORDERS.get(order_id)
    if order is None or order["customer"] != customer_id:
        return {"error": "no such order for this customer"}
    return {"order_id": order_id, "item": order["item"]}
'''
BODY = """
inputs:
  email: {type: string}
tools:
  authenticate: {python: "tools.orders:authenticate"}
  get_order: {python: "tools.orders:get_order"}
agents:
  support:
    model: m
    prompt: prompts/p.prompt
    max_iterations: 4
    tools:
      - get_order: {with: {customer_id: "${{ steps.auth.output.customer_id }}"}}
steps:
  - {id: auth, tool: authenticate, with: {email: "${{ inputs.email }}"}}
  - {id: help, agent: support, with: {text: "where is my order?"}}
outputs:
  said: ${{ steps.help.output }}
"""


def test_a_bound_argument_is_hidden_filled_in_and_cannot_be_overridden(project, server):
    (project.root / "tools" / "orders.py").write_text(ORDERS.replace("LEDGER", str(project.root / "calls.log")))
    server.push(Behaviour(content=None, tool_calls=[("get_order", json.dumps({"order_id": "o9", "customer_id": "c2"}))]),
                Behaviour(content=None, tool_calls=[("get_order", json.dumps({"order_id": "o1"}))]),
                answer("your kettle is on its way"))
    events, refused = EventBus(), []
    events.subscribe(lambda e: refused.append(e) if type(e).__name__ == "ToolCallRefused" else None)
    result = project.run(BODY, {"email": "ana@example.com"}, events=events)
    assert result.status == "succeeded", result.error
    offered = server.requests[0][1]["tools"][0]["function"]
    assert offered["name"] == "get_order" and "customer_id" not in offered["parameters"]["properties"]
    assert offered["parameters"]["required"] == ["order_id"]
    told = server.requests[1][1]["messages"][-1]["content"]
    assert "customer_id of get_order are set by the pipeline and cannot be given" in told
    assert [e.tool for e in refused] == ["get_order"]
    assert (project.root / "calls.log").read_text() == "c1 o1\n"  # only the bound customer's order was looked up
    assert json.loads(server.requests[2][1]["messages"][-1]["content"]) == {"order_id": "o1", "item": "kettle"}


def test_a_binding_is_a_checked_reference(project, capsys, monkeypatch):
    from tests.support.cli import invoke

    (project.root / "tools" / "orders.py").write_text(ORDERS)
    project.pipeline(BODY.replace("steps.auth.output.customer_id", "steps.auht.output.customer_id"))
    monkeypatch.chdir(project.root)
    done = invoke(capsys, monkeypatch, "validate", "pipelines/t.yaml")
    assert done.code == 1 and "auht" in done.out and "E3" in done.out, done.out
    project.pipeline(BODY.replace("      - get_order: {with:", "      - {get_order: {with: {}}, authenticate: {with:")
                     .replace('customer_id }}"}}', 'customer_id }}"}}}'))
    two = invoke(capsys, monkeypatch, "validate", "pipelines/t.yaml")
    assert "error[E404]: a tools: entry names one tool, this one names 2" in two.out, two.out


PRECONDITION = BODY.replace('''    tools:
      - get_order: {with: {customer_id: "${{ steps.auth.output.customer_id }}"}}''', '''    tools: [cancel_order]''').replace(
    '''  get_order: {python: "tools.orders:get_order"}''', '''  get_order: {python: "tools.orders:get_order"}
  cancel_order:
    python: "tools.orders:cancel_order"
    side_effects: true
    when: ${{ args.order_id in steps.auth.output.order_ids }}
    approval: ${{ args.order_id not in steps.auth.output.recent }}''')
CANCEL = ORDERS.replace('''def get_order''', '''def authenticate_orders(email: str) -> dict:
    return {"customer_id": "c1", "order_ids": ["o1", "o2"], "recent": ["o1"]}

def cancel_order(order_id: str) -> dict:
    with open("LEDGER", "a") as ledger:
        ledger.write(f"cancel {order_id}\\n")
    return {"cancelled": order_id}

def get_order''')


def test_a_precondition_reads_earlier_steps_and_refuses_another_customers_order(project, server):
    (project.root / "tools" / "orders.py").write_text(CANCEL.replace("LEDGER", str(project.root / "calls.log")))
    body = PRECONDITION.replace("tools.orders:authenticate", "tools.orders:authenticate_orders")
    server.push(Behaviour(content=None, tool_calls=[("cancel_order", json.dumps({"order_id": "o9"}))]),
                Behaviour(content=None, tool_calls=[("cancel_order", json.dumps({"order_id": "o1"}))]),
                answer("cancelled your kettle order"))
    events, refused = EventBus(), []
    events.subscribe(lambda e: refused.append(e) if type(e).__name__ == "ToolCallRefused" else None)
    result = project.run(body, {"email": "ana@example.com"}, events=events)
    assert result.status == "succeeded", result.error
    told = server.requests[1][1]["messages"][-1]["content"]
    assert "precondition of cancel_order not met" in told and "args.order_id = 'o9'" in told
    assert [e.reason.split(":")[0] for e in refused] == ["precondition of cancel_order not met"]
    assert (project.root / "calls.log").read_text() == "cancel o1\n"  # the other customer's order was untouched


def test_tool_expressions_reading_a_step_that_is_not_there_are_located(project, capsys, monkeypatch):
    from tests.support.cli import invoke

    (project.root / "tools" / "orders.py").write_text(CANCEL)
    project.pipeline(PRECONDITION.replace("tools.orders:authenticate", "tools.orders:authenticate_orders")
                     .replace("in steps.auth.output.order_ids", "in steps.login.output.order_ids"))
    monkeypatch.chdir(project.root)
    done = invoke(capsys, monkeypatch, "validate", "pipelines/t.yaml")
    assert done.code == 1 and "error[E306]: step 'login' is not defined" in done.out, done.out
    assert "|     when: ${{ args.order_id in steps.login.output.order_ids }}" in done.out  # located at the tool's when:


def test_a_malformed_binding_is_one_error_not_one_per_union_alternative(project, capsys, monkeypatch):
    from tests.support.cli import invoke

    (project.root / "tools" / "orders.py").write_text(ORDERS)
    project.pipeline(BODY.replace('{with: {customer_id: "${{ steps.auth.output.customer_id }}"}}', "{with: 5}"))
    monkeypatch.chdir(project.root)
    done = invoke(capsys, monkeypatch, "validate", "pipelines/t.yaml")
    errors = [line for line in done.out.splitlines() if line.startswith("error")]
    assert errors == ["error[E202]: agents.support.tools[0].get_order.with: expected a mapping, got a number (5)"]
