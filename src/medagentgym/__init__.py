"""MedAgentGym: an executable, offline training ground for LLM coding agents in biomedicine."""

__version__ = "0.1.0"
