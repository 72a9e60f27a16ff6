"""A CRUD-shaped MCP tool server (tasks) for the resource model's MCP side: `python -m envs.tasks_mcp.server`."""
