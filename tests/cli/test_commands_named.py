"""Every command the product names in its text (messages, help, docstrings: each string literal
of shared/) exists, with the options it names and no more arguments than it takes, so a message
never sends an operator to a command that is not there."""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from shared.azurite import PROJECT_ROOT
from shared.cli.app import app

SHARED = PROJECT_ROOT / "shared"
BACKTICKED = re.compile(r"`([^`\n]+)`")
# A command line shown without backticks, e.g. "In another terminal: python -m shared audit".
RUN_LINE = re.compile(r"(?:\.venv/bin/)?python -m shared ([^`\n);,]+?)(?=[`\n);,]|\.\s|\.?$)")
PREFIX = re.compile(r"^(?:\.venv/bin/)?python -m shared\s+")
PLACEHOLDER = "X"  # what an f-string's {value} reads as: an argument's value
ELIDED = ("...", "…")


def _root() -> TyperGroup:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    return root


ROOT = _root()
MAKE_TARGETS = set(
    re.findall(r"^([a-z][\w-]*):", (PROJECT_ROOT / "Makefile").read_text(), flags=re.MULTILINE)
)


def literals(path: Path) -> Iterator[tuple[int, str]]:
    """Each string literal with its line; an f-string whole, its values as PLACEHOLDER."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parts_of_fstrings = {
        id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
        for value in node.values
    }  # fmt: skip
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                str(v.value) if isinstance(v, ast.Constant) else PLACEHOLDER for v in node.values
            )
            yield node.lineno, text
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in parts_of_fstrings
        ):
            yield node.lineno, node.value


def commands_in(text: str) -> set[str]:
    """The command lines a text names: backticked ones that start with one of the CLI's
    commands (or `make`), and `python -m shared ...` lines."""
    found = {PREFIX.sub("", line).strip() for line in RUN_LINE.findall(text)}
    for span in BACKTICKED.findall(text):
        span = PREFIX.sub("", span.strip())
        first = span.split(" ", 1)[0]
        if first in ROOT.commands or first == "make":
            found.add(span)
    return found


def named_commands() -> dict[str, list[str]]:
    """Each command line named in shared/, with where it is named."""
    named: dict[str, list[str]] = {}
    for path in sorted(SHARED.rglob("*.py")):
        for line, text in literals(path):
            for command in commands_in(text):
                named.setdefault(command, []).append(f"{path.relative_to(PROJECT_ROOT)}:{line}")
    return named


def problem(command_line: str) -> str | None:
    """Why `command_line` would not run as named, or None. "a b | c" names `a b` and `a c`;
    "[--x X]" is an optional part (usage syntax), checked as if given."""
    try:
        words = shlex.split(command_line)
    except ValueError:
        words = command_line.split()
    words = [w.strip("[]") for w in words if w.strip("[]")]
    if "|" in words:
        first = words.index("|") - 1
        alternatives = [w for w in words[first:] if w != "|"]
        found = (problem(shlex.join([*words[:first], w])) for w in alternatives)
        return next((p for p in found if p is not None), None)
    if words[0] == "make":
        missing = [t for t in words[1:] if "=" not in t and t not in MAKE_TARGETS]
        return f"no make target {missing[0]!r}" if missing else None
    command: object = ROOT
    path: list[str] = []
    while isinstance(command, TyperGroup) and words and not words[0].startswith("-"):
        if words[0] in ELIDED:
            return None
        sub = command.commands.get(words[0])
        if sub is None:
            return f"{' '.join(path) or 'the CLI'} has no command {words[0]!r}"
        path.append(words.pop(0))
        command = sub
    if isinstance(command, TyperGroup):  # a group by name, or its --help
        return f"`{' '.join(path)}` needs a command" if words not in ([], ["--help"]) else None
    assert isinstance(command, TyperCommand)
    options = {
        name: param for param in command.params if isinstance(param, TyperOption)
        for name in (*param.opts, *param.secondary_opts)
    }  # fmt: skip
    takes = sum(p.nargs for p in command.params if isinstance(p, TyperArgument))
    given = 0
    index = 0
    while index < len(words):
        word = words[index]
        if word in ELIDED:
            return None  # the rest is left to the reader
        if word.startswith("--") or (word.startswith("-") and len(word) == 2):
            name = word.split("=", 1)[0]
            option = options.get(name)
            if option is None and name != "--help":
                return f"`{' '.join(path)}` has no option {name}"
            if option is not None and not option.is_flag and "=" not in word:
                index += 1  # its value
        else:
            given += 1
        index += 1
    if given > takes:
        return f"`{' '.join(path)}` takes {takes} argument(s), not {given}"
    return None


def test_every_command_the_product_names_exists() -> None:
    named = named_commands()
    problems = [
        f"{where[0]}: `{command}`: {why}"
        for command, where in sorted(named.items())
        if (why := problem(command)) is not None
    ]
    assert problems == []


def test_the_check_reads_the_products_messages_and_catches_a_wrong_command() -> None:
    named = named_commands()
    # Some the product names today, from f-strings, help texts and `python -m shared` lines.
    assert "mappings delete X X --entity X" in named
    assert "accounts test X" in named
    assert "dataverse provision" in named
    assert len(named) >= 15
    assert problem("mappings edit acme COMPANY") == "mappings has no command 'edit'"
    assert problem("labels delete acme A B") == "`labels delete` takes 2 argument(s), not 3"
    assert problem("audit acme --sync-type DataLabels --from 2026-11-20") == (
        "`audit` has no option --from"
    )
    assert problem("make nosuch") == "no make target 'nosuch'"
    assert problem("schedule set acme CrmMetadata --interval ...") is None
    assert problem("reconcile ACCOUNT [--list NAME]") is None
    assert problem("reconcile ACCOUNT [--lists NAME]") == "`reconcile` has no option --lists"
