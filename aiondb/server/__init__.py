"""The asyncio server: accepts connections, owns the tenant registry, and
drives each connection's protocol state machine (wire/) and session (sql/).

Speed: asyncio.Protocol (not streams); output is buffered and written once
per Sync / Flush / end of a simple Query; a statement that never waits runs
to completion inside data_received without creating a task. Only lock waits,
sleeps and commit fsyncs suspend, through a small trampoline (_Runner).

Modules: listener.py (Server), connection.py (ClientProtocol and its event
loop), startup.py, simple_query.py (with COPY), extended.py (with the fast
lane), output.py (buffering, flow control, result and error encoding).
"""

from aiondb.server.connection import ClientProtocol
from aiondb.server.listener import Server, make_registry, run_server
from aiondb.server.output import as_db_error

__all__ = ["ClientProtocol", "Server", "as_db_error", "make_registry", "run_server"]
