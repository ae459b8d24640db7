"""EventEgress: Campaign's email events (send, open, click, hard bounce), read from the Adobe
I/O Events journal, become activities on the contact's Dynamics timeline, with follow-up tasks."""
