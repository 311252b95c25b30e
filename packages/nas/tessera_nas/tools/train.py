"""Train a tessera-nas model: ``mim train tessera-nas CONFIG``."""
from tessera_core.apis import train_main

if __name__ == '__main__':
    train_main(scope='tessera_nas', imports=['tessera_nas.models', 'tessera_nas.datasets', 'tessera_nas.evaluation', 'tessera_nas.engine'])
