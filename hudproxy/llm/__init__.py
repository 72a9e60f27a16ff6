"""LLM-agent evals made reproducible: the agent's chat-completions calls recorded and replayed per run
(`LlmCassette`), and their token usage and cost (`usage`)."""

from hudproxy.llm.cassette import LlmCassette, LlmMode
from hudproxy.llm.usage import Usage, load_prices, usage_of

__all__ = ["LlmCassette", "LlmMode", "Usage", "load_prices", "usage_of"]
