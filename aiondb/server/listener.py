"""The server: listens, owns the tenant registry and the engine, tracks
connections and cancel keys, and shuts down cleanly."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from aiondb.config import Settings
from aiondb.server.connection import ClientProtocol
from aiondb.server.output import SHUTDOWN, log
from aiondb.sql.session import Engine
from aiondb.storage.registry import TenantRegistry
from aiondb.wire.connection import Authenticator
from aiondb.wire.scram import ScramVerifier


class Server:
    def __init__(self, settings: Settings, registry: TenantRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else make_registry(settings)
        self.engine = Engine(self.registry, settings)
        users: dict[str, ScramVerifier] = {}
        if settings.password:
            users[settings.user] = ScramVerifier.from_password(settings.password)
        self.authenticator = Authenticator(settings.effective_auth, users)
        self.connections: set[ClientProtocol] = set()
        self.cancel_keys: dict[int, tuple[int, ClientProtocol]] = {}
        self._pid = 1000
        self.loop: asyncio.AbstractEventLoop = asyncio.get_event_loop()
        self.listener: asyncio.base_events.Server | None = None
        self.stopping = False
        self.port = settings.port
        self._stopped = asyncio.Event()

    def new_pid(self) -> int:
        self._pid += 1
        return self._pid

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        from aiondb.recovery import crc_extension_warning
        warning = crc_extension_warning()
        if warning:
            log.warning("%s", warning)
        # the registry logs its own open/recovery lines (aiondb.recovery logger)
        await self.registry.open(None)
        self.listener = await self.loop.create_server(
            lambda: ClientProtocol(self), self.settings.host, self.settings.port,
            reuse_address=True, backlog=512)
        sock = self.listener.sockets[0]
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, cancel waits of running statements, tell idle
        sessions and close them, then close the registry."""
        if self.stopping:
            return
        self.stopping = True
        if self.listener is not None:
            self.listener.close()
        for c in list(self.connections):
            if c.session is not None:
                c.session.cancel()
        for _ in range(50):
            if not any(c.busy for c in self.connections):
                break
            await asyncio.sleep(0.02)
        for c in list(self.connections):
            if not c.closed:
                c._fatal(SHUTDOWN)
            c._end_session()
        await self.registry.close()
        self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()


def make_registry(settings: Settings) -> TenantRegistry:
    if settings.backend == "memory":
        return TenantRegistry()
    from aiondb.storage.durable import DurableRegistry  # type: ignore[import-not-found]
    return DurableRegistry(settings)


async def run_server(settings: Settings, ready: Any = None) -> None:
    server = Server(settings)
    await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.stop()))
        except (NotImplementedError, RuntimeError):
            pass
    if ready is not None:
        ready(server)
    await server.wait_stopped()
