"""IGEL thin clients as code, through the UMS and its IMI REST API (v3).

IGEL devices are not reached over SSH: the UMS (Universal Management Suite) manages them, and
its IGEL Management Interface (IMI) is the only documented automation interface. It places
devices (records, directories, profile assignments, template keys, commands) but cannot write
settings; settings live in profiles, which telework generates as files for import.

Modules (none depends on the plan/apply engine):

- `imi`        the IMI v3 client (httpx): session, devices, directories, assignments, commands
- `errors`     every documented ITG error code as a `TeleworkError` naming the object and the fix
- `clock`      the clock and the command throttle (injectable, so tests need not sleep)
- `fake_ums`   a faithful, stateful test double of the IMI over HTTPS (tests and the lab)
- `reconcile`  inventory vs. UMS -> per-item changes, and their execution (no HTTP inside the diff)
- `registry`, `registry_keys.yml`  IGEL registry key types and ranges used to check profile values
- `vlist`      IGEL's registry text format (setup.ini)
- `profiles`   IGEL OS 12 `.ipm` and IGEL OS 11 XML profiles, and the bootstrap setup.ini

Sources of the facts: the IMI v3 reference in the IGEL knowledge base (PDF export in
github.com/IGEL-Community/IGEL-Docs-KB, `01-IGEL-OS-Platform/13-IGEL-Management-Interface.pdf`),
PSIGEL (github.com/IGEL-Community/PSIGEL) for shapes real clients rely on, and public profile
exports and registries of IGEL-Community repositories (named where they are used).
"""
