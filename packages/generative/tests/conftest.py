from tessera_core.testing.fixtures import pytest_configure, scoped, seeded  # noqa: F401

default_scope = scoped('tessera_generative')
