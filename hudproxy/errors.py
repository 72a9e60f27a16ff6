"""The exception tree, so callers can catch exactly what they can handle.

    HudproxyError                 every error hudproxy raises on purpose; `str()` is a user-facing message
    ├── CassetteError             a cassette file is missing, malformed or of an unknown version
    ├── ConfigError               an option, flag or record mode is invalid
    ├── RecordingError            recording could not proceed (upstream unreachable, mode forbids it)
    │   └── CassetteWriteError    a recorded interaction could not be written (disk full, permission, a value)
    ├── JournalError              a journal file cannot be opened, or is some other program's database
    └── DatabaseError             a per-run database could not be made or released (hudproxy.databases)
        ├── SqlScriptError        a .sql fixture failed: file, line and statement
        ├── FixtureError          a YAML/JSON row fixture is malformed: file and table
        └── IsolationError        a run committed inside its rollback transaction

The CLI turns any HudproxyError into one clear line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations


class HudproxyError(Exception):
    """Base class: the message is meant for a person and names what to do."""


class CassetteError(HudproxyError):
    """A cassette could not be read or written; the message names the file (and line when known)."""


class ConfigError(HudproxyError):
    """An option has a value hudproxy does not accept; the message lists the valid ones."""


class RecordingError(HudproxyError):
    """Recording failed in a way the user must act on."""


class CassetteWriteError(RecordingError):
    """A recorded interaction did not reach the cassette: its client is answered 5xx, and the recording exits
    non-zero at stop; the message names the file and the reason."""


class JournalError(HudproxyError):
    """A journal file cannot be created or read, or holds something else; the message names the file."""
