"""Config helpers: ``tessera_<pkg>::`` base configs (:mod:`.package_bases`)."""
from .package_bases import install_package_bases, package_config_path

__all__ = ['install_package_bases', 'package_config_path']
