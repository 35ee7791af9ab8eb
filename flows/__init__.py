"""Flows: one module per lifecycle flow; orchestration only."""
