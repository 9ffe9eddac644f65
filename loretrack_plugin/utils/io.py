from .files import *  # noqa: F401,F403 (old name, kept while importers move)
from .files import _HOST, _TMP_RE  # noqa: F401
