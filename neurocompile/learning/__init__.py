"""On-chip learning: the rule IR, library rules, TOML attachment and learned-weight helpers.

``from neurocompile.learning import stdp_pair, LearningRule, load_rules``. See
``docs/learning.md``.
"""

from .attach import attach, match_connections, normalize  # noqa: F401
from .ir import (  # noqa: F401
    DEPENDENCIES,
    TRACE_NAMES,
    UPDATE_TARGETS,
    Factor,
    LearningRule,
    LearningSignal,
    Product,
    Trace,
    parse_expr,
    rule_from_strings,
    validate,
)
from .library import LIBRARY, eprop, feedback_alignment, hebbian, rstdp, stdp_pair, stdp_triplet  # noqa: F401
from .results import freeze, with_learned_weights  # noqa: F401
from .toml import load_rules, rules_from_dict  # noqa: F401
