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

UNITS = ("telework-pull.service", "telework-pull.timer")


@deploy("Pull agent")
def pull_agent() -> None:
    if not host.data.pull_base_url:
        return
    agent_file, config, public_key = host.data.pull_agent_file, host.data.pull_config_file, host.data.pull_public_key_file
    state_dir, venv = host.data.pull_state_dir, host.data.pull_venv
    config_dir, agent_dir = str(Path(config).parent), str(Path(agent_file).parent)
    inventory_dir = host.data.telework_inventory
    # One remote command for the state of everything below (telework.engine.facts.batch); the venv and
    # the download directory are looked at themselves, never file by file.
    prefetch(
        PathStates.ask(config_dir, agent_file, *(f"/etc/systemd/system/{unit}" for unit in UNITS),
                       shallow=(agent_dir, state_dir, f"{state_dir}/wheels")),
        PackageStates.ask("python3-venv"),
        UnitStates.ask("telework-pull.timer"),
    )
    packages.installed(
        name="pull: python3-venv for the agent's venv",
        packages=["python3-venv"],
    )
    for path, mode in ((config_dir, "755"), (agent_dir, "755"), (state_dir, "700")):
        files.directory(name=f"pull: {path}", path=path, mode=mode)
    files.put(
        name=f"pull: agent {agent_file}",
        src=AGENT_SOURCE,
        dest=agent_file,
        mode="755",
    )
    files.put(
        name=f"pull: the organisation's signing key {public_key}",
        src=Path(inventory_dir) / "pull" / "signing.pub",
        dest=public_key,
    )
    files.put(
        name=f"pull: agent settings {config}",
        dest=config,
        content=render_template(
            "pull_agent", config,
            header=header(inventory_dir, "").strip(),
            host_name=host.name,
            base_url=host.data.pull_base_url,
            public_key=public_key,
            state_dir=state_dir,
            venv=venv,
            http_timeout=int(host.data.pull_http_timeout),
            apply_timeout=int(host.data.pull_apply_timeout),
            max_bundle_bytes=int(host.data.pull_max_bundle_bytes),
        ),
    )

    if host.data.pull_wheelhouse:
        sha = host.data.pull_wheelhouse_sha256
        tar = f"{state_dir}/wheels/{sha}.tar"
        installed = fact(FileContents, path=f"{venv}/telework-wheelhouse.sha256") or []
        if [line.strip() for line in installed] != [sha]:
            files.directory(name=f"pull: {state_dir}/wheels", path=f"{state_dir}/wheels", mode="700")
            files.put(name="pull: wheelhouse for the venv", src=host.data.pull_wheelhouse, dest=tar, mode="600")
            server.shell(
                name=f"pull: venv {venv} from wheelhouse {sha[:12]}",
                commands=[f"python3 {agent_file} install-wheelhouse {tar} --sha256 {sha} --venv {venv}"],
            )

    units = [
        files.put(
            name=f"pull: unit {unit}",
            dest=f"/etc/systemd/system/{unit}",
            content=render_template(
                "pull_agent", f"/etc/systemd/system/{unit}",
                header=header(inventory_dir),
                venv=venv,
                agent=agent_file,
                config=config,
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
