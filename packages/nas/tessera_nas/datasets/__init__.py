from .search_split import SearchSplitDataset  # noqa: F401
