"""Enrolling a department, a site or everyone pending in one run, safe to interrupt.

One enrolment at a time rewrites pki/issued.yml, secrets/index.yml and crl.pem per person, so
900 people take minutes. Here the CA key is decrypted once, every person is *staged* first
and the inventory's records are written once at the end:

1. **plan**: who (people with access: active, `vpn: true`, not revoked) and which of their
   valid certificates re-enrolment revokes; `--dry-run` stops here. Everyone must hold their
   tunnel addresses, or nothing starts.
2. **stage**: per person a new key and certificate, a fresh TOTP seed encrypted to the
   inventory's recipients, and the OpenVPN bundle, all in one file
   `<out>/.enrolment/<username>.json` (0600, written whole or not at all: a person is staged
   completely or not at all). Nothing in the inventory changes yet.
3. **commit**: `.enrolment/commit` marks that everyone is staged; then one write each of
   issued.yml (new certificates, previous ones revoked as superseded), the seeds and
   index.yml, crl.pem and access/revocations.yml, and the bundles move to `<out>/`. Every
   step can run again with the same result, so a commit interrupted half-way is finished by
   the next run before anything else.

Interrupted while staging, the next run of the same command keeps the people already staged
(their certificate is issued once) and stages the rest. A staged certificate that is never
committed was never recorded nor handed out; its key is deleted with the staging.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from telework.core.atomicfile import write_atomic
from telework.inventory.loaded import LoadedInventory
from telework.inventory.loading import require_inventory
from telework.inventory.lookup import unknown_name
from telework.inventory.model import PoolKind
from telework.roles.vpn import pki
from telework.roles.vpn.enrolment import _make_private_dir, render_bundle
from telework.roles.vpn.people import AccessError, VpnPerson, vpn_people
from telework.roles.vpn.revocations import load_revocations, save_revocations
from telework.roles.vpn.secret_names import TLS_CRYPT_SECRET, totp_secret
from telework.secrets.store import SecretStore, generate

STAGING = ".enrolment"
PLAN_FILE = "plan.json"
COMMIT_MARK = "commit"


@dataclass(frozen=True)
class Selection:
    """Who to enrol: the filters are combined (a department's pending people)."""

    department: str | None = None
    site: str | None = None
    pending: bool = False

    @property
    def key(self) -> str:
        """How the plan file names the command, to resume only the same one."""
        parts = [f"--department {self.department}" if self.department else "",
                 f"--site {self.site}" if self.site else "", "--pending" if self.pending else ""]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Planned:
    username: str
    name: str
    #: serials of their valid certificates that re-enrolment revokes as superseded
    supersedes: list[str]


@dataclass
class BulkResult:
    planned: list[Planned]
    #: people enrolled by this run (committed), and those already staged by an earlier run
    enrolled: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    bundles: Path | None = None
    dry_run: bool = False


# ---------------------------------------------------------------- plan


def select(loaded: LoadedInventory, selection: Selection, now: datetime) -> list[Planned]:
    """The people `selection` names who have access, sorted by username."""
    inv = loaded.model
    if not (selection.department or selection.site or selection.pending):
        raise AccessError("say whom to enrol: --department D, --site S or --pending (or one USERNAME)")
    if selection.department and inv.department(selection.department) is None:
        raise unknown_name(loaded, "department", selection.department, (d.id for d in inv.departments))
    if selection.site and inv.site(selection.site) is None:
        raise unknown_name(loaded, "site", selection.site, (s.id for s in inv.sites))
    valid: dict[str, list[str]] = {}
    for cert in pki.load_issued(loaded.root):
        if cert.kind == "person" and cert.revoked is None and cert.not_after > now:
            valid.setdefault(cert.owner, []).append(cert.serial)
    out = []
    for person in vpn_people(loaded):
        if not person.has_access:
            continue
        if selection.department and person.department != selection.department:
            continue
        if selection.site and person.site != selection.site:
            continue
        if selection.pending and person.enrolled and valid.get(person.username):
            continue
        out.append(Planned(person.username, person.name, sorted(valid.get(person.username, []))))
    return out


def _require_addresses(loaded: LoadedInventory, people: Iterable[VpnPerson]) -> None:
    pools = {p.concentrator for p in loaded.model.address_pools if p.kind is PoolKind.openvpn}
    missing = sorted(p.username for p in people if pools - set(p.openvpn_address))
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise AccessError(f"{len(missing)} of them have no tunnel address yet ({shown}): run "
                          f"`telework ipam sync {loaded.root}`, commit allocations.yml, then enrol")


# ---------------------------------------------------------------- the run


def enroll_many(inventory_dir: str | Path, store: SecretStore, selection: Selection, out_dir: str | Path, *,
                dry_run: bool = False, now: datetime | None = None,
                progress: Callable[[int, int], None] | None = None) -> BulkResult:
    """Enrol everyone `selection` names (see the module docstring); bundles go to `out_dir`."""
    inventory_dir, out_dir = Path(inventory_dir), Path(out_dir)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    staging = out_dir / STAGING
    plan = _read_plan(staging, inventory_dir)
    if plan is not None and plan["selection"] != selection.key:
        raise AccessError(f"{staging} holds an interrupted enrolment ({plan['selection'] or 'by username'}, "
                          f"started {plan['started']}): run `telework person enroll {plan['selection']} "
                          f"{inventory_dir} --out {out_dir}` again to finish it first")
    if plan is not None and (staging / COMMIT_MARK).exists():
        if dry_run:
            return BulkResult([Planned(u, u, []) for u in plan["usernames"]], resumed=plan["usernames"],
                              dry_run=True)
        return _commit(inventory_dir, store, staging, out_dir, plan, moment, resumed=True)

    loaded = require_inventory(inventory_dir)
    planned = select(loaded, selection, moment)
    if plan is not None:  # keep who the interrupted run planned: they may be staged already
        known = {p.username for p in planned}
        planned += [Planned(u, u, []) for u in plan["usernames"] if u not in known]
        planned.sort(key=lambda p: p.username)
    people = {p.username: p for p in vpn_people(loaded)}
    _require_addresses(loaded, (people[p.username] for p in planned if p.username in people))
    if dry_run or not planned:
        return BulkResult(planned, dry_run=dry_run)

    concentrators = sorted(loaded.model.vpn_concentrators, key=lambda c: c.name)
    ca = pki.ca_pem(inventory_dir)
    for concentrator in concentrators:
        pki.server_cert_pem(inventory_dir, concentrator.name)
    server_name = pki.server_common_name(inventory_dir)
    tls_crypt = store.get(TLS_CRYPT_SECRET)
    signer = pki.ClientSigner(inventory_dir, store)
    remotes = [(str(c.public_address), c.openvpn_port) for c in concentrators]
    organisation = loaded.model.organisation.name

    _make_private_dir(out_dir)
    _make_private_dir(staging)
    plan = {"inventory": str(inventory_dir.resolve()), "selection": selection.key,
            "started": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "usernames": [p.username for p in planned]}
    write_atomic(staging / PLAN_FILE, json.dumps(plan, indent=1) + "\n", mode=0o600)
    resumed = []
    for number, who in enumerate(planned, 1):
        path = staging / f"{who.username}.json"
        if path.exists():
            resumed.append(who.username)
        else:
            person = people.get(who.username)
            if person is None or not person.has_access:
                raise AccessError(f"{who.username} was planned by the interrupted run but has no access now: "
                                  f"delete {staging} and run the command again")
            cert_pem, key_pem, record = signer.sign(who.username, "person", moment)
            seed = generate("totp").value
            bundle = render_bundle(
                organisation=organisation, username=who.username, name=person.name, serial=record.serial,
                not_after=record.not_after, remotes=remotes, server_name=server_name, ca=ca, cert=cert_pem,
                key=key_pem, tls_crypt=tls_crypt, written=moment)
            staged = {"username": who.username, "serial": record.serial, "cn": record.cn,
                      "not_before": record.not_before.isoformat(), "not_after": record.not_after.isoformat(),
                      "supersedes": who.supersedes, "had_seed": store.exists(totp_secret(who.username)),
                      "totp": base64.b64encode(store.encrypt(seed)).decode("ascii"), "bundle": bundle}
            write_atomic(path, json.dumps(staged) + "\n", mode=0o600, sync=False)
        if progress is not None:
            progress(number, len(planned))
    os.sync()  # every staged person on disk before the commit mark says so
    write_atomic(staging / COMMIT_MARK, "", mode=0o600)
    result = _commit(inventory_dir, store, staging, out_dir, plan, moment, resumed=False)
    result.planned, result.resumed = planned, resumed
    return result


def _commit(inventory_dir: Path, store: SecretStore, staging: Path, out_dir: Path, plan: dict,
            moment: datetime, *, resumed: bool) -> BulkResult:
    """Write what was staged into the inventory, once each; safe to run again."""
    staged = [json.loads((staging / f"{u}.json").read_text(encoding="utf-8")) for u in plan["usernames"]]
    records = [pki.IssuedCert(s["serial"], "person", s["cn"], s["username"],
                              datetime.fromisoformat(s["not_before"]), datetime.fromisoformat(s["not_after"]))
               for s in staged]
    # every other unrevoked certificate of theirs, also one issued since the plan was made
    new_serial = {s["username"]: s["serial"] for s in staged}
    superseded = {c.serial: f"superseded by {new_serial[c.owner]} (enrolled again)"
                  for c in pki.load_issued(inventory_dir)
                  if c.kind == "person" and c.owner in new_serial and c.revoked is None
                  and c.serial != new_serial[c.owner]}
    revoked = pki.record_many(inventory_dir, records, superseded, moment)
    store.put_encrypted({totp_secret(s["username"]): ("totp", base64.b64decode(s["totp"]), s["had_seed"])
                         for s in staged}, write=_write_nosync)
    # also when an interrupted commit revoked them already: the CRL may not have been signed then
    if superseded or any(c.revoked is not None and c.owner in new_serial
                         and c.revoked.reason.startswith(f"superseded by {new_serial[c.owner]} ")
                         for c in pki.load_issued(inventory_dir)):
        pki.ClientSigner(inventory_dir, store).write_crl(moment)
    revocations = load_revocations(inventory_dir)
    if any(s["username"] in revocations for s in staged):
        for s in staged:
            revocations.pop(s["username"], None)
        save_revocations(inventory_dir, revocations)
    for s in staged:
        write_atomic(out_dir / f"{s['username']}.ovpn", s["bundle"], mode=0o600, sync=False)
    os.sync()
    shutil.rmtree(staging)
    names = [s["username"] for s in staged]
    return BulkResult([Planned(u, u, []) for u in names], enrolled=names, resumed=names if resumed else [],
                      revoked=[c.serial for c in revoked], bundles=out_dir)


def _write_nosync(path: Path, data: bytes, mode: int) -> None:
    write_atomic(path, data, mode=mode, sync=False)


def _read_plan(staging: Path, inventory_dir: Path) -> dict | None:
    path = staging / PLAN_FILE
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        raise AccessError(f"{path} is damaged: delete {staging} (nothing of it is in the inventory yet "
                          f"unless {staging / COMMIT_MARK} exists) and run the command again") from None
    if plan.get("inventory") != str(inventory_dir.resolve()):
        raise AccessError(f"{staging} holds an interrupted enrolment of another inventory "
                          f"({plan.get('inventory')}): finish it there, or pass another --out")
    return plan

