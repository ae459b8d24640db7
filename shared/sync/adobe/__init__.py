"""Adobe Campaign Standard: the pure decision rules of its sync types (replacements, filters,
picklist value vs label, the opt-out decision) and the configuration's limits."""
