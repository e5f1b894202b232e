"""Routing a melding to a dienst. `rules` is the precise keyword/phrase layer (see config/diensten.toml)."""

from gateway.classify.rules import Dienst, DienstenConfigError, Routing, RuleRouter

__all__ = ["Dienst", "DienstenConfigError", "RuleRouter", "Routing"]
