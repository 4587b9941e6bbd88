"""`telework plan`, `telework apply`, `telework verify`: the CI workflow's three commands.

    telework plan inventory/sample --format markdown --out plan.md --out plan.json
    telework apply inventory/sample --plan plan.json
    telework verify inventory/sample --junitxml verify.xml -n 4

Exit codes: plan 0 nothing to change, 2 changes, 1 error (a host unreachable or failed);
apply 0 ok, 1 failures or refused; verify pytest's (5 "no tests" is reported as an error).
pyinfra's own output never reaches the terminal; progress is drawn only on a terminal.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from telework.cli.common import console, err_console, fail, inventory_argument
from telework.core.problems import TeleworkError
from telework.plan.render import FORMATS, render, summary_line
from telework.plan.selection import parse_limit
from telework.secrets.redact import Redactor

_SUFFIX_FORMAT = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}


def _limit_option(func):
    return click.option(
        "--limit", "-l", "limit", multiple=True, metavar="HOSTS",
        help="only these hosts or groups (comma-separated names, groups such as sip_servers, "
             "site_<id>, ring_<name>; shell patterns allowed); repeatable.")(func)


def _deploy_option(func):
    return click.option(
        "--deploy", "deploy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="deploy file to run instead of deploy/site.py (e.g. deploy/base.py).")(func)


@contextmanager
def _progress(title: str):
    """A rich progress display on a terminal (stderr); a silent callback otherwise."""
    if not err_console.is_terminal:
        yield lambda *_: None
        return
    # auto_refresh=False: rich's refresh thread and pyinfra's gevent-patched threading do not
    # mix (RuntimeError: cannot release un-acquired lock); the bar is redrawn on every update
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True, auto_refresh=False) as bar:
        tasks: dict[str, int] = {}

        def update(phase: str, host: str, done: int, total: int) -> None:
            key = f"{phase}:{host}" if phase == "apply" else phase
            label = f"{title} {phase}" + (f" {host}" if phase == "apply" else "")
            if key not in tasks:
                tasks[key] = bar.add_task(escape(label), total=max(total, 1))
            bar.update(tasks[key], completed=done, total=max(total, 1), refresh=True)

        yield update


def _guard(redactor_box: list):
    """Unexpected errors become one redacted line and exit 1, never a traceback."""
    class Guard:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            if exc is None or isinstance(exc, (TeleworkError, click.exceptions.Exit, SystemExit,
                                               click.ClickException, KeyboardInterrupt)):
                return False
            redactor = redactor_box[0] if redactor_box else Redactor()
            fail(escape(redactor.redact(f"{type(exc).__name__}: {exc}")))
    return Guard()


@click.command()
@inventory_argument
@_limit_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="output on stdout (and in --out files without a known suffix).")
@click.option("--out", "outs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="write the plan to FILE instead of stdout; the suffix picks the format "
                   "(.json, .md, .txt), else --format; repeatable.")
@click.option("--artifact-url", envvar="TELEWORK_PLAN_ARTIFACT_URL",
              help="link to the full plan, shown in the Markdown output.")
@click.option("--mr-comment", is_flag=True,
              help="in a GitLab merge-request pipeline, post the Markdown plan as a comment "
                   "(or update the previous one); needs $TELEWORK_GITLAB_TOKEN.")
@click.option("--strict", is_flag=True,
              help="a host that no built role serves (shown as unmanaged) is an error: exit 1.")
@_deploy_option
def plan(inventory: Path, limit: tuple[str, ...], fmt: str, outs: tuple[Path, ...],
         artifact_url: str | None, mr_comment: bool, strict: bool, deploy_file: Path | None) -> None:
    """What applying INVENTORY would change, per host: operations, diffs, commands.

    Runs the deploys in dry-run mode against the real hosts (and compares API-managed devices
    with their API). Exit 0: nothing to change; 2: changes; 1: error (a host unreachable or
    failed: the plan is incomplete; with --strict also an unmanaged host).
    Secret values never appear in any format.
    """
    from telework.plan.planner import Planner
    from telework.secrets.run import load_run_secrets

    box: list = []
    with _guard(box):
        run_secrets = load_run_secrets(inventory)
        box.append(run_secrets.redactor)
        with _progress("plan") as progress:
            with Planner(inventory, limit=parse_limit(limit) or None, redactor=run_secrets.redactor,
                         fingerprint_key=run_secrets.fingerprint_key, progress=progress,
                         deploy_file=deploy_file, strict=strict) as planner:
                result = planner.plan()
        for out in outs:
            out_fmt = _SUFFIX_FORMAT.get(out.suffix.lower(), fmt)
            out.write_text(render(result, out_fmt, run_secrets.redactor, artifact_url=artifact_url),
                           encoding="utf-8")
        if mr_comment:
            _comment(render(result, "markdown", run_secrets.redactor, artifact_url=artifact_url))
        if outs:
            err_console.print(escape(f"Plan: {summary_line(result)}; written to "
                                     f"{', '.join(map(str, outs))}"), soft_wrap=True)
        else:
            colour = fmt == "text" and sys.stdout.isatty()
            click.echo(render(result, fmt, run_secrets.redactor, colour=colour), nl=False)
    sys.exit(result.exit_code)


def _comment(markdown: str) -> None:
    from telework.plan.gitlab import CommentError, post_plan_comment

    try:
        done = post_plan_comment(markdown)
    except CommentError as exc:
        err_console.print(escape(f"warning: plan comment not posted: {exc}"), soft_wrap=True)
    else:
        err_console.print(f"plan comment {done} on the merge request")


@click.command()
@inventory_argument
@_limit_option
@click.option("--allow-dirty", is_flag=True,
              help="apply although the inventory has uncommitted changes (recorded as such).")
@click.option("--plan", "reviewed", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the reviewed plan (JSON of `telework plan`): plan again and refuse if the "
                   "changes differ from it.")
@click.option("--break-lock", is_flag=True,
              help="remove another apply's lock first (only after checking it does not run).")
@_deploy_option
def apply(inventory: Path, limit: tuple[str, ...], allow_dirty: bool, reviewed: Path | None,
          break_lock: bool, deploy_file: Path | None) -> None:
    """Apply INVENTORY ring by ring and record the run in the inventory's git history.

    One apply at a time per repository; a ring whose failure share exceeds its
    failure_threshold stops the rollout. Exit 0 when every host succeeded, 1 otherwise.
    """
    from telework.apply.run import apply as run_apply

    box: list = [Redactor()]
    with _guard(box):
        with _progress("apply") as progress:
            outcome = run_apply(inventory, limit=",".join(parse_limit(limit)) or None,
                                allow_dirty=allow_dirty, reviewed_plan=reviewed,
                                break_lock=break_lock, progress=progress, deploy_file=deploy_file,
                                say=lambda m: err_console.print(escape(m), soft_wrap=True))
    for name, res in outcome.results.items():
        line = f"{name}: {res.status}"
        if res.changed_ops:
            line += f" ({len(res.changed_ops)} operation(s) changed)"
        if res.error:
            line += f": {res.error}"
        style = {"changed": "yellow", "unchanged": "green"}.get(res.status, "red")
        console.print(f"[{style}]{escape(line)}[/]", soft_wrap=True)
    counts: dict[str, int] = {}
    for res in outcome.results.values():
        counts[res.status] = counts.get(res.status, 0) + 1
    console.print(escape(f"Apply {outcome.result}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                         + f"; run {outcome.record['run_id']} recorded as {outcome.stored_at}"),
                  soft_wrap=True)
    sys.exit(outcome.exit_code)


@click.command()
@inventory_argument
@_limit_option
@click.option("--junitxml", type=click.Path(dir_okay=False, path_type=Path),
              help="write a JUnit XML report (for CI).")
@click.option("-n", "workers", default="auto", show_default=True,
              help="pytest-xdist workers (hosts are spread over them); 0 runs in one process.")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def verify(inventory: Path, limit: tuple[str, ...], junitxml: Path | None, workers: str,
           pytest_args: tuple[str, ...]) -> None:
    """Run the Testinfra suites of every host's roles against INVENTORY's hosts.

    Extra arguments after `--` go to pytest (e.g. `-- -k ssh`). Exit code: pytest's.
    """
    from telework.verify.run import run as run_verify

    code = run_verify(inventory, limit=",".join(parse_limit(limit)) or None, junitxml=junitxml,
                      workers=workers, extra=list(pytest_args))
    sys.exit(code)
