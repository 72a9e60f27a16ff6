"""Recording: traffic → interactions → cassette (modes, the sans-IO recorder, the mitmproxy adapter)."""

from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder

__all__ = ["RecordMode", "Recorder"]
