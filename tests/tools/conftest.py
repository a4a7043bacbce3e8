"""The run fixtures (local model server, scratch project) are shared with the record tests."""

from tests.run.conftest import project, server  # noqa: F401
