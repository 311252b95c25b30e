"""Train a tessera-reid model: ``mim train tessera-reid CONFIG``."""
from tessera_core.apis import train_main

if __name__ == '__main__':
    train_main(scope='tessera_reid', imports=['tessera_reid.models', 'tessera_reid.datasets', 'tessera_reid.evaluation', 'tessera_reid.engine'])
