from .progressive_search_loop import (ProgressiveSearchLoop, derive_capped_genotype, op_dropout_rate,  # noqa: F401
                                      prune_edge_primitives)
