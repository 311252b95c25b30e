"""Train a tessera-generative model: ``mim train tessera-generative CONFIG``."""
from tessera_core.apis import train_main

if __name__ == '__main__':
    train_main(scope='tessera_generative', imports=['tessera_generative.models', 'tessera_generative.datasets', 'tessera_generative.evaluation', 'tessera_generative.engine'])
