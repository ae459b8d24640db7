"""Azure Table Storage repositories. Every partition key starts with the account id."""
