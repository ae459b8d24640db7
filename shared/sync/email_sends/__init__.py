"""Email sends from Dynamics: a CRM user's Email Send row (a synced email campaign, an
email-activated marketing list) becomes the list's sync, then the campaign's send to the list's
address book, then the row's outcome.

| module | what |
|---|---|
| `sync_type` | the EmailSends sync type: plan, one send after another, the run's result |
| `one_send` | one send's stages: checks, the list's sync, the send, the record |
| `rows` | the `dms_emailsend` and `dms_emailcampaign` rows: read, move on |
"""
