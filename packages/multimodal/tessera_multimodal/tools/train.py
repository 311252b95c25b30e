"""Train a tessera-multimodal model: ``mim train tessera-multimodal CONFIG``."""
from tessera_core.apis import train_main

if __name__ == '__main__':
    train_main(scope='tessera_multimodal', imports=['tessera_multimodal.models', 'tessera_multimodal.datasets', 'tessera_multimodal.evaluation', 'tessera_multimodal.engine'])
