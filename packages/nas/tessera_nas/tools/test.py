"""Test a tessera-nas model: ``mim test tessera-nas CONFIG --checkpoint CKPT``."""
from tessera_core.apis import test_main

if __name__ == '__main__':
    test_main(scope='tessera_nas', imports=['tessera_nas.models', 'tessera_nas.datasets', 'tessera_nas.evaluation', 'tessera_nas.engine'])
