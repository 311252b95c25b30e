"""Test a tessera-generative model: ``mim test tessera-generative CONFIG --checkpoint CKPT``."""
from tessera_core.apis import test_main

if __name__ == '__main__':
    test_main(scope='tessera_generative', imports=['tessera_generative.models', 'tessera_generative.datasets', 'tessera_generative.evaluation', 'tessera_generative.engine'])
