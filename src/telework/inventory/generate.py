"""Synthetic inventories of any size, for tests, benchmarks and the sample organisation.

`generate_inventory(out_dir, people, seed)` writes a complete, valid inventory of the
fictitious "Stadt Grünfelden" in the layout ops keep (organisation, networks, vpn,
telephony, people per site, endpoints per kind), with the same explanatory comments as
`inventory/sample/` - which is exactly `telework generate --people 750 --seed 1`.

Everything is derived from one `random.Random(seed)`, so a seed gives the same bytes on
every run and machine. Sizes scale with `people`: sites, number blocks, address pools,
concentrators, IGEL devices (~13 %), Linux endpoints and notebooks (~1.5 %), one desk
phone per person. The YAML is written as text (one flow mapping per person or device a
line), which keeps 50,000 people at about a second and the files greppable.

Data is German and fictitious: names with umlauts, ß and the names of people whose
families came from Turkey, Poland, Italy, Greece...; the area code 9999 and the address
ranges 198.51.100.0/24 (public, documentation) and 10.0.0.0/8 (internal) belong to no one.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import netaddr

#: The files `generate_inventory` writes, relative to the output directory (people/<site>.yml
#: are added per site). Nothing else in the directory is touched.
FIXED_FILES = (
    "organisation.yml",
    "networks.yml",
    "vpn.yml",
    "telephony.yml",
    "endpoints/igel.yml",
    "endpoints/linux.yml",
    "endpoints/notebooks.yml",
    "endpoints/desk_phones.yml",
    "inventory.py",
)

#: Where inventories find the JSON Schema: inventory/<organisation>/ beside inventory/schema/.
SCHEMA_PATH = "schema/inventory.schema.json"

SAMPLE_PEOPLE = 750
SAMPLE_SEED = 1
#: The day the sample's addresses were allocated (allocations.yml records it per address).
SAMPLE_ALLOCATED = date(2026, 11, 22)

# ---------------------------------------------------------------- reference data

ORG_NAME = "Stadt Grünfelden"
ORG_SLUG = "gruenfelden"
DOMAIN = "gruenfelden.example"
AREA_PREFIX = "+49 9999 12"  # 9999: no German area code, safe for examples

#: (id, name, postal address). The first three are the core sites; more are added with size.
CORE_SITES = [
    ("rathaus", "Rathaus", "Marktplatz 1, 99999 Grünfelden"),
    ("technisches-rathaus", "Technisches Rathaus", "Am Weißen Steinbruch 12, 99999 Grünfelden"),
    ("buergerbuero-sued", "Bürgerbüro Süd", "Südring 40, 99999 Grünfelden"),
]
EXTRA_SITES = [
    ("Bürgerbüro Nord", "Nordstraße 7"),
    ("Bauhof", "Gewerbestraße 21"),
    ("Sozialzentrum Mitte", "Lindenallee 3"),
    ("Stadtbibliothek", "Schillerplatz 2"),
    ("Volkshochschule", "Goethestraße 15"),
    ("Feuerwache Ost", "Florianweg 1"),
    ("Bürgerbüro West", "Westendstraße 88"),
    ("Jugendzentrum Löwenhof", "Löwenhof 4"),
    ("Klärwerk", "Am Mühlbach 30"),
    ("Stadtarchiv", "Klosterhof 6"),
    ("Friedhofsverwaltung", "Friedhofstraße 2"),
    ("Musikschule", "Händelstraße 9"),
    ("Gesundheitsamt", "Kurfürstenstraße 55"),
    ("Jobcenter", "Bahnhofstraße 17"),
    ("Straßenverkehrsamt", "Zulassungsweg 1"),
    ("Stadtwerke Verwaltung", "Energieplatz 1"),
    ("Grünflächenamt", "Parkstraße 44"),
    ("Bürgerbüro Ost", "Oststraße 12"),
]

#: Internal networks at the core sites that departments reach over the VPN:
#: (name, site index, third octet, description). Their /24 lies in the site's 10.<20+i>.0.0/16.
APP_NETWORKS = [
    ("fileserver", 0, 1, "file servers: home drives and department shares"),
    ("intranet", 0, 2, "intranet, mail and groupware"),
    ("fv-finanzen", 0, 10, "Fachverfahren Finanzen: budget, accounting, city treasury"),
    ("fv-einwohner", 0, 11, "Fachverfahren Einwohnerwesen: residents' and civil registry"),
    ("fv-soziales", 0, 12, "Fachverfahren Soziales: social benefits and youth welfare"),
    ("fv-personal", 0, 13, "Fachverfahren Personal: payroll and personnel files"),
    ("gis", 1, 10, "geographic information system and geodata"),
    ("fv-bau", 1, 11, "Fachverfahren Bau: building permits"),
]
BASE_ACCESS = ["fileserver", "intranet"]


@dataclass(frozen=True)
class Dept:
    id: str
    name: str
    weight: int  # relative headcount
    home: int  # index of the core site where it sits
    access: tuple[str, ...]  # beyond BASE_ACCESS; EDV gets every site's servers and management


DEPARTMENTS = [
    Dept("hauptamt", "Hauptamt", 6, 0, ()),
    Dept("personalamt", "Personalamt", 4, 0, ("fv-personal",)),
    Dept("kaemmerei", "Kämmerei", 7, 0, ("fv-finanzen",)),
    Dept("stadtkasse", "Stadtkasse", 3, 0, ("fv-finanzen",)),
    Dept("edv", "IT/EDV", 4, 0, ()),
    Dept("rechtsamt", "Rechtsamt", 2, 0, ()),
    Dept("standesamt", "Standesamt", 3, 0, ("fv-einwohner",)),
    Dept("schulverwaltung", "Schulverwaltung", 4, 0, ()),
    Dept("kulturamt", "Amt für Kultur und Sport", 3, 0, ()),
    Dept("bauamt", "Bauamt", 7, 1, ("gis", "fv-bau")),
    Dept("stadtplanung", "Stadtplanung", 4, 1, ("gis",)),
    Dept("tiefbauamt", "Tiefbauamt", 4, 1, ("gis",)),
    Dept("umweltamt", "Umweltamt", 3, 1, ("gis",)),
    Dept("liegenschaften", "Liegenschaftsamt", 2, 1, ("gis", "fv-finanzen")),
    Dept("buergeramt", "Bürgeramt", 9, 2, ("fv-einwohner",)),
    Dept("ordnungsamt", "Ordnungsamt", 7, 0, ("fv-einwohner",)),
    Dept("sozialamt", "Sozialamt", 9, 2, ("fv-soziales",)),
    Dept("jugendamt", "Jugendamt", 8, 2, ("fv-soziales",)),
]


@dataclass(frozen=True)
class NameGroup:
    """First and last names that go together, with the group's share of the staff."""

    weight: int
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    #: last-name endings that change for women (Polish Kowalski -> Kowalska, Russian Iwanow -> Iwanowa)
    feminine: tuple[tuple[str, str], ...] = ()

    def surname(self, last: str, female: bool) -> str:
        for male_end, female_end in self.feminine if female else ():
            if last.endswith(male_end):
                return last[: -len(male_end)] + female_end
        return last


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NAME_GROUPS = [
    NameGroup(
        80,
        _names("Anna Andrea Angelika Anja Annette Barbara Bärbel Birgit Brigitte Carina Christa Christiane Claudia "
               "Cornelia Dagmar Daniela Doris Elke Elisabeth Emilia Franziska Frauke Gabriele Gisela Gudrun Hannah "
               "Heike Helga Ingrid Ines Jana Janina Jessica Johanna Julia Jutta Karin Katharina Kerstin Kristin "
               "Laura Lea Lena Lisa Manuela Maren Maria Marion Martina Melanie Monika Nadine Nicole Petra Renate "
               "Sabine Sandra Silke Simone Sonja Stefanie Susanne Svenja Tanja Ulrike Ursula Ute Vanessa Yvonne "
               "Jördis Zoë Chloé Gülay"),
        _names("Alexander Andreas Bernd Björn Christian Christoph Daniel Dennis Dieter Dirk Frank Günter Hans "
               "Harald Heiko Helmut Holger Jan Jens Jörg Jürgen Kai Klaus Lars Lukas Marco Markus Martin Matthias "
               "Michael Niklas Olaf Patrick Paul Peter Ralf Rainer René Sebastian Stefan Sven Thomas Thorsten "
               "Tobias Torsten Ulrich Uwe Volker Werner Wolfgang Jörn Sönke Jöran Gerd Horst Rüdiger Noël"),
        _names("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
               "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt "
               "Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber "
               "Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther "
               "Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter "
               "Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas "
               "Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Voigt Sauer "
               "Arnold Wolff Pfeiffer Nußbaum Strauß Weißmann Größer Löffler Gößling Dürr Bäumer Fröhlich Wüst "
               "Märtens Jürgens Lüdtke Rößler Brückner Müller-Lüdenscheidt Schulze-Wöhrmann"),
    ),
    NameGroup(
        8,
        _names("Özlem Ayşe Elif Fatma Zeynep Derya Gülşen Emine Hülya Büşra Merve Şeyma"),
        _names("Mehmet Mustafa Ahmet Hüseyin Murat Emre Can Burak Oğuz Serkan Volkan Ömer"),
        _names("Şahin Yılmaz Kaya Demir Çelik Öztürk Aydın Arslan Doğan Yıldız Kılıç Koç Özdemir Güneş"),
    ),
    NameGroup(
        5,
        _names("Agnieszka Małgorzata Katarzyna Dorota Ewa Joanna Magdalena"),
        _names("Tomasz Paweł Łukasz Piotr Krzysztof Marek Michał"),
        _names("Kowalski Nowak Wiśniewski Wójcik Kamiński Lewandowski Zieliński Dąbrowski"),
        (("ski", "ska"), ("cki", "cka")),
    ),
    NameGroup(
        3,
        _names("Giulia Francesca Chiara Elena Eleni Dimitra Sofia"),
        _names("Giuseppe Luca Matteo Marco Konstantinos Giorgos Nikos"),
        _names("Rossi Russo Esposito Bianchi Romano Papadopoulos Georgiou Nikolaidis"),
    ),
    NameGroup(
        4,
        _names("Olga Swetlana Natalia Irina Jelena Ljiljana Tatjana"),
        _names("Dmitri Sergej Wladimir Aleksandar Goran Miloš Dragan"),
        _names("Iwanow Petrow Smirnow Kuznezow Jovanović Petrović Nikolić Horváth Nagy Dvořák"),
        (("ow", "owa"),),
    ),
]

# Vendor OUIs (real prefixes, random host parts): MACs stay unique within each prefix.
IGEL_OUI = "00:E0:C5"
PHONE_MODELS = [  # (model, OUI, weight)
    ("Yealink T54W", "80:5E:C0", 45),
    ("Yealink T46U", "00:15:65", 25),
    ("Snom D785", "00:04:13", 20),
    ("Snom D735", "00:04:13", 10),
]
IGEL_MODELS = [("UD3-M340C", 70), ("UD7-H850C", 30)]
IGEL_FIRMWARE = {"pilot": "12.6.0", "early": "12.6.0"}  # IGEL OS by ring; "all" is mixed below
NOTEBOOK_MODELS = ["Lenovo ThinkPad T14 Gen 4", "Lenovo ThinkPad T14s Gen 4", "Lenovo ThinkPad L14 Gen 4"]
NOTEBOOK_OUI = "8C:16:45"  # Lenovo
LINUX_PC_MODELS = ["Fujitsu Esprimo P758", "Fujitsu Esprimo Q958"]
LINUX_PC_OUI = "00:19:99"  # Fujitsu Technology Solutions


# ---------------------------------------------------------------- the generated organisation


@dataclass
class Staff:
    """One generated person before it is written out."""

    username: str
    name: str
    dept: str
    site: int
    vpn: bool
    suspended: bool
    extension: int
    extra_access: list[str] = field(default_factory=list)

    @property
    def active_vpn(self) -> bool:
        return self.vpn and not self.suspended


@dataclass
class Layout:
    """The sizes everything else follows from."""

    people: int
    sites: list[tuple[str, str, str]]
    concentrators: int
    auth_servers: int
    sip_servers: int
    igel: int
    notebooks: int
    linux: int
    ext_width: int


def _layout(people: int, concentrators: int | None = None) -> Layout:
    n_sites = 3 if people <= 1500 else min(3 + len(EXTRA_SITES) * 3, 3 + (people - 1) // 2500)
    sites = list(CORE_SITES)
    for i in range(n_sites - 3):
        name, street = EXTRA_SITES[i % len(EXTRA_SITES)]
        if i >= len(EXTRA_SITES):
            name = f"{name} {i // len(EXTRA_SITES) + 1}"
        sites.append((slugify(name), name, f"{street}, 99999 Grünfelden"))
    vpn_estimate = people * 0.9
    if concentrators is None:
        concentrators = min(9, max(2, math.ceil(vpn_estimate / 10000)))
    # Extensions: enough digits for every site's block with headroom (4 digits up to ~7,000 people).
    ext_width = 4
    while people * 1.3 + 200 * n_sites > 9 * 10 ** (ext_width - 1):
        ext_width += 1
    return Layout(
        people=people,
        sites=sites,
        concentrators=concentrators,
        auth_servers=1 if people <= 5000 else 2,
        sip_servers=1 + people // 20000,
        igel=round(people * 0.133),
        notebooks=round(people * 0.0135),
        linux=max(2, round(people * 0.0025)) if people >= 20 else min(2, people),
        ext_width=ext_width,
    )


_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ł": "l", "ø": "o", "æ": "ae",
                           "đ": "d", "œ": "oe"})


def ascii_fold(text: str) -> str:
    """German transliteration first (ü -> ue, ß -> ss), then accents dropped (ş -> s, é -> e)."""
    text = text.lower().translate(_TRANSLIT)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(text)).strip("-")


@functools.cache
def username_base(first: str, last: str) -> str:
    """jmueller for Jürgen Müller, oesahin for Özlem Şahin: first letter(s) plus last name, ASCII."""
    initial = ascii_fold(first)
    initial = initial[:2] if initial[:2] in ("ae", "oe", "ue") else initial[:1]
    return re.sub(r"[^a-z]", "", initial + ascii_fold(last))[:20]


def _weighted(rng: random.Random, items: list, weights: list[int], k: int) -> list:
    return rng.choices(items, weights=weights, k=k)


def _macs(rng: random.Random, oui: str, k: int) -> list[str]:
    return [f"{oui}:{n >> 16:02X}:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}" for n in rng.sample(range(1 << 24), k)]


def _make_people(rng: random.Random, layout: Layout) -> list[Staff]:
    n = layout.people
    n_sites = len(layout.sites)
    depts = _weighted(rng, DEPARTMENTS, [d.weight for d in DEPARTMENTS], n)
    by_id = {d.id: d for d in DEPARTMENTS}
    taken: dict[str, int] = {}
    people = []
    app_names = [a[0] for a in APP_NETWORKS]
    groups = _weighted(rng, NAME_GROUPS, [g.weight for g in NAME_GROUPS], n)
    for i, dept in enumerate(depts):
        group = groups[i]
        female = rng.random() < 0.55
        first = rng.choice(group.female if female else group.male)
        last = group.surname(rng.choice(group.last), female)
        base = username_base(first, last)
        count = taken.get(base, 0) + 1
        taken[base] = count
        username = base if count == 1 else f"{base}{count}"
        site = dept.home
        if n_sites > 3 and rng.random() < 0.5:
            site = rng.randrange(3, n_sites)
        vpn = rng.random() < 0.9
        person = Staff(username=username, name=f"{first} {last}", dept=dept.id, site=site,
                       vpn=vpn, suspended=rng.random() < 0.02, extension=0)
        if rng.random() < 0.03:  # an extra network beyond the department's, e.g. a project
            have = set(BASE_ACCESS) | set(by_id[dept.id].access)
            person.extra_access = [rng.choice([a for a in app_names if a not in have])]
        people.append(person)
    return people


def _number_blocks(layout: Layout, people: list[Staff]) -> list[tuple[str, int, int, int]]:
    """(name, site index, first, last): one block per site, sized for its people with headroom."""
    per_site = [0] * len(layout.sites)
    for p in people:
        per_site[p.site] += 1
    blocks = []
    start = 10 ** (layout.ext_width - 1)
    for i, count in enumerate(per_site):
        size = max(100, math.ceil((count * 1.25 + 10) / 100) * 100)
        blocks.append((f"{layout.sites[i][0]}", i, start, start + size - 1))
        start += size
    return blocks


def _assign_extensions(rng: random.Random, people: list[Staff], blocks) -> None:
    by_site: dict[int, list[Staff]] = {}
    for p in people:
        by_site.setdefault(p.site, []).append(p)
    for _name, site, first, last in blocks:
        members = by_site.get(site, [])
        for p, ext in zip(members, sorted(rng.sample(range(first, last + 1), len(members)))):
            p.extension = ext


def _pool_prefixlen(members: int, longest: int = 24) -> int:
    """Prefix length of a pool for `members` with a quarter headroom, at most /`longest`."""
    need = math.ceil(members * 1.25) + 3 + 16
    return min(longest, 32 - max(need - 1, 1).bit_length())


# ---------------------------------------------------------------- writing YAML as text

_PLAIN = re.compile(r"^[A-Za-zÀ-ɏ][\w .'/()-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def q(value: str) -> str:
    """A YAML scalar for `value`: plain when unambiguous in flow context, else double-quoted."""
    if _PLAIN.match(value) and value.lower() not in _RESERVED and not value.endswith(" "):
        return value
    return json.dumps(value, ensure_ascii=False)


def flow(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


def _header(what: str, rel: str, explain: str = "") -> str:
    depth = rel.count("/")
    schema = "../" * (depth + 1) + SCHEMA_PATH
    text = f"# {what}\n# yaml-language-server: $schema={schema}\n"
    if explain:
        text += "#\n" + "".join(f"# {line}".rstrip() + "\n" for line in explain.strip("\n").split("\n"))
    return text + "\n"


@dataclass
class _Org:
    layout: Layout
    people: list[Staff]
    blocks: list[tuple[str, int, int, int]]
    seed: int
    slug: str = ORG_SLUG


def _network(site: int, third: int, prefixlen: int = 24) -> netaddr.IPNetwork:
    return netaddr.IPNetwork(f"10.{20 + site}.{third}.0/{prefixlen}")


def _organisation_yml(org: _Org, command: str) -> str:
    lay = org.layout
    out = [_header(f"{ORG_NAME}: the organisation, its sites, rollout rings and departments.", "organisation.yml",
                   f"""
Generated by `{command}`;
edit freely, it is data like any other file. To start your own organisation, copy this
directory to inventory/<your-slug>/.
An inventory is every *.yml below this directory (people/, endpoints/ included): each file
holds top-level sections, list sections may be split across files. Check it with
`telework validate <this directory>`.
""")]
    out.append(f"""\
organisation:
  name: {q(ORG_NAME)}
  # Short name used in host names, UMS paths and certificates: lowercase ASCII.
  slug: {org.slug}
  domain: {DOMAIN}
  # Mailbox of the IT department, shown to users in VPN and phone set-up letters.
  contact: it-service@{DOMAIN}
  # The helpdesk printed in handover letters (telework person letter).
  helpdesk:
    phone: "+49 9999 12-1000"
    email: it-service@{DOMAIN}
    hours: Mo-Fr 7:30-16:00
  settings:
    # HTTP proxy for apt on managed hosts (e.g. http://10.20.0.5:3142); null: fetch directly.
    apt_proxy: null
    # Time zone of servers and endpoints (log times, TOTP checks need the clock right).
    timezone: Europe/Berlin
    # Days a released VPN address stays unused, so log lines keep pointing at one person.
    address_quarantine_days: 180
    # Handed to servers and endpoints; the DNS servers sit in the Rathaus server network.
    ntp_servers: [ntp1.{DOMAIN}, ntp2.{DOMAIN}]
    dns_servers: [10.20.0.53, 10.20.0.54]
    # Appended to short host names in DNS lookups (fileserver -> fileserver.{DOMAIN}).
    search_domain: {DOMAIN}

# Places where people and servers are. Every person, device, network and number block
# names its site by `id`; the id is lowercase ASCII (Bürgerbüro Süd -> buergerbuero-sued).
sites:
""")
    for sid, name, address in lay.sites:
        out.append(f"  - id: {sid}\n    name: {q(name)}\n    address: {q(address)}\n")
    out.append("""
# Changes reach servers and endpoints ring by ring, lowest `order` first. A ring that fails
# on more than `failure_threshold` of its hosts stops the rollout before the next ring.
rollout_rings:
  - name: pilot
    order: 0
    failure_threshold: 0.2
    description: IT staff and volunteers; get every change first
  - name: early
    order: 1
    failure_threshold: 0.1
    description: one or two people per department, a day after pilot
  - name: all
    order: 2
    failure_threshold: 0.05
    description: everyone else

# Departments (Ämter). `access` lists the internal networks (networks.yml) its people
# reach through the VPN; a person's `extra_access` adds to it. Everyone reaches the file
# servers and the intranet; the Fachverfahren only the departments that work with them.
departments:
""")
    edv_access = BASE_ACCESS + [f"srv-{s[0]}" for s in lay.sites] + [f"mgmt-{s[0]}" for s in lay.sites]
    for dept in DEPARTMENTS:
        access = edv_access if dept.id == "edv" else BASE_ACCESS + list(dept.access)
        out.append(f"  - id: {dept.id}\n    name: {q(dept.name)}\n")
        if dept.id == "edv":
            out.append("    # IT reaches every site's servers and management network for administration.\n")
            out.append("    access:\n" + "".join(f"      - {a}\n" for a in access))
        else:
            out.append(f"    access: [{', '.join(access)}]\n")
    return "".join(out)


def _networks_yml(org: _Org) -> str:
    lay = org.layout
    out = [_header("Internal networks per site, and the VPN address pools.", "networks.yml", """
Each site owns 10.<20 + n>.0.0/16 (rathaus 10.20, technisches-rathaus 10.21, ...). VPN pools
lie in 10.128.0.0/9, far from the 192.168.x.0/24 LANs that home routers use, so a tunnel
never collides with the network behind an employee's FRITZ!Box or Speedport.
""")]
    out.append("""\
# purpose: servers | clients | management | voice | dmz. Department `access` entries name
# networks here; servers (VPN, RADIUS, SIP) take their static address from a servers network.
networks:
""")
    apps_by_site: dict[int, list] = {}
    for name, site, third, desc in APP_NETWORKS:
        apps_by_site.setdefault(site, []).append((name, third, desc))
    for i, (sid, sname, _addr) in enumerate(lay.sites):
        out.append(f"  # {sname}\n")
        rows = [(f"srv-{sid}", _network(i, 0), "servers", f"servers at {sname}: VPN, RADIUS, SIP, DNS")]
        for name, third, desc in apps_by_site.get(i, []):
            rows.append((name, _network(i, third), "servers", desc))
        rows += [
            (f"clients-{sid}", _network(i, 64, 18), "clients", f"office PCs and thin clients at {sname}"),
            (f"voice-{sid}", _network(i, 128, 20), "voice", f"desk phones at {sname}"),
            (f"mgmt-{sid}", _network(i, 254), "management", "switches, iLO/iRMC, UPS"),
        ]
        for name, prefix, purpose, desc in rows:
            out.append(f"  - name: {name}\n    site: {sid}\n    prefix: {prefix}\n    purpose: {purpose}\n"
                       f"    gateway: {prefix.network + 1}\n    description: {q(desc)}\n")
    out.append("""
# Tunnel addresses. Each concentrator has one pool per tunnel kind: openvpn for people
# (IGEL devices and home PCs with certificate + TOTP), wireguard for managed Linux
# endpoints and notebooks. Every pool holds all members of its kind, so anyone can fail
# over to either concentrator; `telework ipam sync` records who has which address in
# allocations.yml.
address_pools:
""")
    vpn_members = sum(1 for p in org.people if p.active_vpn)
    ovpn_len = _pool_prefixlen(vpn_members, 22)
    wg_len = _pool_prefixlen(lay.notebooks + lay.linux)
    cursor = netaddr.IPAddress("10.128.0.0")
    for kind, plen in (("openvpn", ovpn_len), ("wireguard", wg_len)):
        for c in range(lay.concentrators):
            prefix = netaddr.IPNetwork(f"{cursor}/{plen}")
            conc = _conc_name(c)
            out.append("  - " + flow([("name", f"{conc}-{kind}"), ("prefix", str(prefix)), ("kind", kind),
                                      ("concentrator", conc)]) + "\n")
            cursor = netaddr.IPAddress(prefix.last + 1)
        # the next kind starts on a fresh /16, so the pools of one kind read as one range
        cursor = netaddr.IPAddress(((int(cursor) - 1 >> 16) + 1) << 16)
    return "".join(out)


def _conc_name(i: int) -> str:
    return f"vpn-{chr(ord('a') + i)}"


def _vpn_yml(org: _Org) -> str:
    lay = org.layout
    out = [_header("VPN concentrators and the RADIUS servers that check the second factor.", "vpn.yml")]
    out.append("""\
# Home-office clients connect to `public_address` (OpenVPN on udp/openvpn_port, WireGuard
# on udp/wireguard_port); `address` is the concentrator's leg in the Rathaus server network.
# Concentrators are updated one ring after the other, so one always keeps serving.
vpn_concentrators:
""")
    for c in range(lay.concentrators):
        ring = "early" if c == 0 else ("pilot" if c == 1 else "all")
        out.append(f"""\
  - name: {_conc_name(c)}
    site: rathaus
    address: 10.20.0.{11 + c}/24
    public_address: 198.51.100.{10 + c}
    auth_server: radius-{1 + c % lay.auth_servers}
    ring: {ring}
""")
    out.append("""
# RADIUS (FreeRADIUS): checks username, password and TOTP code for every VPN login.
auth_servers:
""")
    for a in range(lay.auth_servers):
        out.append(f"  - {{name: radius-{a + 1}, site: rathaus, address: 10.20.0.{21 + a}/24, ring: all}}\n")
    return "".join(out)


def _telephony_yml(org: _Org) -> str:
    lay = org.layout
    out = [_header("Telephony: the SIP servers and the city's number blocks.", "telephony.yml")]
    out.append(f"""\
# Number blocks: a person's city number (DID) is the block's `prefix` followed by the
# extension, e.g. extension '{org.blocks[0][2] + 42}' -> '{AREA_PREFIX}-{org.blocks[0][2] + 42}'.
# Extensions are unique across the city; each site has its own range.
number_blocks:
""")
    for name, site, first, last in org.blocks:
        out.append("  - " + flow([("name", name), ("site", lay.sites[site][0]), ("prefix", json.dumps(AREA_PREFIX)),
                                  ("first", str(first)), ("last", str(last))]) + "\n")
    out.append("""
# Desk phones at employees' homes register here over TLS (sips_port) and ring under the
# person's city number; `number_blocks` are the blocks whose numbers a server registers.
sip_servers:
""")
    n = lay.sip_servers
    for s in range(n):
        blocks = [b[0] for i, b in enumerate(org.blocks) if i % n == s]
        out.append(f"""\
  - name: sip-{s + 1}
    site: rathaus
    address: 10.20.0.{31 + s}/24
    public_address: 198.51.100.{20 + s}
    ring: all
    number_blocks: [{', '.join(blocks)}]
""")
    return "".join(out)


def _people_yml(org: _Org, site: int) -> str:
    sid, sname, address = org.layout.sites[site]
    rel = f"people/{sid}.yml"
    out = [_header(f"People based at {sname} ({address.split(',')[0]}), one a line, sorted by username.", rel, """
username      login for VPN, TOTP and SIP: ASCII, unique (jmueller, jmueller2, ...)
department    an id from organisation.yml; it decides the networks reached over the VPN
vpn           true: has a remote-access account (certificate, password and TOTP)
status        suspended: keeps number and addresses, but no access (leave, long illness)
extra_access  networks beyond the department's (networks.yml)
phone         extension and city number (DID) from this site's block in telephony.yml
""")]
    rows = []
    for p in sorted((p for p in org.people if p.site == site), key=lambda p: p.username):
        pairs = [("username", p.username), ("name", q(p.name)), ("department", p.dept), ("site", sid)]
        if p.suspended:
            pairs.append(("status", "suspended"))
        pairs.append(("vpn", "true" if p.vpn else "false"))
        if p.extra_access:
            pairs.append(("extra_access", "[" + ", ".join(p.extra_access) + "]"))
        pairs.append(("phone", flow([("extension", f'"{p.extension}"'),
                                     ("did", f'"{AREA_PREFIX}-{p.extension}"')])))
        rows.append(f"  - {flow(pairs)}\n")
    return "".join(out) + _list_section("people", rows)


def _list_section(name: str, rows: list[str]) -> str:
    """A list section, one item a line; `name: []` when empty (a bare `name:` would be null)."""
    return f"{name}:\n" + "".join(rows) if rows else f"{name}: []\n"


@dataclass
class _Endpoints:
    igel: list[str]
    linux: list[str]
    notebooks: list[str]
    phones: list[str]


def _endpoints(rng: random.Random, org: _Org) -> _Endpoints:
    lay = org.layout
    sites = [s[0] for s in lay.sites]
    vpn_people = [p for p in org.people if p.active_vpn]
    edv = [p for p in vpn_people if p.dept == "edv"]
    # Linux PCs belong to IT staff; notebooks to anyone on the VPN; IGEL devices to the rest.
    linux_owners = rng.sample(edv, min(lay.linux, len(edv)))
    if len(linux_owners) < lay.linux:  # a tiny inventory with too few IT staff: anyone on the VPN
        others = [p for p in vpn_people if p.dept != "edv"]
        linux_owners += rng.sample(others, min(lay.linux - len(linux_owners), len(others)))
    taken = {p.username for p in linux_owners}
    rest = [p for p in vpn_people if p.username not in taken]
    nb_owners = rng.sample(rest, min(lay.notebooks, len(rest)))
    taken |= {p.username for p in nb_owners}
    rest = [p for p in rest if p.username not in taken]
    igel_owners = rng.sample(rest, min(lay.igel, len(rest)))

    def ring() -> str:
        r = rng.random()
        return "pilot" if r < 0.05 else ("early" if r < 0.2 else "all")

    def key() -> str:
        return base64.b64encode(rng.randbytes(32)).decode()

    # IGEL: a few spares in stock per site, the rest with their owners at home.
    igel = []
    spares = max(1, len(igel_owners) // 30) if igel_owners else 0
    macs = _macs(rng, IGEL_OUI, len(igel_owners) + spares)
    serials = rng.sample(range(16 ** 7), len(macs))
    models = [m for m, _ in IGEL_MODELS]
    for i in range(len(macs)):
        owner = igel_owners[i] if i < len(igel_owners) else None
        model = _weighted(rng, models, [w for _, w in IGEL_MODELS], 1)[0]
        r = ring() if owner else "all"
        # pilot and early run the newest release; the rest mostly 12.5.1, some UD3 still on OS 11
        firmware = IGEL_FIRMWARE.get(r) or ("11.10.150" if model.startswith("UD3") and rng.random() < 0.3
                                            else "12.5.1")
        site = sites[owner.site] if owner else sites[(i - len(igel_owners)) % len(sites)]
        pairs = [("name", f"igel-{i + 1:04d}"), ("site", site)]
        if owner:
            pairs.append(("owner", owner.username))
        pairs += [("ring", r)]
        if not owner:
            pairs.append(("status", "spare"))
        prefix = "11" if model.startswith("UD3") else "17"
        pairs += [("serial", f'"{prefix}{serials[i]:07X}"'), ("mac", f'"{macs[i]}"'), ("model", model),
                  ("firmware", firmware)]
        igel.append(f"  - {flow(pairs)}\n")

    linux = []
    macs = _macs(rng, LINUX_PC_OUI, len(linux_owners))
    serials = rng.sample(range(16 ** 6), len(linux_owners))
    for i, owner in enumerate(linux_owners):
        pairs = [("name", f"linux-{i + 1:03d}"), ("site", sites[owner.site]), ("owner", owner.username),
                 ("ring", "pilot"), ("serial", f'"YM{serials[i]:06X}"'), ("mac", f'"{macs[i]}"'),
                 ("description", q(rng.choice(LINUX_PC_MODELS))), ("wireguard_public_key", key())]
        linux.append(f"  - {flow(pairs)}\n")

    notebooks = []
    macs = _macs(rng, NOTEBOOK_OUI, len(nb_owners))
    serials = rng.sample(range(16 ** 6), len(nb_owners))
    for i, owner in enumerate(nb_owners):
        pairs = [("name", f"nb-{i + 1:04d}"), ("site", sites[owner.site]), ("owner", owner.username),
                 ("ring", ring()), ("serial", f'"PF{serials[i]:06X}"'),
                 ("mac", f'"{macs[i]}"'), ("description", q(rng.choice(NOTEBOOK_MODELS))),
                 ("wireguard_public_key", key())]
        notebooks.append(f"  - {flow(pairs)}\n")

    phones = []
    with_phone = sorted(org.people, key=lambda p: p.username)  # everyone has a phone
    choice = _weighted(rng, list(range(len(PHONE_MODELS))), [m[2] for m in PHONE_MODELS], len(with_phone))
    by_oui: dict[str, list[str]] = {}
    for oui in dict.fromkeys(m[1] for m in PHONE_MODELS):
        need = sum(1 for c in choice if PHONE_MODELS[c][1] == oui)
        by_oui[oui] = _macs(rng, oui, need)
    for p, c in zip(with_phone, choice):
        model, oui, _ = PHONE_MODELS[c]
        mac = by_oui[oui].pop()
        phones.append("  - " + flow([("mac", f'"{mac}"'), ("model", model), ("owner", p.username),
                                     ("site", sites[p.site])]) + "\n")
    return _Endpoints(igel, linux, notebooks, phones)


def _ums_section(org: _Org) -> str:
    """The UMS the IGEL devices are placed in (telework.roles.igel)."""
    return f"""\
# The IGEL UMS: telework places the devices below `root` through its IMI REST API (v3),
# in <root>/<ring>/<site>, and assigns the profiles it generates (templates/igel) once an
# administrator has imported them. The password is the age secret `password_secret`.
ums:
  url: https://ums.{DOMAIN}:8443
  # In the Rathaus server network.
  address: 10.20.0.41/24
  # The CA that issued the UMS's TLS certificate (telework verifies it; never switched off):
  # the organisation's own (`telework pki init`), which also signs the VPN servers.
  ca_file: pki/ca.crt
  user: telework-imi
  password_secret: ums/imi-password
  root: {org.slug}
  # Both lists go on every ring directory; a device applies the profiles of its own IGEL OS
  # and ignores the others' (the UMS's rule for inherited profiles).
  os12_profiles: [tw-openvpn-os12, tw-screenlock-os12, tw-usb-storage-os12]
  os11_profiles: [tw-openvpn-os11, tw-rdp-os11, tw-screenlock-os11, tw-usb-storage-os11]
  # The IGEL OS versions per ring; raising a ring's version rolls it out there (pilot first).
  ring_firmware:
    pilot: [12.6.0]
    early: [12.6.0]
    all: [12.5.1, 11.10.150]
  # Commands (settings2tc, reboot) reach at most this many devices per second.
  command_rate: 2.0

"""


def _endpoint_files(eps: _Endpoints, org: _Org) -> dict[str, str]:
    return {
        "endpoints/igel.yml": _header("IGEL thin clients (IGEL OS), managed through UMS; one a line.",
                                      "endpoints/igel.yml", """
Most are at employees' homes and connect over OpenVPN as their owner. status: spare
devices are in stock at the site. `ring` decides when a firmware or profile change
reaches the device; firmware is the installed IGEL OS version.
""") + _ums_section(org) + _list_section("igel_devices", eps.igel),
        "endpoints/linux.yml": _header("Linux PCs managed with pyinfra over their WireGuard tunnel.",
                                       "endpoints/linux.yml", """
wireguard_public_key is collected from the device; its private key never leaves it.
""") + _list_section("linux_endpoints", eps.linux),
        "endpoints/notebooks.yml": _header("Notebooks (Linux) managed with pyinfra over WireGuard; one a line.",
                                           "endpoints/notebooks.yml") + _list_section("notebooks", eps.notebooks),
        "endpoints/desk_phones.yml": _header("Desk phones at employees' homes, one per person with a phone.",
                                             "endpoints/desk_phones.yml", """
Provisioned by MAC; the phone registers as its owner's extension on the SIP server.
""") + _list_section("desk_phones", eps.phones),
    }


PYINFRA_INVENTORY = '''\
"""pyinfra inventory of this organisation, read from the YAML files beside it.

    pyinfra inventory/sample/inventory.py deploy/<role>.py

Hosts are grouped by role (vpn_concentrators, auth_servers, sip_servers, linux_endpoints,
notebooks), by site (site_<id>) and by rollout ring (ring_<name>). Set TELEWORK_OVERLAY to an
overlay file (the lab writes one) to reach the hosts somewhere other than production.
"""

from telework.engine.pyinfra_inventory import pyinfra_groups as _pyinfra_groups

globals().update(_pyinfra_groups(__file__))
'''


def render_inventory(people: int, seed: int = 1, *, concentrators: int | None = None,
                     slug: str | None = None) -> dict[str, str]:
    """The generated inventory as {relative path: file text}, without touching the disk.

    `concentrators` overrides the number of VPN concentrators (default: two, one more per
    ~10,000 people with VPN access, at most nine); `slug` the organisation's short name (a lab
    per slug: two generated organisations can run their labs side by side).
    """
    if people < 1:
        raise ValueError("people must be at least 1")
    if concentrators is not None and not 1 <= concentrators <= 9:
        raise ValueError("concentrators must be between 1 and 9")
    rng = random.Random(seed)
    layout = _layout(people, concentrators)
    persons = _make_people(rng, layout)
    blocks = _number_blocks(layout, persons)
    _assign_extensions(rng, persons, blocks)
    org = _Org(layout=layout, people=persons, blocks=blocks, seed=seed, slug=slug or ORG_SLUG)
    command = f"telework generate <dir> --people {people} --seed {seed}" + (
        f" --concentrators {concentrators}" if concentrators is not None else "") + (
        f" --slug {slug}" if slug else "")
    files = {
        "organisation.yml": _organisation_yml(org, command),
        "networks.yml": _networks_yml(org),
        "vpn.yml": _vpn_yml(org),
        "telephony.yml": _telephony_yml(org),
    }
    for i, (sid, _n, _a) in enumerate(layout.sites):
        files[f"people/{sid}.yml"] = _people_yml(org, i)
    files.update(_endpoint_files(_endpoints(rng, org), org))
    files["inventory.py"] = PYINFRA_INVENTORY
    return files


def generate_inventory(out_dir: Path, people: int, seed: int = 1, today: date | None = None, *,
                       concentrators: int | None = None, slug: str | None = None) -> None:
    """Write a synthetic inventory of `people` people into `out_dir` (created if needed).

    Only the generated files are written; anything else in `out_dir` (secrets/) is left
    alone, except people/*.yml of sites a previous, larger run made (they would name sites
    that no longer exist). allocations.yml is made afresh, as `telework ipam sync` hands out
    addresses on `today` to a new organisation (a regenerated inventory is a new synthetic
    organisation: its predecessor's quarantine means nothing), so the result is ready to
    deploy. The same `people`, `seed` and `today` give the same bytes.
    """
    out_dir = Path(out_dir)
    files = render_inventory(people, seed, concentrators=concentrators, slug=slug)
    for stale in sorted((out_dir / "people").glob("*.yml")):
        if f"people/{stale.name}" not in files:
            stale.unlink()
    for rel, text in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _allocate(out_dir, today or date.today())


def _allocate(out_dir: Path, today: date) -> None:
    """Record every member's tunnel address, as `telework ipam sync` does for a new organisation."""
    from telework.inventory.loading import (
        load_inventory,  # local: the generator itself needs no inventory code
    )
    from telework.ipam.allocations import Allocations, allocations_path, sync

    loaded = load_inventory(out_dir, check=False)
    path = allocations_path(out_dir)
    sync(loaded.model, Allocations(), today).allocations.save(path)
