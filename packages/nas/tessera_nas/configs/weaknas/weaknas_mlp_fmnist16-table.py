# WeakNAS (arXiv:2102.10490) on the tabular benchmark shipped with tessera-nas (fmnist16-nb201-v1:
# 500 NAS-Bench-201-style cells trained on Fashion-MNIST 16 px), against random search and
# regularized evolution. Read by benchmarks/search_on_table.py (a table search trains nothing,
# so it is not a `mim train` config); every searcher is built from the SEARCHERS registry.
table = None  # None: the shipped table; or a path to another table JSON
metric = 'valid_acc'  # what a query returns (seed-0 validation accuracy)
runs = 50  # seeds 0 .. runs-1 per searcher
top_fraction = 0.01  # second target: any of the best 1% (5 of 500)
searchers = dict(
    random=dict(type='RandomSearch'),
    evolution=dict(type='RegularizedEvolution', population_size=20, sample_size=5, min_neighbors=5),
    # the same, but a child already queried costs a query again (each child trained, as in the paper)
    evolution_repeats=dict(type='RegularizedEvolution', population_size=20, sample_size=5, min_neighbors=5,
                           count_repeats=True),
    # Official NAS-Bench-201 setting: init 10, 10 per iteration, MLP 1000x4 (100 iterations) on the
    # one-hot encoding, top region 100 of 15625 cells. Adapted to a 500-entry table: the region
    # narrows from the top 50 (10%) to the top 10 (2%) with the official decay 0.96, and the MLP is
    # 256x4 (the 1000x4 one costs ~20 s per search on one thread; set hidden=(1000,) * 4 for it).
    weaknas=dict(type='WeakNAS', init_samples=10, samples_per_iter=10, top_start=50, top_end=10, top_decay=0.96,
                 max_samples=500, predictor='mlp', hidden=(256, 256, 256, 256), max_iter=100),
    weaknas_gbdt=dict(type='WeakNAS', init_samples=10, samples_per_iter=10, top_start=50, top_end=10,
                      top_decay=0.96, max_samples=500, predictor='gbdt', n_estimators=200, max_depth=3),
)
