"""The error tree: every product error has one category, and every category has a handling."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import shared
from shared import errors
from shared.errors import (
    HANDLING,
    Category,
    ConflictError,
    FatalError,
    OutcomeUnknown,
    RetriableError,
    SyncError,
    category_of,
    handling,
)


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in the product's modules, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(shared.__path__, "shared."):
        if module_info.name.endswith("__main__"):
            continue  # running it starts the CLI
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


EXCEPTIONS = _exception_classes()
# The base has no category of its own (it cannot be raised): every class below it has one.
PRODUCT_ERRORS = {
    name: cls
    for name, cls in EXCEPTIONS.items()
    if issubclass(cls, SyncError) and cls is not SyncError
}


def test_the_tree_is_found() -> None:
    names = {cls.__name__ for cls in PRODUCT_ERRORS.values()}
    assert {"ScheduleError", "MappingError", "InvalidMessage", "StorageUnreachable"} <= names
    assert {"DataverseApiError", "UnsafeCampaignSendError", "AccountNotFound"} <= names


def test_every_exception_the_product_defines_is_in_the_tree() -> None:
    outside = set(EXCEPTIONS) - set(PRODUCT_ERRORS)
    # OutOfTime is a signal to the runner, not an error (a BaseException: see shared.deadline).
    assert outside == {"shared.errors.SyncError", "shared.deadline.OutOfTime"}


@pytest.mark.parametrize("name", sorted(PRODUCT_ERRORS))
def test_every_product_error_has_one_category_and_no_builtin_base(name: str) -> None:
    cls = PRODUCT_ERRORS[name]
    assert cls.category in Category
    # Not a ValueError (or any other built-in error): `except ValueError` meant for the
    # standard library must not catch product errors, nor the other way round.
    builtin = [k for k in cls.__mro__ if k.__module__ == "builtins" and k is not object]
    assert builtin == [Exception, BaseException], builtin


def test_the_drawing_in_the_docstring_shows_every_product_error() -> None:
    drawn = set(re.findall(r"[├└]── (\w+)", errors.__doc__ or ""))
    assert drawn == {cls.__name__ for cls in PRODUCT_ERRORS.values()}


def test_every_category_has_a_handling_with_its_own_exit_code() -> None:
    assert set(HANDLING) == set(Category)
    assert len({h.exit_code for h in HANDLING.values()}) == len(Category)
    assert all(h.exit_code != 0 for h in HANDLING.values())
    assert len({h.http_status for h in HANDLING.values()}) == len(Category)
    assert all(400 <= h.http_status < 600 for h in HANDLING.values())


def test_a_class_cannot_mix_categories() -> None:
    with pytest.raises(TypeError, match="exactly one category"):
        type("Mixed", (RetriableError, FatalError), {})
    with pytest.raises(TypeError, match="exactly one category"):
        type("Recategorised", (FatalError,), {"category": Category.RETRIABLE})


def test_the_base_is_never_raised_itself() -> None:
    with pytest.raises(TypeError, match="category's class"):
        SyncError("which category?")


def test_an_unknown_outcome_is_never_retried_blindly() -> None:
    error = OutcomeUnknown("POST contacts got no answer")
    assert not isinstance(error, RetriableError)
    assert category_of(error) is Category.FATAL
    assert not handling(error).retry_run


def test_a_conflict_is_retried_and_anything_unexpected_is_fatal() -> None:
    assert handling(ConflictError("changed since it was read")).retry_run
    assert category_of(KeyError("x")) is Category.FATAL
    assert handling(KeyError("x")) == HANDLING[Category.FATAL]
