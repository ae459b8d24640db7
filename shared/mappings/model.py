"""A data mapping links an email data label to a CRM field of contact, lead or account."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from shared.errors import BadInputError, ConflictError


class MappingError(BadInputError):
    """A data mapping the product refuses; the message says what to do instead."""


class DuplicateMapping(ConflictError):
    """The account already maps this label for this entity."""


class MappingDirection(StrEnum):
    TO_PLATFORM = "ToPlatform"  # Dynamics -> Dotdigital
    TO_DYNAMICS = "ToDynamics"  # Dotdigital -> Dynamics
    BOTH = "Both"

    @property
    def to_platform(self) -> bool:
        return self is not MappingDirection.TO_DYNAMICS

    @property
    def to_dynamics(self) -> bool:
        return self is not MappingDirection.TO_PLATFORM


class MappedEntity(StrEnum):
    CONTACT = "contact"
    LEAD = "lead"
    ACCOUNT = "account"


# The contact's email address is Dotdigital's identifier, not a data field; mapping it to a
# label of this name tells the sync which CRM column holds the address.
EMAIL_LABEL = "EMAIL"


class DataMapping(BaseModel):
    label: str = Field(min_length=1, max_length=100)
    entity: MappedEntity
    primary_field: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    # A field of the record the primary (lookup) field points to, e.g. the parent account's name.
    linked_entity: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]*$")
    linked_field: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]*$")
    direction: MappingDirection = MappingDirection.TO_PLATFORM
    is_default: bool = False

    @model_validator(mode="after")
    def _linked_pair(self) -> DataMapping:
        if (self.linked_entity is None) != (self.linked_field is None):
            # Not a ValueError: it leaves DataMapping(...) as itself, one line, not wrapped.
            raise MappingError("A linked CRM field needs both the linked entity and its field.")
        return self

    @property
    def describe(self) -> str:
        source = f"{self.entity.value}.{self.primary_field}"
        if self.linked_field:
            source += f" -> {self.linked_entity}.{self.linked_field}"
        return f"{self.label} <-> {source} ({self.direction.value})"


def default_mappings() -> list[DataMapping]:
    """What provisioning creates: Email, First Name, Full Name, Last Name for contacts and leads."""
    fields = (
        (EMAIL_LABEL, "emailaddress1"),
        ("FIRSTNAME", "firstname"),
        ("FULLNAME", "fullname"),
        ("LASTNAME", "lastname"),
    )
    return [
        DataMapping(label=label, entity=entity, primary_field=field, is_default=True)
        for entity in (MappedEntity.CONTACT, MappedEntity.LEAD)
        for label, field in fields
    ]
