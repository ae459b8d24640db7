"""MarketingPreferences: the two-way sync of an email account's marketing preferences with
the contacts, leads and accounts that have ever been in its email-activated marketing lists."""
