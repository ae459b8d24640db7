"""Ingress, Dynamics -> Adobe Campaign: ProfileIngress (contacts -> profiles keyed by
externalId = contactid) and CustomEntityIngress (each other mapped table -> its `cus`
resource, keyed by its CRM-id column), one engine declared twice (`sync_type`)."""
