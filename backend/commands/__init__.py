"""Command definitions. Every module named `*_cmds.py` here registers its commands on import;
`registry.load_all()` imports them all. Add a command once and the TUI, CLI and MCP have it."""
