"""hudproxy: record real HTTP and MCP traffic once, replay it as deterministic, isolated mocks."""

__version__ = "0.1.0"
