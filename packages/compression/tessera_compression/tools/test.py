"""Test a tessera-compression model: ``mim test tessera-compression CONFIG --checkpoint CKPT``."""
from tessera_core.apis import test_main

if __name__ == '__main__':
    test_main(scope='tessera_compression', imports=['tessera_compression.models', 'tessera_compression.datasets', 'tessera_compression.evaluation', 'tessera_compression.engine'])
