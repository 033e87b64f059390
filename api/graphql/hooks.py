"""Schema extensions' hooks looked up once per extension class, not at every request.

For each phase of each request (operation, parsing, validation, execution), Strawberry's
`SchemaExtensionsRunner` builds a context manager that looks up every extension's hook for that
phase: `inspect` checks whether it is a generator, then `contextlib.contextmanager` decorates
the method bound to the extension (`functools.wraps` copying its attributes). That was a tenth
of a small operation's time in-process (`Client.get_artifact_version`), every time for the
same class and the same method.

`LeanExtensionsRunner` hands out the same context managers with that lookup cached per
(extension class, hook): a generator or async generator hook is decorated once, unbound, and
called with the extension, which is what the bound method's decoration does. Hooks of any other
kind (plain functions, coroutines) take Strawberry's own lookup. The phases run as before:
entered in the extensions' order, exited through Strawberry's exit stacks.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any, Literal

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

# (extension class, hook name) -> (the hook as a context manager factory taking the extension,
# whether it is async); None: the class does not define the hook; "general": Strawberry's lookup.
_Found = tuple[Callable[..., Any], bool] | Literal["general"] | None
_HOOKS: dict[tuple[type[Any], str], _Found] = {}


class _CachedHooks(ExtensionContextManagerBase):
    __slots__ = ()

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        key = (type(extension), self.HOOK_NAME)
        try:
            found = _HOOKS[key]
        except KeyError:
            found = _HOOKS[key] = _discover(type(extension), self.HOOK_NAME)
        if found is None:
            return None
        if found == "general":
            return super().get_hook(extension)
        factory, is_async = found
        return WrappedHook(extension, functools.partial(factory, extension), is_async)


def _discover(cls: type[Any], name: str) -> _Found:
    hook = getattr(cls, name)
    if hook is getattr(SchemaExtension, name):
        return None
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    return "general"


class _Operation(_CachedHooks, OperationContextManager):
    __slots__ = ()


class _Validation(_CachedHooks, ValidationContextManager):
    __slots__ = ()


class _Parsing(_CachedHooks, ParsingContextManager):
    __slots__ = ()


class _Executing(_CachedHooks, ExecutingContextManager):
    __slots__ = ()


class LeanExtensionsRunner(SchemaExtensionsRunner):
    """Strawberry's runner, its phases' hooks looked up once per extension class."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
