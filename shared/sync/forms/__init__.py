"""Forms: pages and forms (surveys), their questions, options, responses and answers, from the
platform into the connector's form tables in Dynamics (`sync_type`, `pages`, `rows`)."""
