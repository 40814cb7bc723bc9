"""The agent-based model: actors as Mesa agents over lanes of replications."""

from sim.model.agents import Actor
from sim.model.model import OUTCOMES, EscalationModel
from sim.model.params import Parameters, compile_scenarios

__all__ = ["OUTCOMES", "Actor", "EscalationModel", "Parameters", "compile_scenarios"]
