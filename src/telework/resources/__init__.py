"""Where telework's runtime files are: the deploy files, templates, group data, Testinfra suites,
the sample organisation and the example pipeline.

They live at the top of telework's repository (`deploy/`, `templates/`, `group_data/`,
`tests/hosts/`, `inventory/`, `examples/`) so that a reader finds a role's files side by side,
and `pyproject.toml` maps each directory to a subpackage of this one, so that a wheel carries
them as package data. Code finds them only through the import system (the subpackage's
location, as `importlib.resources.files` gives it for a regular package), never through the
source tree: an installed telework (`pipx install telework`), an editable checkout and a pull
bundle answer the same way. (`importlib.resources` itself costs 50 ms to import, on the path
of every `telework plan`.)
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from telework.core.problems import TeleworkError


class ResourceMissing(TeleworkError):
    """A runtime file that a telework installation must carry is not there."""


@cache
def _package_dir(package: str) -> Path:
    """The directory of a resource subpackage on disk (wheels are unpacked: it is a real path)."""
    spec = importlib.util.find_spec(f"telework.resources.{package}")
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) if locations else Path("/nonexistent") / package
    if not path.is_dir():
        raise ResourceMissing(f"telework's {package}/ directory is missing from this installation "
                              f"({path}); reinstall telework")
    return path


def deploy_dir() -> Path:
    """deploy/: the pyinfra deploy files, `site.py` and one per role."""
    return _package_dir("deploy")


def site_deploy() -> Path:
    """deploy/site.py: the one entry deploy (base, then each host's roles)."""
    return deploy_dir() / "site.py"


def templates_dir() -> Path:
    """templates/: jinja2 templates, one directory per role, mirroring their destination."""
    return _package_dir("templates")


def group_data_dir() -> Path:
    """group_data/: telework's documented defaults, one file per inventory group."""
    return _package_dir("group_data")


def host_suites_dir() -> Path:
    """tests/hosts/: the Testinfra suites `telework verify` runs against deployed hosts."""
    return _package_dir("host_suites")


def sample_inventory() -> Path:
    """inventory/sample/: the complete sample organisation that `telework init` copies."""
    return _package_dir("inventory") / "sample"


def schema_dir() -> Path:
    """inventory/schema/: the JSON Schema of inventory files, as committed."""
    return _package_dir("inventory") / "schema"


def example_pipeline_dir() -> Path:
    """examples/gitlab-ci/: the pipeline of an organisation repository (.gitlab-ci.yml, .gitignore)."""
    return _package_dir("examples") / "gitlab-ci"
