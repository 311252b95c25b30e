"""Train a tessera-core model: ``mim train tessera-core CONFIG`` or ``python tools/train.py CONFIG``."""
from tessera_core.apis import train_main

if __name__ == '__main__':
    train_main(scope='tessera_core')
