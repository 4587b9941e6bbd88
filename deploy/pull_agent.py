"""The pull agent on endpoints (linux_endpoints, notebooks): a systemd timer that fetches the
endpoint's signed bundle, applies it locally with pyinfra and reports (telework.pull.agent).

    telework pull install linux-002 INVENTORY --base-url http://<controller>:8089   # once, by push

deploy/site.py includes this for endpoints. It does nothing unless `pull_base_url` is set
(group_data of the inventory, `telework pull install --base-url`, or the bundle's host data),
so push deploys of organisations without pull mode are unchanged. In pull mode the agent runs
site.py from the bundle, so this deploy keeps the agent, its key and its units up to date.

The venv (/opt/telework/venv: pyinfra and telework's dependencies) is installed from a
wheelhouse tar only when `pull_wheelhouse` names one on the controller (`telework pull
install` does); in pull mode the agent installs new wheelhouses itself before it applies.
"""

from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import FileContents
from pyinfra.operations import server, systemd

from telework.engine.declare import changed
from telework.engine.deploy_support import header, render_template
from telework.engine.facts.batch import fact, prefetch
from telework.engine.facts.files import PathStates
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.systemd import UnitStates
from telework.engine.operations import files, packages, services
from telework.pull import agent

AGENT_SOURCE = Path(agent.__file__)

DEFAULTS = {
    # <base-url>/<host>/manifest.json is this endpoint's bundle; unset: no pull mode.
    "pull_base_url": None,
    # systemd OnCalendar of the timer, and the random delay that spreads endpoints over time.
    "pull_schedule": "hourly",
    "pull_random_delay": "20min",
    # Seconds: one HTTP request; one apply (pyinfra); the unit's start timeout adds 10 minutes
    # for downloads and the wheelhouse.
    "pull_http_timeout": 60,
    "pull_apply_timeout": 1800,
    # Largest bundle tar the agent downloads (bytes).
    "pull_max_bundle_bytes": 256 * 1024 * 1024,
    # Controller-side path of a wheelhouse tar to install (push install only) and its sha256.
    "pull_wheelhouse": None,
    "pull_wheelhouse_sha256": None,
}

AGENT = "/opt/telework/pull-agent.py"
CONFIG = "/etc/telework/pull.json"
PUBLIC_KEY = "/etc/telework/pull-signing.pub"
STATE_DIR = "/var/lib/telework/pull"
VENV = "/opt/telework/venv"
UNITS = ("telework-pull.service", "telework-pull.timer")


@deploy("Pull agent", data_defaults=DEFAULTS)
def pull_agent() -> None:
    if not host.data.pull_base_url:
        return
    inventory_dir = host.data.telework_inventory
    # One remote command for the state of everything below (telework.engine.facts.batch); the venv and
    # the download directory are looked at themselves, never file by file.
    prefetch(
        PathStates.ask("/etc/telework", AGENT, *(f"/etc/systemd/system/{unit}" for unit in UNITS),
                       shallow=("/opt/telework", STATE_DIR, f"{STATE_DIR}/wheels")),
        PackageStates.ask("python3-venv"),
        UnitStates.ask("telework-pull.timer"),
    )
    packages.installed(
        name="pull: python3-venv for the agent's venv",
        packages=["python3-venv"],
    )
    for path, mode in (("/etc/telework", "755"), ("/opt/telework", "755"), (STATE_DIR, "700")):
        files.directory(name=f"pull: {path}", path=path, mode=mode)
    files.put(
        name=f"pull: agent {AGENT}",
        src=AGENT_SOURCE,
        dest=AGENT,
        mode="755",
    )
    files.put(
        name=f"pull: the organisation's signing key {PUBLIC_KEY}",
        src=Path(inventory_dir) / "pull" / "signing.pub",
        dest=PUBLIC_KEY,
    )
    files.put(
        name=f"pull: agent settings {CONFIG}",
        dest=CONFIG,
        content=render_template(
            "pull_agent", CONFIG,
            header=header(inventory_dir, "").strip(),
            host_name=host.name,
            base_url=host.data.pull_base_url,
            public_key=PUBLIC_KEY,
            state_dir=STATE_DIR,
            venv=VENV,
            http_timeout=int(host.data.pull_http_timeout),
            apply_timeout=int(host.data.pull_apply_timeout),
            max_bundle_bytes=int(host.data.pull_max_bundle_bytes),
        ),
    )

    if host.data.pull_wheelhouse:
        sha = host.data.pull_wheelhouse_sha256
        tar = f"{STATE_DIR}/wheels/{sha}.tar"
        installed = fact(FileContents, path=f"{VENV}/telework-wheelhouse.sha256") or []
        if [line.strip() for line in installed] != [sha]:
            files.directory(name=f"pull: {STATE_DIR}/wheels", path=f"{STATE_DIR}/wheels", mode="700")
            files.put(name="pull: wheelhouse for the venv", src=host.data.pull_wheelhouse, dest=tar, mode="600")
            server.shell(
                name=f"pull: venv {VENV} from wheelhouse {sha[:12]}",
                commands=[f"python3 {AGENT} install-wheelhouse {tar} --sha256 {sha} --venv {VENV}"],
            )

    units = [
        files.put(
            name=f"pull: unit {unit}",
            dest=f"/etc/systemd/system/{unit}",
            content=render_template(
                "pull_agent", f"/etc/systemd/system/{unit}",
                header=header(inventory_dir),
                venv=VENV,
                agent=AGENT,
                config=CONFIG,
                timeout=int(host.data.pull_apply_timeout) + 600,
                schedule=host.data.pull_schedule,
                random_delay=host.data.pull_random_delay,
            ),
        )
        for unit in UNITS
    ]
    systemd.daemon_reload(
        name="pull: systemd reads the changed units",
        _if=changed(*units),
    )
    services.service(name="pull: timer enabled and running", unit="telework-pull.timer")
    services.restart(
        name="pull: timer restarted with its changed schedule",
        unit="telework-pull.timer",
        _if=changed(*units),
    )


pull_agent()
