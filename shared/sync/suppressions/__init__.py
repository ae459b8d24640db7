"""SuppressionLists: the platform's suppression list and the CRM suppression list (email
suppression rows, Do not Bulk Email), both ways, with resubscribes and their notes."""
