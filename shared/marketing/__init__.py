"""Marketing lists <-> address books: the connector's core sync, shared pieces."""
