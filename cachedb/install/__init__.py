"""The ``install`` pipeline and its companions ``uninstall`` and ``list``.

The names below load their module on first use (PEP 562): ``cachedb venv`` needs
only ``install.venv``, and a command that only lists never needs the pipeline.
"""

from __future__ import annotations

from .._lazy import lazy_names

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from .options import InstallOptions
    from .report import Reporter

__getattr__ = lazy_names(__name__, {"InstallOptions": ".options", "Reporter": ".report"}, globals())

__all__ = ["InstallOptions", "Reporter"]
