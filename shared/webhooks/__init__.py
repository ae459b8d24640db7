"""Dataverse webhooks: the RemoteExecutionContext a service endpoint posts, read into one
normalized `ChangeEvent`, the endpoint's key check, and what each event asks the sync to do."""
