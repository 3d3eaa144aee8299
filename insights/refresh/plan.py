"""Grouping Graph reads into as few HTTP requests as Meta allows (graph-api.md §7.3).

Callers queue operations (`add(path, params, on_result)`); `flush()` sends everything queued:
on graph.facebook.com as batch requests of ≤ 50 operations, on graph.instagram.com (where Meta
documents no batch) as plain GETs. Each operation's answer goes to its callback, which may queue
more operations (they go out in the next round of the same flush). `after_round(fn)` runs `fn`
once the current round's answers have all been handed out (it may queue more, e.g. one request
for everything the callbacks collected rather than one per callback).

Errors are per operation: a callback gets either the decoded body or a `MetaError`. Operations
that time out inside a batch (Meta answers `null`) or fail transiently are sent once more. Errors
that concern the whole account (token, permission, rate limit) are raised from `flush()` after
the round's other answers were handed out, so what was fetched is not thrown away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..meta.client import ErrorKind, MetaClient, MetaError

ACCOUNT_WIDE = (ErrorKind.TOKEN_INVALID, ErrorKind.PERMISSION, ErrorKind.RATE_LIMITED)
MAX_ROUNDS = 6


@dataclass
class Operation:
    path: str
    params: dict
    on_result: Callable[[Any], None]
    retried: bool = False


class RequestPlan:
    def __init__(self, meta: MetaClient, *, use_batch: bool):
        self.meta = meta
        self.use_batch = use_batch
        self.pending: list[Operation] = []
        self._after_round: list[Callable[[], None]] = []
        self.operations = 0  # operations sent (each counts as a call for Meta's rate limits)

    def add(self, path: str, params: dict, on_result: Callable[[Any], None]) -> None:
        self.pending.append(Operation(path, params, on_result))

    def after_round(self, fn: Callable[[], None]) -> None:
        if fn not in self._after_round:
            self._after_round.append(fn)

    def _end_round(self) -> None:
        hooks, self._after_round = self._after_round, []
        for fn in hooks:
            fn()

    def flush(self) -> None:
        account_error: MetaError | None = None
        for _ in range(MAX_ROUNDS):
            self._end_round()  # hooks registered while queuing, before the first round
            if not self.pending:
                break
            ops, self.pending = self.pending, []
            results = self._send(ops)
            for op, result in zip(ops, results, strict=True):
                if isinstance(result, MetaError):
                    if result.kind in ACCOUNT_WIDE:
                        account_error = account_error or result
                        continue
                    if result.kind == ErrorKind.TRANSIENT and not op.retried:
                        op.retried = True
                        self.pending.append(op)
                        continue
                op.on_result(result)
            if account_error is not None:
                self.pending = []
                self._after_round = []
                raise account_error
        for op in self.pending:  # rounds exhausted: the callers learn it failed
            op.on_result(MetaError(ErrorKind.TRANSIENT, "not answered", path=op.path))
        self.pending = []
        self._after_round = []

    def _send(self, ops: list[Operation]) -> Iterable[Any]:
        """The round's results, in order, each decoded only when taken and let go once its
        callback had it: a round of listing pages is never held decoded all at once."""
        self.operations += len(ops)
        if self.use_batch:
            batch = [{"relative_url": self._relative_url(op)} for op in ops]
            try:
                return self.meta.batch_results(batch)
            except MetaError as error:
                if error.kind in ACCOUNT_WIDE:
                    raise
                return [error] * len(ops)  # the whole batch failed: each op may retry once
        return self._gets(ops)

    def _gets(self, ops: list[Operation]) -> Iterator[Any]:
        """One GET per operation, made as its result is taken. After an account-wide error the
        rest are not sent: they get that error (the flush raises it once the round is out)."""
        stop: MetaError | None = None
        for op in ops:
            if stop is not None:
                yield stop
                continue
            try:
                yield self.meta.get(op.path, op.params)
            except MetaError as error:
                if error.kind in ACCOUNT_WIDE:
                    stop = error
                yield error

    def _relative_url(self, op: Operation) -> str:
        params = {
            k: ",".join(v) if isinstance(v, list | tuple) else v for k, v in op.params.items()
        }
        path = op.path.lstrip("/")
        if self.meta.version:
            path = f"{self.meta.version}/{path}"
        return f"{path}?{urlencode(params)}" if params else path
