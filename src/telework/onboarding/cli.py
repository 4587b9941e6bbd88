"""`telework person letter` and `telework person handover-done`: handover letters from the CLI.

A letter carries the person's TOTP seed as a QR code: the commands write letters only into a
directory outside any git work tree (0600 files), print file names and usernames only, and
record in the inventory's access/letters.yml that a letter was made and for whom.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from telework.cli.common import DEFAULT_INVENTORY, console, err_console
from telework.cli.secret import _identity_option
from telework.inventory.loading import require_inventory
from telework.onboarding import handover, letters
from telework.onboarding.letter_texts import DEFAULT_LANGUAGE, LANGUAGES
from telework.secrets.store import SecretStore


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


@click.command()
@click.argument("arguments", nargs=-1, metavar="[USERNAME...] [INVENTORY]")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the letters, outside any git repository (created 0700).")
@click.option("--department", metavar="D", help="Letters for every active person of department D.")
@click.option("--site", metavar="S", help="Letters for every active person at site S.")
@click.option("--language", type=click.Choice(LANGUAGES), default=DEFAULT_LANGUAGE, show_default=True)
@click.option("--batch/--no-batch", default=None,
              help="Also one PDF of all letters for printing (default: with --department/--site or "
                   "several people).")
@click.option("--each/--no-each", default=True, show_default=True, help="One PDF per person.")
@click.option("--helpdesk-phone", metavar="NUMBER", help="The helpdesk's phone number for the letters.")
@click.option("--helpdesk-hours", metavar="TEXT", help="When the helpdesk answers, e.g. 'Mo-Fr 7:30-16:00'.")
@_identity_option
def letter(arguments: tuple[str, ...], out_dir: Path, department: str | None, site: str | None, language: str,
           batch: bool | None, each: bool, helpdesk_phone: str | None, helpdesk_hours: str | None,
           identity: Path | None) -> None:
    """Handover letters (PDF) for USERNAME... or a department or site: what each person receives,
    the setup steps, the helpdesk, and the QR code of their authenticator app.

    \b
    The last argument is the inventory when it is a directory. Enrol people first
    (`telework person enroll`): the QR code is their TOTP seed. Commit access/letters.yml
    afterwards; remove the letters with `telework person handover-done OUT` once handed over.
    """
    names = list(arguments)
    inventory = Path(DEFAULT_INVENTORY)
    if names and Path(names[-1]).is_dir():
        inventory = Path(names.pop())
    if not names and not (department or site):
        raise click.UsageError("name the people: USERNAME..., --department D or --site S")
    loaded = require_inventory(inventory)
    people = handover.select_people(loaded, names, department, site)
    if not people:
        raise click.UsageError(f"nobody active in {department or site}")
    store = SecretStore(inventory, identity)
    made, unenrolled = handover.letters_for(loaded, store, people, language)
    if unenrolled:
        shown = ", ".join(unenrolled[:10]) + (f" and {len(unenrolled) - 10} more" if len(unenrolled) > 10 else "")
        err_console.print(escape(f"warning: {len(unenrolled)} of them have VPN access but are not enrolled: "
                                 f"their letters have no QR code ({shown}); enrol them first "
                                 f"(`telework person enroll --pending {inventory} --out DIR`)"), soft_wrap=True)
    helpdesk = handover.helpdesk_of(loaded, language, phone=helpdesk_phone, hours=helpdesk_hours)
    with_batch = batch if batch is not None else (bool(department or site) or len(made) > 1)
    result = letters.write_letters(out_dir, made, helpdesk, each=each, batch=with_batch)
    record = handover.record_letters(inventory, made)
    if result.letters:
        _say(f"wrote {len(result.letters)} letter(s) to {result.directory} (mode 0600): "
             f"{', '.join(sorted(result.letters))}")
    if result.batch is not None:
        _say(f"wrote the batch for printing: {result.batch} ({result.batch_pages} pages, mode 0600)")
    _say(f"recorded in {record} (who and when, no content): commit it")
    _say(f"they hold TOTP seeds: after the handover run `telework person handover-done {result.directory}`")


@click.command("handover-done")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("usernames", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Remove every letter and batch in DIRECTORY.")
def handover_done(directory: Path, usernames: tuple[str, ...], everyone: bool) -> None:
    """Remove the letters of USERNAME... (or --all) from DIRECTORY after the handover; a batch
    goes once everyone in it is handed over."""
    if bool(usernames) == everyone:
        raise click.UsageError("name the people handed over (USERNAME...) or pass --all")
    result = letters.remove_letters(directory, None if everyone else usernames)
    _say(f"removed {len(result.removed)} file(s): {', '.join(p.name for p in result.removed) or 'none'}")
    for batch, waiting in result.kept_batches.items():
        _say(f"kept {batch.name}: it also holds the letters of {', '.join(waiting)} (not handed over yet)")


@click.command("import")
@click.argument("export", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("inventory", required=False, default=DEFAULT_INVENTORY,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--mapping", "mapping_file", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The mapping file: columns or attributes, HR codes to departments and sites, username rule.")
@click.option("--write", is_flag=True,
              help="Write the proposed change into the people files (and access/personnel.yml) for review; "
                   "without it nothing is written.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every decision to this file (for the merge request).")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="The day leave and start dates are compared with "
              "(default: today in the organisation's time zone).")
def import_(export: Path, inventory: Path, mapping_file: Path, write: bool, report_file: Path | None,
            today) -> None:
    """Propose the change an HR EXPORT (CSV, or LDIF of Active Directory/LDAP) asks of the inventory:
    joiners, department and site moves, leavers as suspension plus a revocation to run.

    \b
    Prints every decision (why this username, why a move, why a row is left out). With --write
    the change goes into the people files, line by line, for review like any other change:
    `git diff`, commit, merge request. Nothing is applied to a host and no access is revoked here.
    """
    from telework.onboarding.hr_import import propose
    from telework.onboarding.people_writer import apply_changes

    proposal = propose(inventory, export, mapping_file, today=today.date() if today else None)
    report = proposal.report()
    console.print(escape(report.rstrip("\n")), soft_wrap=True)
    if report_file is not None:
        report_file.write_text(report, encoding="utf-8")
        _say(f"wrote the decisions to {report_file}")
    if proposal.changes.empty:
        _say("the inventory already says what the export says: nothing to change")
        return
    if not write:
        _say(f"nothing written: run again with --write to put this change into {inventory}/people for review")
        return
    written = apply_changes(inventory, proposal.changes)
    _say(f"wrote {', '.join(str(p) for p in written)}: review with `git diff`, run `telework ipam sync "
         f"{inventory}` for the joiners' tunnel addresses, commit and open a merge request")
    for revocation in proposal.changes.revocations:
        _say(f"after the merge: {revocation.command} {inventory}")
