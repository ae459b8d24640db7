"""Marketing lists <-> address books: the whole capability.

| module | what |
|---|---|
| `two_way` | the "Two-way marketing list sync": DataIn, then DataOut |
| `data_out` (+ `list_push`, `push_*`, `values`) | email-activated lists -> address books |
| `data_in` (+ `data_in_*`) | platform changes of mapped fields -> contacts and leads |
| `address_books` (+ `book_pull`, `pull_*`) | address books -> static marketing lists |
| `snapshot_repo` (+ `snapshot_chunks`) | what was pushed, per member, packed in chunks |
| `links_repo` | which address book each list has |
"""
