"""Test a tessera-multimodal model: ``mim test tessera-multimodal CONFIG --checkpoint CKPT``."""
from tessera_core.apis import test_main

if __name__ == '__main__':
    test_main(scope='tessera_multimodal', imports=['tessera_multimodal.models', 'tessera_multimodal.datasets', 'tessera_multimodal.evaluation', 'tessera_multimodal.engine'])
