"""Talking to models: one protocol, one litellm adapter (the only litellm import), test doubles."""
