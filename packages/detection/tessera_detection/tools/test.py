"""Test a tessera-detection model: ``mim test tessera-detection CONFIG --checkpoint CKPT``."""
from tessera_core.apis import test_main

if __name__ == '__main__':
    test_main(scope='tessera_detection', imports=['tessera_detection.models', 'tessera_detection.datasets', 'tessera_detection.evaluation', 'tessera_detection.engine'])
