"""Session logs: write, read, replay, fork, import and export the JSONL record of a run.

The main entry points are re-exported here: `SessionWriter`, `SessionHeader`, `read_session`,
`SessionLog`, `SessionError`. Other modules: `transcript`, `export`, `catalog`, `fork`,
`autogen_import`, `replay`, `cli` (entry functions of the session commands) and `sample`
(synthetic events for tests, benchmarks and UI work).
"""

from tuiagents.session.log import (
    FORMAT_VERSION, ForkOrigin, SessionError, SessionHeader, SessionWriter, new_run_id, session_filename,
)
from tuiagents.session.reader import SessionLog, read_header, read_session

__all__ = [
    "FORMAT_VERSION", "ForkOrigin", "SessionError", "SessionHeader", "SessionWriter", "SessionLog",
    "new_run_id", "read_header", "read_session", "session_filename",
]
