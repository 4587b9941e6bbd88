"""`telework secret …`: add, rotate, list and re-encrypt the age-encrypted secrets of an inventory.

No command prints a secret value except `telework secret get NAME --reveal` (break-glass), and
that one only to a terminal: piping a value somewhere needs `--force` as well, so that a value
never ends up in a CI log or a file by accident. Values given by hand come from standard input
(a hidden prompt on a terminal) and are never echoed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from telework.cli.common import console, err_console, inventory_argument
from telework.core.problems import SecretError
from telework.secrets.store import IDENTITY_ENV, KINDS, SecretStore, default_identity_path

_GENERATED_KINDS = [k for k in KINDS if k != "manual"]


def _identity_option(func):
    return click.option(
        "--identity",
        "-i",
        "identity",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"age identity (private key) file; default ${IDENTITY_ENV}, "
        f"then {default_identity_path()}.",
    )(func)


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


def _read_value() -> str:
    """The value from standard input: a hidden, confirmed prompt on a terminal, else all of stdin
    less one trailing newline (so `printf …` and `echo …` give the same value)."""
    if sys.stdin.isatty():
        return click.prompt(
            "value (not shown)",
            hide_input=True,
            confirmation_prompt=True,
            err=True,
            show_default=False,
        )
    value = sys.stdin.read()
    if value.endswith("\n"):
        value = value[:-1]
        value = value.removesuffix("\r")
    if not value:
        raise SecretError("no value on standard input (pipe it in, or use --generate KIND)")
    return value


@click.group()
def secret() -> None:
    """Secrets (VPN keys, TOTP seeds, SIP passwords), age-encrypted in INVENTORY/secrets/.

    \b
    The identity (age private key) that decrypts is, in this order:
      --identity FILE, the file named by $TELEWORK_AGE_IDENTITY,
      ~/.config/telework/age/identity.txt ($XDG_CONFIG_HOME if set).
    It must not be readable by group or others (chmod 600).
    """


@secret.command()
@inventory_argument
@_identity_option
@click.option(
    "--comment", help="Who holds the key, written above it in recipients.txt (default: user@host)."
)
def init(inventory: Path, identity: Path | None, comment: str | None) -> None:
    """Create your age identity (if you have none) and add its public key to the recipients.

    Existing secrets are not readable with the new key until a holder runs `telework secret rekey`.
    """
    store = SecretStore(inventory, identity)
    path, public, created = store.init_identity(identity, comment)
    _say(f"{'created' if created else 'using existing'} identity {path} (mode 0600)")
    _say(f"public key {public} is a recipient in {store.recipients_path}")
    if store.names() and store.stale():
        _say("existing secrets are not encrypted to it yet: a holder runs `telework secret rekey`")


@secret.command("set")
@click.argument("name")
@inventory_argument
@click.option(
    "--generate",
    "generate_kind",
    type=click.Choice(_GENERATED_KINDS),
    help="Generate a random value of this kind instead of reading one from stdin.",
)
@click.option(
    "--kind",
    type=click.Choice(list(KINDS)),
    default="manual",
    show_default=True,
    help="Kind of a value read from stdin, so that `rotate` can replace it later.",
)
@click.option("--replace", is_flag=True, help="Replace an existing secret.")
def set_(name: str, inventory: Path, generate_kind: str | None, kind: str, replace: bool) -> None:
    """Store secret NAME (e.g. sip/2345), encrypted to every recipient.

    The value is generated (--generate) or read from standard input, never echoed.
    """
    store = SecretStore(inventory)
    store.check_settable(name, replace)  # before asking for a value
    if generate_kind:
        new = store.add_generated(name, generate_kind, replace=replace)
        kind, public = new.kind, new.public
    else:
        info = store.set(name, _read_value(), kind, replace=replace)
        public = info.public
    _say(
        f"stored {name} ({kind}) in {store.path_of(name)}, encrypted to "
        f"{len(store.recipients())} recipient(s); commit it with the inventory"
    )
    if public:
        _say(f"public key: {public}")


@secret.command()
@click.argument("name")
@inventory_argument
def rotate(name: str, inventory: Path) -> None:
    """Replace secret NAME by a new random value of the same kind."""
    store = SecretStore(inventory)
    new = store.rotate(name)
    _say(f"rotated {name} ({new.kind}); commit it and deploy the hosts that use it")
    if new.public:
        _say(f"new public key: {new.public}")


@secret.command("list")
@inventory_argument
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def list_(inventory: Path, fmt: str) -> None:
    """Names, kinds, dates and recipients of every secret; never a value."""
    store = SecretStore(inventory)
    who = {r.key: r.comment or r.key[:16] + "…" for r in store.recipients()}
    current = set(who)
    infos = [store.info(name) for name in store.names()]
    if fmt == "json":
        rows = [
            {
                "name": info.name,
                "kind": info.kind,
                "created": info.created,
                "rotated": info.rotated,
                "recipients": [who.get(key, key) for key in info.recipients],
                "needs_rekey": set(info.recipients) != current,
                "public_key": info.public,
            }
            for info in infos
        ]
        json.dump(
            {"inventory": str(inventory), "secrets": rows}, sys.stdout, indent=2, ensure_ascii=False
        )
        sys.stdout.write("\n")
        return
    table = Table(title=f"secrets of {inventory}")
    for column in ("name", "kind", "created", "rotated", "recipients"):
        table.add_column(column)
    for info in infos:
        stale = set(info.recipients) != current
        table.add_row(
            escape(info.name),
            info.kind,
            info.created or "",
            info.rotated or "",
            escape(", ".join(who.get(key, key) for key in info.recipients))
            + (" [yellow](needs rekey)[/]" if stale else ""),
        )
    console.print(table)
    if not infos:
        _say(f"no secrets in {store.dir}")


@secret.command()
@inventory_argument
@_identity_option
def rekey(inventory: Path, identity: Path | None) -> None:
    """Re-encrypt every secret to the current recipients.txt (after adding or removing a key).

    Removing a key does not take back what its holder could read: rotate those secrets too.
    """
    store = SecretStore(inventory, identity)
    names = store.rekey()
    _say(
        f"re-encrypted {len(names)} secret(s) to {len(store.recipients())} recipient(s); "
        f"commit {store.dir}"
    )


@secret.command()
@click.argument("name")
@inventory_argument
@_identity_option
@click.option(
    "--reveal", is_flag=True, help="Print the clear value (break-glass; only to a terminal)."
)
@click.option(
    "--force", is_flag=True, help="With --reveal: print it even when stdout is not a terminal."
)
def get(name: str, inventory: Path, identity: Path | None, reveal: bool, force: bool) -> None:
    """Show what is known about secret NAME; with --reveal, its clear value.

    Without --reveal the secret is still decrypted, to prove that your identity can read it.
    --reveal refuses when stdout is not a terminal (a log, a pipe, a file) unless --force.
    """
    store = SecretStore(inventory, identity)
    value = store.get(name)
    if reveal:
        if not sys.stdout.isatty() and not force:
            raise SecretError(
                "refusing to print a secret to something that is not a terminal; "
                "add --force if that is really meant (e.g. to pipe it into `wg pubkey`)"
            )
        err_console.print(
            escape(f"revealing {name}: do not paste it into tickets or chats"), soft_wrap=True
        )
        click.echo(value)
        return
    info = store.info(name)
    _say(
        f"{name}: kind {info.kind}, created {info.created}, rotated {info.rotated or 'never'}, "
        f"{len(info.recipients)} recipient(s), decrypts with your key"
    )
    if info.public:
        _say(f"public key: {info.public}")


@secret.group()
def recipients() -> None:
    """The age public keys that every secret is encrypted to (secrets/recipients.txt)."""


@recipients.command("add")
@click.argument("key")
@inventory_argument
@click.option("--comment", required=True, help='Whose key it is, e.g. "Jana Müller, IT-Betrieb".')
def recipients_add(key: str, inventory: Path, comment: str) -> None:
    """Add public key KEY (age1…); then run `telework secret rekey`."""
    store = SecretStore(inventory)
    if store.add_recipient(key, comment):
        _say(f"added {key} ({comment}) to {store.recipients_path}; now run `telework secret rekey`")
    else:
        _say(f"{key} is already a recipient")


@recipients.command("remove")
@click.argument("key")
@inventory_argument
def recipients_remove(key: str, inventory: Path) -> None:
    """Remove public key KEY; then rekey, and rotate what its holder could read."""
    store = SecretStore(inventory)
    if store.remove_recipient(key):
        _say(
            f"removed {key} from {store.recipients_path}; now run `telework secret rekey` "
            f"and rotate the secrets its holder could read"
        )
    else:
        raise SecretError(f"{key} is not a recipient in {store.recipients_path}")


@recipients.command("list")
@inventory_argument
def recipients_list(inventory: Path) -> None:
    """Every recipient with the comment naming its holder."""
    store = SecretStore(inventory)
    listed = store.recipients()
    for recipient in listed:
        _say(f"{recipient.key}  {recipient.comment}")
    if not listed:
        _say(f"no recipients in {store.recipients_path}")
