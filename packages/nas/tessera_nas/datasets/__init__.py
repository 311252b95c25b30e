from .search_split import SearchSplitDataset  # noqa: F401
from .table_split import TableSplitFashionMNIST, table_split_indices  # noqa: F401
