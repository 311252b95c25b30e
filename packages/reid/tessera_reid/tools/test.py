"""Test a tessera-reid model: ``mim test tessera-reid CONFIG --checkpoint CKPT``."""
from tessera_core.apis import test_main

if __name__ == '__main__':
    test_main(scope='tessera_reid', imports=['tessera_reid.models', 'tessera_reid.datasets', 'tessera_reid.evaluation', 'tessera_reid.engine'])
