"""A requests adapter whose connections register their socket with the thread's flight while they wait for an
answer, so that Cancel (or an asker who leaves) can cut the connection at once."""
from __future__ import annotations

from typing import Any

import urllib3
from requests.adapters import HTTPAdapter

from proofsheet.upstream import cancellation


class _WatchedConnection(urllib3.connection.HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch(self)
        return super().getresponse(*args, **kwargs)


class _WatchedTLSConnection(urllib3.connection.HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch(self)
        return super().getresponse(*args, **kwargs)


def _watch(connection: urllib3.connection.HTTPConnection) -> None:
    flight = cancellation.current()
    if flight is not None and connection.sock is not None:
        flight.watch(connection.sock)


class _WatchedPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedTLSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedTLSConnection


class WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedTLSPool}
