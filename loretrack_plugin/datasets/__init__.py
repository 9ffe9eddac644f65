"""Old name of :mod:`loretrack_plugin.synthetic` (kept while importers move)."""
from ..synthetic import *  # noqa: F401,F403
from ..synthetic import LAYOUTS, SyntheticSequence, make_dataset, render_sequence  # noqa: F401
from ..formats.sequence_names import lasot_names, otb_plain_names  # noqa: F401
