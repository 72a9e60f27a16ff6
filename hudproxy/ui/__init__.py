"""The web inspector: server-rendered pages over cassettes, the call journal and eval results.

An adapter: it composes `inspection` (what `hudproxy inspect`, `--why` and `--model` compute), the journal's
reads and the results database, and renders them with Jinja templates. `hudproxy ui` serves it alone; a replay
server serves the same pages under /_hudproxy/ui.
"""

from hudproxy.ui.app import create_ui_app
from hudproxy.ui.sources import CassetteSource, Sources

__all__ = ["CassetteSource", "Sources", "create_ui_app"]
