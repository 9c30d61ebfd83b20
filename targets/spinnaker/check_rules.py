"""Old name of :mod:`.rules` (``targets/spinnaker/rules.py``), kept so existing imports keep working."""

from .rules import RULES, _learning  # noqa: F401

__all__ = ["RULES"]
