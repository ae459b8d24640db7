"""Evaluates the small part of Bicep's expression language main.bicep uses, for given parameters.

pycep parses expressions but does not evaluate them, and checkov reads only literals. The
network and alert choices depend on parameters (`publicNetworkAccess == 'Disabled' ? ...`), so
the tests evaluate them here for each choice. What is not a value at deployment start (a
resource's `.id`, `resourceId(...)`) stays symbolic: `"appSubnet.id"`.
"""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]


class Unsupported(Exception):
    """An expression this evaluator does not know; the test should say so, not guess."""


class Evaluator:
    def __init__(self, doc: Doc, **parameters: Any) -> None:
        unknown = parameters.keys() - doc["parameters"].keys()
        assert not unknown, f"not parameters of the template: {sorted(unknown)}"
        self.doc = doc
        self.values: dict[str, Any] = {}
        for name, parameter in doc["parameters"].items():
            if name in parameters:
                self.values[name] = parameters[name]
            elif isinstance(parameter["default"], (str, int, bool, list)):
                self.values[name] = parameter["default"]

    def __call__(self, value: Any, scope: dict[str, Any] | None = None) -> Any:
        scope = scope or {}
        if isinstance(value, str):
            return self._name(value, scope)
        if isinstance(value, (bool, int)) or value is None:
            return value
        if isinstance(value, list):
            return [self(item, scope) for item in value]
        if "loop_type" in value:
            return self._loop(value, scope)
        if "operator" in value and isinstance(value["operator"], dict):
            return self._operator(value["operator"], scope)
        if "function" in value and isinstance(value["function"], dict):
            return self._function(value["function"], scope)
        return {key: self(item, scope) for key, item in value.items()}

    def deployed(self, resource: Doc) -> bool:
        """Whether a resource's `if (...)` holds (a resource without one always deploys)."""
        config = resource["config"]
        wrapped = "loop_type" in config or ("condition" in config and "config" in config)
        condition = config.get("condition") if wrapped else None
        return True if condition is None else bool(self(condition))

    def _name(self, name: str, scope: dict[str, Any]) -> Any:
        # pycep gives identifiers and string literals alike as strings: a name in scope is
        # taken as that name, anything else as a literal.
        if name in scope:
            return scope[name]
        if name in self.values:
            return self.values[name]
        if name in self.doc.get("variables", {}):
            return self(self.doc["variables"][name]["value"], scope)
        # A parameter with a computed default (resourceGroup().location) stays its name.
        return name

    def _loop(self, value: Doc, scope: dict[str, Any]) -> list[Any]:
        loop = value["loop_type"]
        if loop["type"] != "array":
            raise Unsupported(f"loop {loop['type']}")
        items = self(loop["detail"]["array_name"], scope)
        result = []
        for item in items:
            inner = {**scope, loop["detail"]["item_name"]: item}
            if value.get("condition") is None or self(value["condition"], inner):
                result.append(self(value["config"], inner))
        return result

    def _operator(self, operator: Doc, scope: dict[str, Any]) -> Any:
        kind, operands = operator["type"], operator["operands"]
        if kind == "property_accessor":
            return f"{self._symbol(operands['operand_1'])}.{self._symbol(operands['operand_2'])}"
        if kind == "conditional":
            branch = "true_value" if self(operands["condition"], scope) else "false_value"
            return self(operands[branch], scope)
        if kind == "not":
            return not self(operands["bool_value"], scope)
        left, right = self(operands["operand_1"], scope), self(operands["operand_2"], scope)
        if kind == "equals":
            return left == right
        if kind == "not_equals":
            return left != right
        if kind == "and":
            return bool(left and right)
        if kind == "or":
            return bool(left or right)
        if kind == "multiply":
            return left * right
        raise Unsupported(f"operator {kind}")

    def _symbol(self, operand: Any) -> str:
        if isinstance(operand, str):
            return operand
        accessor = operand.get("operator", {})
        if accessor.get("type") == "property_accessor":
            return str(self._operator(accessor, {}))
        if "function" in operand:  # subscription().tenantId
            return f"{operand['function']['type']}()"
        raise Unsupported(f"accessor over {operand!r}")

    def _function(self, function: Doc, scope: dict[str, Any]) -> Any:
        kind, parameters = function["type"], function["parameters"]
        if kind == "empty":
            return len(self(parameters["item_to_test"], scope)) == 0
        raise Unsupported(f"function {kind}")
