"""The operator console: server-rendered pages over the admin API (`shared/api`), reached only
through its HTTP interface, served by the function app at /api/console/."""
