"""Train a tessera-compression model: ``mim train tessera-compression CONFIG``."""
from tessera_core.apis import train_main

if __name__ == '__main__':
    train_main(scope='tessera_compression', imports=['tessera_compression.models', 'tessera_compression.datasets', 'tessera_compression.evaluation', 'tessera_compression.engine'])
