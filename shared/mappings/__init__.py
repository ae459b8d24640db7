"""Data mappings: which CRM field feeds (or is fed by) which email data label."""
