"""Test a tessera-core model: ``mim test tessera-core CONFIG --checkpoint CKPT``."""
from tessera_core.apis import test_main

if __name__ == '__main__':
    test_main(scope='tessera_core')
