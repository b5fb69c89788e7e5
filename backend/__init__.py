"""Corral's domain: tasks, sandboxes, workspaces, checkpoints. Never imports Textual."""

__version__ = "0.1.0"
