"""A real stdio MCP server (official SDK) with CRUD-shaped task tools over an in-memory store, in the style the
resource model learns from annotations and paged results:

- `get_task` / `list_tasks` are `readOnlyHint`; `list_tasks` pages by cursor (`cursor` argument, results
  `{"tasks": [...], "nextCursor": "<offset>" | null}`, 2 per page) and filters on `status`;
- `update_task` is `idempotentHint`: it replaces the task (a field not given goes back to its default);
- `delete_task` is `destructiveHint` + `idempotentHint`; `remove_task` is another name for it (destructive,
  only the id): a delete by its annotation, not by its name.
Results are structured (`structuredContent`, the JSON as text beside it); an unknown id is an isError result.
Every `make_server()` is the same seeded state (T1-T3), so a recording and a fresh live server agree.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

PAGE = 2
READ = {"readOnlyHint": True}
REPLACE = {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True}
DELETE = {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True}
CREATE = {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False}

SEED = (("T1", "buy milk", "open", 2), ("T2", "file taxes", "done", 1), ("T3", "fix bike", "open", 3))


def make_server() -> MCPServer:
    """A fresh server with the seeded tasks (each walk of the differential harness starts from one)."""
    server = MCPServer("task-tools", version="0.1.0")
    tasks: dict[str, dict[str, Any]] = {i: {"id": i, "title": t, "status": s, "priority": p} for i, t, s, p in SEED}
    counter = {"next": len(SEED) + 1}

    def found(task_id: str) -> dict[str, Any]:
        if task_id not in tasks:
            raise ToolError(f"task {task_id} not found")
        return tasks[task_id]

    @server.tool(annotations=READ)
    def get_task(task_id: str) -> dict[str, Any]:
        """One task."""
        return found(task_id)

    @server.tool(annotations=READ)
    def list_tasks(status: str | None = None, cursor: str | None = None) -> dict[str, Any]:
        """Tasks (those with `status`), two per page; pass a page's `nextCursor` as `cursor` for the next."""
        chosen = [t for t in tasks.values() if status is None or t["status"] == status]
        start = int(cursor) if cursor else 0
        more = start + PAGE < len(chosen)
        return {"tasks": chosen[start : start + PAGE], "nextCursor": str(start + PAGE) if more else None}

    @server.tool(annotations=CREATE)
    def create_task(title: str, priority: int = 2) -> dict[str, Any]:
        """A new open task with the next id."""
        task_id = f"T{counter['next']}"
        counter["next"] += 1
        tasks[task_id] = {"id": task_id, "title": title, "status": "open", "priority": priority}
        return tasks[task_id]

    @server.tool(annotations=REPLACE)
    def update_task(task_id: str, title: str, status: str = "open", priority: int = 2) -> dict[str, Any]:
        """Replace a task: every field not given goes back to its default."""
        found(task_id)
        tasks[task_id] = {"id": task_id, "title": title, "status": status, "priority": priority}
        return tasks[task_id]

    @server.tool(annotations=DELETE)
    def delete_task(task_id: str) -> dict[str, Any]:
        """Remove a task."""
        found(task_id)
        del tasks[task_id]
        return {"deleted": task_id}

    @server.tool(annotations=DELETE)
    def remove_task(task_id: str) -> dict[str, Any]:
        """Remove a task (another name for delete_task)."""
        found(task_id)
        del tasks[task_id]
        return {"deleted": task_id}

    return server


if __name__ == "__main__":
    make_server().run()
