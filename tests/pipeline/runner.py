"""A GitLab shell runner on this machine: gitlab-ci-local (pinned, installed by
scripts/bootstrap.sh) runs a checkout's pipeline with its shell executor, each job in a copy of
the checkout of its own (`--shell-isolation`: another path per job, as a real runner's clone
per job), artifacts handed on as GitLab does.

The runner user is simulated by the environment only: its HOME and TMPDIR are directories of
the test, its PATH has the telework under test. What GitLab itself would hand a job (project
variables, protected or scoped to an environment, and the predefined variables of a
merge-request, branch or scheduled pipeline) comes from `Pipeline`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

GCL_VERSION = "4.52.0"
GCL = Path(f"/var/cache/telework/npm/gitlab-ci-local-{GCL_VERSION}/node_modules/.bin/gitlab-ci-local")


@dataclass
class Variable:
    """A CI/CD variable of the project, as set in GitLab's settings."""

    value: str
    file: bool = False
    protected: bool = False
    #: environment scope (`*`: every job; else only jobs of that environment)
    scope: str = "*"


@dataclass
class JobResult:
    name: str
    passed: bool
    log: str


@dataclass
class PipelineResult:
    returncode: int
    output: str
    jobs: dict[str, JobResult]
    seconds: float

    def job(self, name: str) -> JobResult:
        assert name in self.jobs, f"no job {name} in the pipeline: {sorted(self.jobs)}\n{self.output[-3000:]}"
        return self.jobs[name]


@dataclass
class Runner:
    """A shell runner: gitlab-ci-local in `checkout`, GitLab's project variables in `gitlab_home`."""

    checkout: Path
    gitlab_home: Path
    home: Path
    tmp: Path
    remote_key: str            # "<host>/<group>/<project>.git", as gitlab-ci-local matches project variables
    git_rewrite: tuple[str, str]  # (url prefix gitlab-ci-local uses, the stand-in's url prefix)
    variables: dict[str, Variable] = field(default_factory=dict)

    def run(self, *, source: str, extra: dict[str, str] | None = None, unset: tuple[str, ...] = (),
            manual: tuple[str, ...] = (), timeout: int = 900) -> PipelineResult:
        """Run the pipeline of the checkout's HEAD for `source` (merge_request_event, push, schedule)."""
        protected = source != "merge_request_event"  # branch pipelines of main and schedules on main
        self._write_variables(protected)
        argv = [str(GCL), "--home", str(self.gitlab_home), "--shell-isolation",
                "--json-schema-validation", "--no-artifacts-to-source", "--max-job-name-padding", "0",
                "--variable", f"CI_PIPELINE_SOURCE={source}"]
        for key, value in (extra or {}).items():
            argv += ["--variable", f"{key}={value}"]
        for key in unset:
            argv += ["--unset-variable", key]
        for job in manual:
            argv += ["--manual", job]
        started = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.environment(),
                              cwd=self.checkout)
        output = done.stdout + done.stderr
        return PipelineResult(done.returncode, output, self._jobs(output), time.monotonic() - started)

    def environment(self) -> dict[str, str]:
        prefix, target = self.git_rewrite
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.home), "TMPDIR": str(self.tmp), "LANG": "C.UTF-8", "USER": "gitlab-runner",
            # gitlab-ci-local clones `include: project:` from <host>/<project>.git without the
            # port; git's own url rewriting sends it to the stand-in
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{target}.insteadOf", "GIT_CONFIG_VALUE_0": prefix,
            "GIT_TERMINAL_PROMPT": "0", "NO_COLOR": "1",
        }

    def _write_variables(self, protected: bool) -> None:
        """GitLab hands protected variables only to pipelines of protected branches; a variable
        scoped to an environment only to jobs of that environment."""
        entries = {}
        for name, var in self.variables.items():
            if var.protected and not protected:
                continue
            entries[name] = {"type": "file" if var.file else "variable", "values": {var.scope: var.value}}
        target = self.gitlab_home / ".gitlab-ci-local" / "variables.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump({"project": {self.remote_key: entries}}, sort_keys=False))
        target.chmod(0o600)

    def _jobs(self, output: str) -> dict[str, JobResult]:
        jobs = {}
        logs = self.checkout / ".gitlab-ci-local" / "output"
        for line in output.splitlines():
            words = line.strip().split()
            if len(words) >= 2 and words[0] in ("PASS", "FAIL", "WARN"):
                name = words[1]
                log_file = logs / f"{name}.log"
                log = log_file.read_text(errors="replace") if log_file.exists() else ""
                jobs[name] = JobResult(name, words[0] != "FAIL", log)
        return jobs


def gcl_available() -> bool:
    return GCL.is_file() and os.access(GCL, os.X_OK)
