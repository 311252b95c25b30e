from tessera_core.testing.fixtures import pytest_configure, seeded  # noqa: F401
