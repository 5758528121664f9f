"""Async twins (DESIGN §3): the ``a``-prefixed bridge from an event loop to a sync call.

The store is sync (STYLE habit 12), so every store-touching method of ``Corral``, the
handles and tasks gets a twin that runs the very same method in a thread: one line per
twin (``acancel = twins.async_twin(cancel)``), so no rule is written twice. Waiting is
the exception (``wait_async``): it must not hold a thread per waiter.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")


def async_twin(method: Callable[Concatenate[S, P], R]
               ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """The async twin of a store-touching method (Django's ``a`` prefix): the same call,
    run in a thread so the caller's event loop never blocks; same arguments, result and
    errors, and the same static types (an ``@overload``-ed method's twin keeps every
    overload). A method taking ``**kwargs`` marks ``self`` positional-only
    (``def m(self, /, ...)``), or mypy refuses it here."""

    @functools.wraps(method)
    async def twin(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self, *args, **kwargs)

    owner, _, name = method.__qualname__.rpartition(".")
    twin.__name__ = f"a{method.__name__}"
    twin.__qualname__ = f"{owner}.a{name}" if owner else f"a{name}"
    twin.__doc__ = f"``{method.__name__}`` without blocking the event loop (in a thread)."
    return twin
