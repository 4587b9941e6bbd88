"""telework's benchmarks: one runner, one module per family, results in benchmarks/RESULTS.md.

    python -m benchmarks                      # every family, full sizes, updates RESULTS.md
    python -m benchmarks --only scale         # one family
    python -m benchmarks --only lab           # plan/apply on lab hosts vs ssh floor, pyinfra, Ansible
    python -m benchmarks --smoke              # tiny sizes, one repetition, seconds; a temp file
    python -m benchmarks --baseline HEAD~3    # adds that commit's telework as a paired contender

A family is a module here with NAME, TITLE and run(ctx) -> Markdown (see benchmarks.harness);
list it in FAMILIES to have the runner run it and keep its section of RESULTS.md current.
Scripts that are not families (benchmarks/audit_history.py) write their own sections; the
runner keeps every section it does not own.
"""

#: family name -> module of this package
FAMILIES = {
    "scale": "benchmarks.scale",
    "lab": "benchmarks.lab",
}
#: families that boot a lab (root, systemd-nspawn): their smoke test is a lab test
LAB_FAMILIES = {"lab"}
