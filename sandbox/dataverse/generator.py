"""Deterministic sample data for the Dataverse sandbox: contacts, leads (some disqualified),
accounts and marketing lists, from a seeded RNG. Rows are loaded in bulk (one sort, one
version each), so 100,000 contacts take a second or two.

Names mix several languages; email addresses are ASCII (accents dropped) and unique
(`first.last<n>@domain`).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.dataverse.odata import iso
from sandbox.dataverse.records import MEMBER_TYPE_CODES, SANDBOX_USER_ID
from sandbox.dataverse.store import Row

if TYPE_CHECKING:
    from sandbox.dataverse.state import DataverseState


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES: tuple[str, ...] = (
    *_words(
        "Aaliyah Adam Aiko Alejandro Amara Amelia Anders Ana Andrei Anika Arjun Astrid Ben "
        "Bianca Camille Carlos Chen Chloe Daniel Diego Dmitri Elena Elif Emeka Emma Ethan "
        "Fatima Felix Freya Gabriel Grace Hannah Hiroshi Ibrahim Ines Isabel Ivan Jack James "
        "Jana Javier Jessica Jonas Jose Julia Kai Karim Katarzyna Kenji Lars Layla Leon Liam "
        "Lina Lucas Lucia Maja Marco Maria Mateo Mei Mia Mohammed Nadia Noah Nora Oliver Olga "
        "Omar Oscar Paula Pedro Priya Rafael Rania Ravi Rosa Sakura Samuel Sara Sofia Soren "
        "Tariq Thomas Tomas Valentina Victor Wei Yara Yusuf Zara Zoe"
    ),
    *("José", "Zoë", "Søren", "Björn", "Chloé", "Łukasz", "Renée", "Ólafur"),
)
LAST_NAMES: tuple[str, ...] = (
    *_words(
        "Adams Ahmed Alvarez Andersen Bauer Becker Bernard Brown Castro Chen Costa Cruz Davies "
        "Dubois Eriksson Evans Fernandez Fischer Garcia Gomez Gonzalez Hansen Hernandez "
        "Hoffmann Ito Jansen Jensen Johansson Johnson Jones Kaur Khan Kim Kowalski Kumar Larsen "
        "Lee Lopez Martin Martinez Meyer Moreau Muller Murphy Nakamura Nguyen Nielsen Novak "
        "O'Brien Okafor Olsen Park Patel Perez Petrov Popescu Ramirez Rossi Rodriguez Romano "
        "Sato Schmidt Schulz Silva Singh Smith Suzuki Tanaka Taylor Thomas Thompson Torres "
        "Wagner Walker Wang Weber Williams Wilson Wright Yamamoto Young Zhang Ziegler"
    ),
    *("Müller", "Nuñez", "Ødegaard", "Sánchez", "Dvořák", "Åberg"),
)
COMPANY_WORDS = _words(
    "Alpine Atlas Aurora Bright Blue Cedar Coastal Contoso Crescent Delta Fabrikam Fourth "
    "Granite Harbor Litware Lumen Maple Northwind Nova Orbit Pioneer Prairie Proseware "
    "Quantum Redwood Summit Tailspin Trey Vertex Wide Wingtip Woodgrove Zenith"
)
COMPANY_SUFFIXES = (
    "Coffee",
    "Consulting",
    "Foods",
    "Logistics",
    "Media",
    "Outdoor",
    "Partners",
    "Retail",
    "Software",
    "Travel",
)
CITIES = (
    ("Seattle", "United States"),
    ("Chicago", "United States"),
    ("Toronto", "Canada"),
    ("London", "United Kingdom"),
    ("Manchester", "United Kingdom"),
    ("Dublin", "Ireland"),
    ("Paris", "France"),
    ("Berlin", "Germany"),
    ("Munich", "Germany"),
    ("Madrid", "Spain"),
    ("Milan", "Italy"),
    ("Amsterdam", "Netherlands"),
    ("Copenhagen", "Denmark"),
    ("Stockholm", "Sweden"),
    ("Warsaw", "Poland"),
    ("Sydney", "Australia"),
    ("Tokyo", "Japan"),
    ("Singapore", "Singapore"),
    ("São Paulo", "Brazil"),
    ("Cape Town", "South Africa"),
)
DOMAINS = ("example.com", "example.org", "example.net", "contoso.com", "fabrikam.com")
JOB_TITLES = (
    "Marketing Manager",
    "Purchasing Manager",
    "Sales Director",
    "Owner",
    "Office Manager",
    "Software Engineer",
    "Head of Operations",
    "Account Executive",
    "CFO",
    "Coffee Master",
    None,
)
LEAD_TOPICS = (
    "Interested in the spring catalogue",
    "Webinar sign-up",
    "Asked for a quote",
    "Trade show visitor",
    "Newsletter subscriber",
    "Downloaded the whitepaper",
)


@dataclass(frozen=True)
class ListSpec:
    """A marketing list to seed: static with `size` random members of `member_type`, or
    dynamic with a FetchXML `query` (a default one when not given)."""

    name: str
    member_type: str  # contact | lead | account
    size: int = 0
    dynamic: bool = False
    query: str | None = None


@dataclass
class SeedResult:
    contacts: list[str] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    lists: dict[str, str] = field(default_factory=dict)  # name -> listid


def ascii_slug(text: str) -> str:
    text = text.translate(str.maketrans("ØøŁłÅåÆæ", "OoLlAaAa"))
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


_SLUGS = {name: ascii_slug(name) for name in (*FIRST_NAMES, *LAST_NAMES)}
_OWNER = (SANDBOX_USER_ID, "systemuser")
_V4_MASK = ~(0xF000 << 64) & ~(0xC000 << 48) & ((1 << 128) - 1)
_V4_BITS = (0x4000 << 64) | (0x8000 << 48)


def default_query(member_type: str, city: str = "Seattle") -> str:
    return (
        '<fetch version="1.0" output-format="xml-platform" mapping="logical" distinct="false">'
        f'<entity name="{member_type}"><attribute name="{member_type}id" />'
        '<filter type="and">'
        f'<condition attribute="address1_city" operator="eq" value="{city}" />'
        '<condition attribute="statecode" operator="eq" value="0" />'
        "</filter></entity></fetch>"
    )


class Generator:
    def __init__(self, state: DataverseState, rng: random.Random) -> None:
        self.state = state
        self.rng = rng
        self.now = iso(state.now())

    def _id(self) -> str:
        """A version-4 GUID from the seeded RNG (formatted by hand: uuid.UUID is slow)."""
        text = f"{self.rng.getrandbits(128) & _V4_MASK | _V4_BITS:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def _pick(self, values: Sequence[Any]) -> Any:
        return values[int(self.rng.random() * len(values))]

    def _person(self, index: int) -> dict[str, Any]:
        random_ = self.rng.random
        first = FIRST_NAMES[int(random_() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(random_() * len(LAST_NAMES))]
        city, country = CITIES[int(random_() * len(CITIES))]
        domain = DOMAINS[int(random_() * len(DOMAINS))]
        return {
            "firstname": first,
            "lastname": last,
            "fullname": f"{first} {last}",
            "emailaddress1": f"{_SLUGS[first]}.{_SLUGS[last]}{index}@{domain}",
            "jobtitle": JOB_TITLES[int(random_() * len(JOB_TITLES))],
            "telephone1": f"+1 555 {int(random_() * 10_000_000):07d}",
            "address1_city": city,
            "address1_country": country,
            "donotbulkemail": random_() < 0.08,
            "donotemail": random_() < 0.03,
            "createdon": self.now,
            "modifiedon": self.now,
            "ownerid": _OWNER,
        }

    def accounts(self, count: int) -> list[str]:
        rows = []
        for index in range(count):
            city, country = self._pick(CITIES)
            name = f"{self._pick(COMPANY_WORDS)} {self._pick(COMPANY_SUFFIXES)} {index + 1}"
            values = {
                "name": name,
                "accountnumber": f"ACC-{index + 1:06d}",
                "emailaddress1": f"info{index + 1}@{ascii_slug(name.split()[0])}.example.com",
                "telephone1": f"+1 555 {self.rng.randrange(10_000_000):07d}",
                "address1_city": city,
                "address1_country": country,
                "numberofemployees": self.rng.randrange(1, 5000),
                "donotbulkemail": False,
                "donotemail": False,
                "statecode": 0 if self.rng.random() > 0.05 else 1,
                "createdon": self.now,
                "modifiedon": self.now,
                "ownerid": _OWNER,
            }
            values["statuscode"] = 1 if values["statecode"] == 0 else 2
            rows.append(Row(self._id(), values, self.state.next_version()))
        self.state.tables["account"].bulk_load(rows)
        return [row.id for row in rows]

    def contacts(self, count: int, account_ids: Sequence[str]) -> list[str]:
        rows = []
        start = len(self.state.tables["contact"])
        for index in range(count):
            values = self._person(start + index + 1)
            active = self.rng.random() > 0.05
            values["statecode"], values["statuscode"] = (0, 1) if active else (1, 2)
            if account_ids and self.rng.random() < 0.6:
                values["parentcustomerid"] = (self._pick(account_ids), "account")
            rows.append(Row(self._id(), values, self.state.next_version()))
        self.state.tables["contact"].bulk_load(rows)
        return [row.id for row in rows]

    def leads(self, count: int, disqualified_share: float) -> list[str]:
        rows = []
        start = len(self.state.tables["lead"])
        for index in range(count):
            values = self._person(start + index + 1)
            values["subject"] = self._pick(LEAD_TOPICS)
            values["companyname"] = f"{self._pick(COMPANY_WORDS)} {self._pick(COMPANY_SUFFIXES)}"
            draw = self.rng.random()
            if draw < disqualified_share:
                values["statecode"], values["statuscode"] = 2, self._pick((4, 5, 6, 7))
            elif draw < disqualified_share + 0.1:
                values["statecode"], values["statuscode"] = 1, 3
            else:
                values["statecode"], values["statuscode"] = 0, self._pick((1, 2))
            rows.append(Row(self._id(), values, self.state.next_version()))
        self.state.tables["lead"].bulk_load(rows)
        return [row.id for row in rows]

    def marketing_list(self, spec: ListSpec, pools: dict[str, list[str]]) -> str:
        code = MEMBER_TYPE_CODES.get(spec.member_type)
        if code is None:
            raise ValueError(f"member_type is contact, lead or account, not {spec.member_type!r}")
        list_id = self._id()
        members: list[str] = []
        if not spec.dynamic and spec.size:
            pool = pools[spec.member_type] or [
                row_id for row_id in self.state.tables[spec.member_type].rows
            ]
            if spec.size > len(pool):
                raise ValueError(
                    f"list {spec.name!r} wants {spec.size} {spec.member_type}s; "
                    f"only {len(pool)} exist"
                )
            members = self.rng.sample(pool, spec.size)
        listmembers = []
        for member_id in members:
            listmember = Row(
                self._id(),
                {
                    "listid": (list_id, "list"),
                    "entityid": (member_id, spec.member_type),
                    "entitytype": spec.member_type,
                    "createdon": self.now,
                    "modifiedon": self.now,
                    "ownerid": _OWNER,
                },
                self.state.next_version(),
            )
            listmembers.append(listmember)
            self.state.membership.add(list_id, member_id, listmember.id)
        self.state.tables["listmember"].bulk_load(listmembers)
        values: dict[str, Any] = {
            "listname": spec.name,
            "type": spec.dynamic,
            "createdfromcode": code,
            "membertype": code,
            "membercount": len(members),
            "query": (spec.query or default_query(spec.member_type)) if spec.dynamic else None,
            "lockstatus": False,
            "donotsendonoptout": True,
            "ignoreinactivelistmembers": True,
            "statecode": 0,
            "statuscode": 0,
            "createdon": self.now,
            "modifiedon": self.now,
            "ownerid": _OWNER,
        }
        self.state.tables["list"].put(Row(list_id, values, self.state.next_version()))
        return list_id


def seed(
    state: DataverseState,
    *,
    contacts: int,
    leads: int,
    accounts: int,
    lists: Sequence[ListSpec | tuple[str, str, int]],
    disqualified_share: float,
    seed: int,
) -> SeedResult:
    # Its own sequence: ids must not repeat the ones the state's RNG gives new rows later.
    generator = Generator(state, random.Random(f"dataverse-sample-data-{seed}"))
    result = SeedResult()
    result.accounts = generator.accounts(accounts)
    result.contacts = generator.contacts(contacts, result.accounts)
    result.leads = generator.leads(leads, disqualified_share)
    pools = {"contact": result.contacts, "lead": result.leads, "account": result.accounts}
    for item in lists:
        spec = item if isinstance(item, ListSpec) else ListSpec(item[0], item[1], item[2])
        result.lists[spec.name] = generator.marketing_list(spec, pools)
    return result
