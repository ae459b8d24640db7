"""Marketing lists <-> address books: the whole capability.

| module | what |
|---|---|
| `two_way` | the "Two-way marketing list sync": DataIn, then DataOut |
| `data_out` (+ `list_push`, `push_*`, `values`) | email-activated lists -> address books |
| `data_in` (+ `data_in_*`) | platform changes of mapped fields -> contacts and leads |
| `address_books` (+ `book_pull`, `pull_*`) | address books -> static marketing lists |
| `snapshot_repo`, `links_repo` | what was pushed (per member) and which book each list has |
"""
