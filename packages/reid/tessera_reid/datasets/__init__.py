from .camstyle_reid import CamStyleReID
from .dukemtmc_reid import DukeMTMCReID, parse_duke_name
from .embedded_digits_reid import EmbeddedDigitsReID
from .file_reid_dataset import FileReIDDataset
from .market1501 import Market1501, parse_market_name
from .msmt17 import MSMT17, parse_msmt_name
from .samplers import GlobalHardIdentitySampler, PKSampler
from .transforms import RandomErasing

__all__ = ['CamStyleReID', 'EmbeddedDigitsReID', 'FileReIDDataset', 'Market1501', 'parse_market_name', 'PKSampler',
           'GlobalHardIdentitySampler', 'RandomErasing', 'DukeMTMCReID', 'parse_duke_name', 'MSMT17', 'parse_msmt_name']
