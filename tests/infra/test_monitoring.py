"""What an operator is told: alerts to one action group, and every resource's logs in one place.

The template is parsed offline (pycep) and its expressions evaluated for the parameters that
matter (tests/infra/bicep_eval.py). The failed-runs alert is checked against the log lines the
worker really writes, so a change of wording there cannot silence it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pycep import BicepParser

from tests.infra.bicep_eval import Evaluator
from tests.infra.test_bicep import (
    KEY_VAULT,
    MAIN,
    ROOT,
    SB_NAMESPACE,
    STORAGE,
    Doc,
    accessor,
    body,
    only,
    resolve,
    resources_of_type,
)

DIAGNOSTIC_SETTING = "Microsoft.Insights/diagnosticSettings"
METRIC_ALERT = "Microsoft.Insights/metricAlerts"
LOG_ALERT = "Microsoft.Insights/scheduledQueryRules"
ACTION_GROUP = "Microsoft.Insights/actionGroups"
WORKER = ROOT / "shared" / "pipeline" / "worker.py"

# The worker's log lines (format strings) for a run that ended Failed.
FAILED_RUN_LINES = {"Run %s failed: %s", "Run %s crashed"}


@pytest.fixture(scope="module")
def main() -> Doc:
    return BicepParser().parse(file_path=MAIN)


def metric_criteria(alert: Doc) -> list[Doc]:
    criteria = alert["properties"]["criteria"]
    # pycep keeps the quotes of a quoted key ('odata.type').
    kind = criteria.get("odata.type", criteria.get("'odata.type'"))
    assert kind == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    result: list[Doc] = criteria["allOf"]
    return result


def metric_alerts(main: Doc) -> dict[str, Doc]:
    return {symbol: body(r) for symbol, r in resources_of_type(main, METRIC_ALERT).items()}


def alert_on(main: Doc, scope_type: str, metric: str) -> tuple[Doc, Doc]:
    """The one metric alert on `metric` of the resource of `scope_type`, and its criterion."""
    found = []
    for alert in metric_alerts(main).values():
        [scope] = alert["properties"]["scopes"]
        target = accessor(scope)
        assert target and target[1] == "id", scope
        if main["resources"][target[0]]["type"] != scope_type:
            continue
        found += [(alert, c) for c in metric_criteria(alert) if c["metricName"] == metric]
    assert len(found) == 1, f"expected one alert on {metric} of {scope_type}, found {len(found)}"
    return found[0]


def fires_on_any(criterion: Doc) -> None:
    assert criterion["operator"] == "GreaterThan"
    assert criterion["threshold"] == 0


# -- diagnostic settings -------------------------------------------------------------------


def test_every_resource_sends_its_logs_and_metrics_to_the_workspace(main: Doc) -> None:
    workspace_symbol, _ = only(main, "Microsoft.OperationalInsights/workspaces")
    covered: dict[str, Doc] = {}
    for symbol, resource in resources_of_type(main, DIAGNOSTIC_SETTING).items():
        setting = body(resource)
        assert accessor(setting["properties"]["workspaceId"]) == [workspace_symbol, "id"], symbol
        assert setting["scope"] not in covered, f"{setting['scope']} has two settings"
        covered[setting["scope"]] = setting["properties"]

    def setting_of(type_: str) -> Doc:
        [symbol] = [s for s in covered if main["resources"][s]["type"] == type_]
        return covered[symbol]

    # Resources with logs send all of them; the storage account itself has metrics only.
    for type_ in [
        f"{STORAGE}/blobServices",
        f"{STORAGE}/queueServices",
        f"{STORAGE}/tableServices",
        SB_NAMESPACE,
        KEY_VAULT,
        "Microsoft.Web/sites",
    ]:
        properties = setting_of(type_)
        assert {"categoryGroup": "allLogs", "enabled": True} in properties["logs"], type_
        assert properties["metrics"], type_
    assert setting_of(STORAGE)["metrics"] == [{"category": "Transaction", "enabled": True}]


# -- alerts ----------------------------------------------------------------------------------


def test_dead_letters_of_the_sync_queue_alert(main: Doc) -> None:
    _, criterion = alert_on(main, SB_NAMESPACE, "DeadletteredMessages")
    fires_on_any(criterion)
    _, queue = only(main, f"{SB_NAMESPACE}/queues")
    [dimension] = criterion["dimensions"]
    assert dimension["name"] == "EntityName" and dimension["operator"] == "Include"
    assert [resolve(main, value) for value in dimension["values"]] == [resolve(main, queue["name"])]
    # A gauge: the largest count in the window, so one message waiting is enough.
    assert criterion["timeAggregation"] == "Maximum"


def test_service_bus_throttling_alerts(main: Doc) -> None:
    _, criterion = alert_on(main, SB_NAMESPACE, "ThrottledRequests")
    fires_on_any(criterion)
    assert criterion["timeAggregation"] == "Total"


def test_function_errors_alert(main: Doc) -> None:
    _, criterion = alert_on(main, "Microsoft.Insights/components", "requests/failed")
    fires_on_any(criterion)
    assert criterion["metricNamespace"] == "microsoft.insights/components"


def failed_runs_pattern(main: Doc) -> re.Pattern[str]:
    [(_, rule)] = resources_of_type(main, LOG_ALERT).items()
    [criterion] = body(rule)["properties"]["criteria"]["allOf"]
    fires_on_any(criterion)
    query = resolve(main, criterion["query"]).replace("\\\\", "\\")  # Bicep's '\\' is one '\'
    match = re.fullmatch(r'traces \| where message matches regex @"(?P<regex>[^"]+)"', query)
    assert match, f"unexpected query: {query}"
    return re.compile(match["regex"])


def worker_run_lines() -> set[str]:
    source = WORKER.read_text()
    return set(re.findall(r'log\.\w+\(\s*"(Run %s[^"]*)"', source))


def render(line: str) -> str:
    values: list[Any] = ["3f2a-run", "Dotdigital refused the credentials", 4]
    return re.sub(r"%[sd]", lambda m: str(values.pop(0)) if values else "x", line)


def test_failed_runs_alert_matches_the_worker_lines_of_a_failed_run_only(main: Doc) -> None:
    pattern = failed_runs_pattern(main)
    lines = worker_run_lines()
    assert lines >= FAILED_RUN_LINES, f"the worker no longer logs {FAILED_RUN_LINES - lines}"
    assert len(lines) > len(FAILED_RUN_LINES)  # the others (paused, retrying, dropped) too
    for line in lines:
        assert bool(pattern.search(render(line))) == (line in FAILED_RUN_LINES), line


def test_alerts_notify_the_given_action_group_or_a_created_one(main: Doc) -> None:
    alerts = [body(r) for r in resources_of_type(main, METRIC_ALERT).values()]
    [log_alert] = [body(r) for r in resources_of_type(main, LOG_ALERT).values()]
    assert len(alerts) == 3
    group_symbol, group = next(iter(resources_of_type(main, ACTION_GROUP).items()))

    for given, expected in [
        ("", f"{group_symbol}.id"),
        ("/subscriptions/x/ag", "/subscriptions/x/ag"),
    ]:
        evaluate = Evaluator(main, actionGroupId=given)
        assert evaluate.deployed(group) == (given == "")
        for alert in alerts:
            assert evaluate(alert["properties"]["actions"]) == [{"actionGroupId": expected}]
            assert alert["properties"]["enabled"] is True
        assert evaluate(log_alert["properties"]["actions"]) == {"actionGroups": [expected]}

    # The created group mails each address given.
    evaluate = Evaluator(main, alertEmails=["ops@example.com", "oncall@example.com"])
    receivers = body(group)["properties"]["emailReceivers"]
    loop = receivers["loop_type"]["detail"]
    assert evaluate(loop["array_name"]) == ["ops@example.com", "oncall@example.com"]
    assert receivers["config"]["emailAddress"] == loop["item_name"]
