"""DataLabels: platform contact data fields <-> email data labels, both ways.

New Dotdigital data fields become labels; labels created on our side become Dotdigital data
fields (private unless set otherwise, with their default value). A label the platform refuses
is counted as failed with the product's message, and the rest carry on (Completed With Errors).
"""

from __future__ import annotations

from shared.accounts import Platform
from shared.audit import AuditStatus, Counts, Messages
from shared.clients.dotdigital.client import DotdigitalClient
from shared.engine import Cursor, Direction, Run, SyncDeclaration, SyncResult, SyncTypeTemplate
from shared.errors import ApiError
from shared.storage.data_labels_repo import DataLabel, LabelOrigin, LabelType, label_key
from shared.sync_types import SyncType

CUSTOM_FIELD_LIMIT = 394  # "For an Enterprise account you can have up to 394 custom ... fields"
# Fields every Dotdigital account has; they do not count towards the custom-field limit.
DEFAULT_FIELDS = frozenset(
    {"ADDRESS", "FIRSTNAME", "FULLNAME", "GENDER", "LASTNAME", "LASTSUBSCRIBED", "POSTCODE"}
)
_ERROR_MESSAGES = {
    "ERROR_NON_UNIQUE_DATAFIELD": Messages.NON_UNIQUE_DATAFIELD,
    "ERROR_DATAFIELD_INVALID": Messages.DATAFIELD_INVALID,
}


def _label_type(value: str) -> LabelType:
    try:
        return LabelType(value)
    except ValueError:
        return LabelType.STRING


class DataLabelsCursor(Cursor):
    """One unit of work: the labels are few (at most a few hundred fields per account)."""


class DataLabels(SyncTypeTemplate[DataLabelsCursor]):
    declaration = SyncDeclaration(
        SyncType.DATA_LABELS,
        frozenset({Platform.DOTDIGITAL}),
        Direction.BOTH,
        summary="platform data fields <-> email data labels",
    )
    cursor_model = DataLabelsCursor

    def start(self, run: Run[DataLabelsCursor]) -> DataLabelsCursor:
        return DataLabelsCursor()

    def run(self, run: Run[DataLabelsCursor]) -> SyncResult:  # one unit: nothing to resume
        account_id = run.account.account_id
        platform = run.platform(DotdigitalClient)
        repo = run.services.data_labels
        fields = platform.list_data_fields()
        labels = {label_key(label.name): label for label in repo.for_account(account_id)}
        counts = Counts(read=len(fields))

        for data_field in fields:
            key = label_key(data_field.name)
            label = labels.get(key)
            incoming = DataLabel(
                name=data_field.name,
                type=_label_type(data_field.type),
                is_private=data_field.visibility != "Public",
                default_value=data_field.default_value,
                description=label.description if label else "",
                origin=label.origin if label else LabelOrigin.PLATFORM,
                is_synchronised=True,
                created_utc=label.created_utc if label else None,
            )
            if label is None:
                counts.created += 1
            elif label != incoming:
                counts.updated += 1
            else:
                continue
            repo.save(account_id, incoming)
            labels[key] = incoming

        on_platform = {label_key(f.name) for f in fields}
        custom = sum(1 for key in on_platform if key not in DEFAULT_FIELDS)
        errors: list[str] = []
        pushed = 0
        for key, label in sorted(labels.items()):
            if key in on_platform or label.is_synchronised:
                continue
            message = ""
            if custom >= CUSTOM_FIELD_LIMIT:
                message = Messages.DATAFIELD_LIMIT.format(label.name, CUSTOM_FIELD_LIMIT)
            else:
                try:
                    platform.create_data_field(
                        label.name,
                        label.type.value,
                        visibility="Private" if label.is_private else "Public",
                        default_value=label.default_value,
                    )
                except ApiError as error:
                    if error.code == "ERROR_DATAFIELD_LIMITEXCEEDED":
                        message = Messages.DATAFIELD_LIMIT.format(label.name, custom)
                    else:
                        template = _ERROR_MESSAGES.get(error.code or "", Messages.DATAFIELD_INVALID)
                        message = template.format(label.name)
            if message:
                errors.append(message)
                counts.failed += 1
                repo.save(account_id, label.model_copy(update={"last_error": message}))
            else:
                pushed += 1
                custom += 1
                counts.created += 1
                repo.save(
                    account_id,
                    label.model_copy(update={"is_synchronised": True, "last_error": ""}),
                )

        run.counts += counts
        if not errors:
            return SyncResult(message=f"{pushed} data labels created in Dotdigital")
        # A refused label is that label's error, not the sync's: the run read the platform's
        # fields and did the rest. Failed (which holds back the marketing list sync, see
        # DATA_LABELS_GATE) is left to runs that could not sync at all (credentials, an API down).
        return SyncResult(status=AuditStatus.COMPLETED_WITH_ERRORS, message="; ".join(errors))
