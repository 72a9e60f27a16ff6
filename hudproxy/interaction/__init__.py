"""hudproxy's own data model: what one HTTP exchange is, independent of any library or file format."""

from hudproxy.interaction.headers import Headers, header_value, without_headers
from hudproxy.interaction.model import Chunk, Interaction, Request, Response

__all__ = ["Chunk", "Headers", "Interaction", "Request", "Response", "header_value", "without_headers"]
