"""The changes that bring the org's webhook registration to the plan: the service endpoint
(its URL, authentication and key) and, per planned step, the step under that endpoint with its
filtering attributes, state and image. Each change is data (verb, what, a call) so a dry run can
list them and a real run apply them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from shared.clients.dataverse.plugin_registration import (
    MESSAGE_FORMAT_JSON,
    MODE_ASYNC,
    NO_TABLE,
    STAGE_POST_OPERATION,
    STATE_ENABLED,
    PluginRegistration,
    ServiceEndpoint,
    Step,
    column_list,
)
from shared.errors import FatalError
from shared.pipeline.webhook_plan import (
    ENDPOINT_NAME,
    AuthOption,
    StepPlan,
    description,
    key_check,
)


class WebhookRegistrationError(FatalError):
    """Registration cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Change:
    verb: str  # create, update, enable, delete or record
    what: str
    run: Callable[[], object]


class Differ:
    """Builds the changes that bring the org to the plan."""

    def __init__(self, api: PluginRegistration, url: str, option: AuthOption) -> None:
        self.api = api
        self.url = url
        self.option = option
        self.endpoint_id = ""

    def endpoint_changes(self, key: str) -> list[Change]:
        found = self.api.webhook_endpoints(ENDPOINT_NAME)
        option, url = self.option, self.url
        if not found:

            def create() -> None:
                self.endpoint_id = self.api.create_endpoint(
                    name=ENDPOINT_NAME,
                    url=url,
                    auth_type=option.auth_type,
                    auth_value=option.auth_value(key),
                    description=description(key),
                )

            what = f"service endpoint {ENDPOINT_NAME} (Webhook, {option.label}, {url})"
            return [Change("create", what, create)]
        endpoint = found[0]
        self.endpoint_id = endpoint.id
        changes = endpoint_diff(endpoint, url, option, key)
        if not changes:
            return []
        named = ", ".join(sorted(n for n in changes if n not in ("authvalue", "description")))
        if "authvalue" in changes:
            named = ", ".join(filter(None, [named, "key"]))
        return [
            Change(
                "update",
                f"service endpoint {ENDPOINT_NAME}: {named}",
                lambda: self.api.update_endpoint(endpoint.id, changes),
            )
        ]

    def step_changes(self, plan: list[StepPlan]) -> list[Change]:
        messages = self.api.message_ids({step.message for step in plan})
        filters: dict[tuple[str, str], str] = {}
        for message in {step.message for step in plan}:
            if message not in messages:
                raise WebhookRegistrationError(f"the org has no SDK message {message}")
            tables = {step.table for step in plan if step.message == message}
            for table, filter_id in self.api.message_filters(messages[message], tables).items():
                filters[(message, table)] = filter_id
        for step in plan:
            if step.table == NO_TABLE:
                # Associate / Disassociate: a step may also be registered without a filter.
                filters.setdefault((step.message, step.table), "")
            if (step.message, step.table) not in filters:
                raise WebhookRegistrationError(
                    f"the org cannot register {step.message} of {step.table} (no such table "
                    "or message filter): run `python -m shared dataverse provision` first"
                )
        existing: dict[tuple[str, str], list[Step]] = {}
        if self.endpoint_id:
            for found in self.api.steps(self.endpoint_id):
                existing.setdefault((found.message_id, found.filter_id), []).append(found)
        changes: list[Change] = []
        for step in plan:
            message_id, filter_id = messages[step.message], filters[(step.message, step.table)]
            matches = existing.pop((message_id, filter_id), [])
            keep = next(
                (s for s in matches if (s.mode, s.stage) == (MODE_ASYNC, STAGE_POST_OPERATION)),
                None,
            )
            for extra in matches:
                if extra is not keep:
                    changes.append(self._delete(extra, "a duplicate or not asynchronous"))
            if keep is None:
                changes.append(self._create(step, message_id, filter_id))
            else:
                changes.extend(self._align(step, keep))
        for leftovers in existing.values():
            changes.extend(self._delete(s, "no longer in the plan") for s in leftovers)
        return changes

    def _create(self, step: StepPlan, message_id: str, filter_id: str) -> Change:
        """`filter_id` "": a step without a table filter."""

        def run() -> None:
            step_id = self.api.create_step(
                name=step.name,
                description=f"{step.what}: posts the change to {ENDPOINT_NAME}.",
                message_id=message_id,
                filter_id=filter_id or None,
                endpoint_id=self.endpoint_id,
                filtering_attributes=step.filtering,
            )
            if step.image is not None:
                self.api.create_image(
                    step_id,
                    image_type=step.image.image_type,
                    alias=step.image.alias,
                    attributes=step.image.attributes,
                )

        return Change("create", f"step {step.what} ({step.details})", run)

    def _delete(self, step: Step, why: str) -> Change:
        return delete_step(self.api, step, why)

    def _align(self, step: StepPlan, found: Step) -> list[Change]:
        changes: list[Change] = []
        if found.filtering_attributes != set(step.filtering):
            value: Any = column_list(step.filtering) if step.filtering else None
            changes.append(
                Change(
                    "update",
                    f"filtering attributes of step {step.what}: "
                    f"{','.join(step.filtering) or '(all columns)'}",
                    lambda: self.api.update_step(found.id, {"filteringattributes": value}),
                )
            )
        if found.state != STATE_ENABLED:
            changes.append(
                Change("enable", f"step {step.what}", lambda: self.api.enable_step(found.id))
            )
        images = self.api.images(found.id)
        wanted = step.image
        for image in images:
            if wanted is not None and image.image_type == wanted.image_type:
                if image.attributes != set(wanted.attributes):
                    changes.append(
                        Change(
                            "update",
                            f"{wanted.alias} of step {step.what}: {','.join(wanted.attributes)}",
                            partial(self.api.set_image_attributes, image.id, wanted.attributes),
                        )
                    )
                wanted = None  # the first image of its type is the one kept
            else:
                changes.append(
                    Change(
                        "delete",
                        f"image {image.name} of step {step.what}",
                        partial(self.api.delete_image, image.id),
                    )
                )
        if wanted is not None:
            image_plan = wanted
            changes.append(
                Change(
                    "create",
                    f"{image_plan.alias} of step {step.what}: {','.join(image_plan.attributes)}",
                    lambda: self.api.create_image(
                        found.id,
                        image_type=image_plan.image_type,
                        alias=image_plan.alias,
                        attributes=image_plan.attributes,
                    ),
                )
            )
        return changes


def delete_step(api: PluginRegistration, step: Step, why: str) -> Change:
    def run() -> None:
        # Images first: whether Dataverse deletes them with the step is not documented.
        for image in api.images(step.id):
            api.delete_image(image.id)
        api.delete_step(step.id)

    return Change("delete", f"step {step.name} ({why})", run)


def endpoint_diff(
    endpoint: ServiceEndpoint, url: str, option: AuthOption, key: str
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if endpoint.url != url:
        changes["url"] = url
    if endpoint.message_format != MESSAGE_FORMAT_JSON:
        changes["messageformat"] = MESSAGE_FORMAT_JSON
    if endpoint.auth_type != option.auth_type:
        changes["authtype"] = option.auth_type
    # The key cannot be read back: its fingerprint in the description says whether it changed.
    if "authtype" in changes or f"Key check {key_check(key)}." not in endpoint.description:
        changes["authvalue"] = option.auth_value(key)
        changes["description"] = description(key)
    return changes
