from tessera_core.testing.fixtures import pytest_configure  # noqa: F401
