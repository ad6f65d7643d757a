"""The ``install`` pipeline and its companions ``uninstall`` and ``list``."""

from .options import InstallOptions
from .report import Reporter

__all__ = ["InstallOptions", "Reporter"]
