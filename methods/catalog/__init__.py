"""The catalog of named methods, registered in a declared order.

:data:`CATALOG_MODULES` is the listing order of ``python -m benchmark list methods``, of reports and
of the site: Table 2 (CE … BBN, then the proposed CE+CT/TP/SC→cRW), Table 3's ablations (CE+SC,
SC→cRW, in ``metric``), the methods the paper cites beyond its tables (Remix, Balanced-MixUp), then
strong long-tailed baselines beyond the paper. Within a module, rows are registered in the order
its classes are defined (each class's ``@register_method`` variants in the order given). The order
comes from this tuple, not from how a tool sorts import statements.
"""

from importlib import import_module

CATALOG_MODULES: tuple[str, ...] = (
    "ce",  # CE, CE→cRW, CE→cRS, CE→τ-norm, CE→LWS, CE→PLA, CE-DRW, RS, RW
    "ldam",  # LDAM, LDAM→cRW, LDAM-DRW
    "focal",  # Focal, Focal→cRW, CB-Focal, CB-Focal→cRW
    "mixing",  # Mixup, Mixup→cRW, CutMix, CutMix→cRW
    "bbn",  # BBN
    "metric",  # CE+CT→cRW, CE+TP→cRW, CE+SC→cRW, CE+SC, SC→cRW
    "cited_mixing",  # Remix, Balanced-MixUp
    "balanced_softmax",  # Balanced-Softmax, Balanced-Softmax→cRW
    "logit_adjustment",  # LA-loss, LA-loss→cRW
    "bcl",  # BCL, BCL→cRW
    "wb",  # WB→MaxNorm (weight balancing; its stage 2 is methods/stage2/maxnorm.py)
)

for _module in CATALOG_MODULES:
    import_module(f"{__name__}.{_module}")
