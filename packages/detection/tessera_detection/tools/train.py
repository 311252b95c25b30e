"""Train a tessera-detection model: ``mim train tessera-detection CONFIG``."""
from tessera_core.apis import train_main

if __name__ == '__main__':
    train_main(scope='tessera_detection', imports=['tessera_detection.models', 'tessera_detection.datasets', 'tessera_detection.evaluation', 'tessera_detection.engine'])
