from agentctl.compile import prices
from agentctl.compile.prices import PriceTable


def test_prices_come_from_litellm_data_without_importing_litellm(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    table = PriceTable.from_litellm_package()
    info = table.lookup("openai/gpt-4o-mini")
    assert info.input_per_token > 0 and info.output_per_token > 0 and info.max_output_tokens > 0
    assert list((tmp_path / "agentctl").glob("prices-*.tsv"))  # the compact index was cached
    again = PriceTable.from_litellm_package()
    assert again.lookup("openai/gpt-4o-mini") == info
    assert again.lookup("gpt-4o") == table.lookup("gpt-4o")
    assert again.lookup("no-such-model") is None and again.lookup("gpt-4") is not None


def test_a_provider_prefix_must_match_the_entry():
    table = PriceTable({"gpt-4o": {"litellm_provider": "openai", "input_cost_per_token": 1e-6,
                                   "output_cost_per_token": 2e-6}})
    assert table.lookup("openai/gpt-4o") is not None
    assert table.lookup("anthropic/gpt-4o") is None


def test_zero_prices_are_unknown():
    table = PriceTable({"m": {"input_cost_per_token": 0, "output_cost_per_token": 0.0}})
    assert table.lookup("m").input_per_token is None


def test_an_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert PriceTable.from_litellm_package().lookup("gpt-4o") is not None
    assert prices._cache_dir().parent == blocked
