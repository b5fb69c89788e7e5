"""Corral's MCP server: the registry's commands that carry an `mcp_name`, served as MCP tools
over stdio (`corral mcp`) or streamable HTTP (`corral mcp --http`). See docs/mcp.md."""
