"""The catalog of named methods; importing it registers them, in the paper's order.

Table 2 (CE … BBN, then the proposed CE+CT/TP/SC→cRW), Table 3's ablations (CE+SC, SC→cRW), then
the methods the paper cites beyond its tables (Remix, Balanced-MixUp), then strong long-tailed baselines
beyond the paper (Balanced-Softmax, LA-loss, BCL). Registration order is the
listing order of ``python -m benchmark list methods``, of reports and of the site.
"""
from ..registry import register_method
from . import ce  # noqa: F401  CE, CE→cRW, CE→cRS, CE-DRW, RS, RW
from . import ldam  # noqa: F401  LDAM, LDAM→cRW, LDAM-DRW
from . import focal  # noqa: F401  Focal, Focal→cRW, CB-Focal, CB-Focal→cRW
from . import mixing  # noqa: F401  Mixup, Mixup→cRW, CutMix, CutMix→cRW
from . import bbn  # noqa: F401  BBN
from . import metric  # noqa: F401  CE+CT→cRW, CE+TP→cRW, CE+SC→cRW, CE+SC, SC→cRW

# Cited beyond the tables: defined with their family in mixing.py, registered last.
register_method(mixing.Remix)
register_method(mixing.BalancedMixUp)

# Beyond the paper: strong long-tailed baselines, registered after the paper's rows.
from . import balanced_softmax  # noqa: F401  Balanced-Softmax, Balanced-Softmax→cRW
from . import logit_adjustment  # noqa: F401  LA-loss, LA-loss→cRW
from . import bcl  # noqa: F401  BCL, BCL→cRW
from . import wb  # noqa: E402,F401  WB→MaxNorm (weight balancing; its stage 2 is methods/stage2/maxnorm.py)
