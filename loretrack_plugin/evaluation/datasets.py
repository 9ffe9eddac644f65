"""Old name of :mod:`loretrack_plugin.evaluation.benchmark_readers` (kept while importers move)."""
from .benchmark_readers import *  # noqa: F401,F403
from .benchmark_readers import _Reader  # noqa: F401
