# Amended-DARTS on the NB201-style cell space of the tabular benchmark fmnist16-nb201-v1: the LA-DARTS search
# config with the latency term off (latency_lambda=0: LADARTSClassifier's architecture gradient is then exactly
# DARTS', tested in test_la_darts.py) and the amended architecture gradient
#   g = dL_val/da - c * d2L_train/(da dw) . H . dL_val/dw,   H = d2L_train/dw2   (c = 0.1, r = 0.01),
# so the derived cell is looked up in the table. Plain DARTS on this space collapses to a one-skip cell
# (../la_darts/README.md, lambda 0); Amended-DARTS's claim is that the amended gradient keeps the search stable.
_base_ = ['../la_darts/la-darts_nb201-c8_fmnist16.py']
model = dict(arch_gradient='amended', amended_coefficient=0.1, latency_lambda=0.0)
