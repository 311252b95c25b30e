"""Test a tessera-video model: ``mim test tessera-video CONFIG --checkpoint CKPT``."""
from tessera_core.apis import test_main

if __name__ == '__main__':
    test_main(scope='tessera_video', imports=['tessera_video.models', 'tessera_video.datasets', 'tessera_video.evaluation', 'tessera_video.engine'])
