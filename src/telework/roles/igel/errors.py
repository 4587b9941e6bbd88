"""Errors of the UMS and its IMI, each one a `TeleworkError` that names the object and the fix.

The IMI answers errors with an HTTP status and a body `{"message": ..., "errorCode": "ITG-...",
"stackTrace": ...}`. The codes below are the complete table of the IMI v3 reference ("API Error
Messages", KB PDF pages 232-233 of `13-IGEL-Management-Interface.pdf` in
github.com/IGEL-Community/IGEL-Docs-KB, commit 7247f74). The wording of each `fix` is telework's:
what an operator does about it. The UMS's own message is kept; its stack trace never is (it can
be long and says nothing to an operator).

`subject` names what the request was about ("device igel-0001 (MAC 00E0C502810E, id 95)"), so
an error in a run of a thousand devices says which one.
"""

from __future__ import annotations

from telework.core.problems import TeleworkError


class UmsError(TeleworkError):
    """Anything the UMS refused or could not do."""

    code: str = ""
    meaning: str = "the UMS refused the request"
    fix: str = "see the UMS server log (catalina.log) for details"

    def __init__(
        self,
        operation: str,
        *,
        subject: str | None = None,
        status: int | None = None,
        ums_message: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.operation = operation
        self.subject = subject
        self.status = status
        self.ums_message = ums_message
        if fix is not None:
            self.fix = fix
        super().__init__(self._text())

    def _text(self) -> str:
        what = f"UMS {self.operation}"
        if self.subject:
            what += f" for {self.subject}"
        head = f"{self.code} " if self.code else ""
        said = self.ums_message or self.meaning
        if self.status is not None and not self.code:
            said = f"HTTP {self.status}: {said}"
        return f"{what} failed: {head}{said} (fix: {self.fix})"


# ------------------------------------------------------------------ not from an ITG code


class UmsConnectionError(UmsError):
    meaning = "the UMS cannot be reached"
    fix = "check the UMS address and port (8443) and that this host may reach it"


class UmsTlsError(UmsConnectionError):
    meaning = "the UMS certificate cannot be verified"
    fix = (
        "give telework the CA certificate that issued the UMS server certificate (the UMS CA "
        "file of the inventory); never switch verification off outside a lab"
    )


class UmsProtocolError(UmsError):
    meaning = "the UMS answered with something the IMI v3 reference does not describe"
    fix = "check the UMS version (IMI v3 needs UMS 5.07.100 or later) and report this to telework"


class UmsRequestError(UmsError):
    """An HTTP error without an ITG code (e.g. a proxy in between)."""

    meaning = "the request failed"
    fix = "check the UMS address: something other than the IMI answered (a proxy?)"


class UmsPartialFailure(UmsError):
    """Some items of a batch (move, command) failed; `failed` maps item id -> result."""

    meaning = "some items of the batch failed"
    fix = "see the items named; run plan again to see what is left to do"

    def __init__(self, operation: str, failed: dict[str, str], *, subject: str | None = None):
        self.failed = dict(failed)
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(self.failed.items())[:10])
        more = f" and {len(self.failed) - 10} more" if len(self.failed) > 10 else ""
        super().__init__(operation, subject=subject, ums_message=f"failed items: {shown}{more}")


# ------------------------------------------------------------------ ITG codes by group


class UmsClientError(UmsError):
    """ITG-0A...: the request was wrong for the UMS's current data."""


class UmsAuthError(UmsError):
    """ITG-0B...: login, session or rights."""

    fix = "check the IMI account (user, password, UMS administrator rights)"


class UmsLicenceError(UmsError):
    """ITG-0C...: the UMS licence does not include IMI."""


class UmsServerError(UmsError):
    """ITG-FF...: the UMS itself failed."""

    fix = "check the UMS server (catalina.log and stderr on the UMS host) and try again"


_BUG = "this is a telework bug: report it with the operation named here"
_REREAD = "the UMS changed since it was read; run plan again"


class ThinClientNotFound(UmsClientError):
    code, meaning, fix = "ITG-0A001", "thin client not found", _REREAD


class TargetDirectoryNotFound(UmsClientError):
    code, meaning, fix = "ITG-0A002", "target directory not found", _REREAD


class InvalidCommand(UmsClientError):
    code, meaning = "ITG-0A003", "invalid command"
    fix = "use one of reboot, shutdown, wakeup, settings2tc, tcreset2facdefs"


class InvalidRequestBody(UmsClientError):
    code, meaning, fix = "ITG-0A004", "invalid request body", _BUG


class UnreadableJson(UmsClientError):
    code, meaning, fix = "ITG-0A005", "could not read JSON", _BUG


class DirectoryNotEmpty(UmsClientError):
    code, meaning = "ITG-0A006", "directory is not empty"
    fix = "move or delete its devices and subdirectories first (only empty directories are deleted)"


class NoMacDefined(UmsClientError):
    code, meaning = "ITG-0A007", "no MAC defined"
    fix = "give the device's MAC address in the inventory"


class DuplicateKey(UmsClientError):
    code, meaning = "ITG-0A008", "an object with this key already exists"
    fix = (
        "a device with this MAC (or a directory with this name) already exists, maybe in the "
        "recycle bin: restore or delete it in the UMS console"
    )


class NoFirmwareDefined(UmsClientError):
    code, meaning = "ITG-0A009", "no firmware defined"
    fix = "set the device's firmware in the inventory; a new device record needs a firmware"


class NumberFormatError(UmsClientError):
    code, meaning, fix = "ITG-0A010", "number format error", _BUG


class MethodNotSupported(UmsClientError):
    code, meaning = "ITG-0A011", "request method not supported"
    fix = "this UMS does not offer the call: check its version against the IMI v3 reference"


class EmptyIdList(UmsClientError):
    code, meaning, fix = "ITG-0A012", "the list of ids is empty", _BUG


class NoValidProperty(UmsClientError):
    code, meaning = "ITG-0A013", "no valid property in body"
    fix = (
        "the UMS accepts none of the attributes sent; custom device attributes must exist in "
        "UMS (global configuration, device attributes) with an overwrite rule allowing IMI"
    )


class InvalidMacLength(UmsClientError):
    code, meaning = "ITG-0A014", "MAC must be 12 characters long"
    fix = "write the MAC as 12 hexadecimal digits, e.g. 00:E0:C5:02:81:0E"


class FirmwareNotFound(UmsClientError):
    code, meaning = "ITG-0A015", "firmware does not exist"
    fix = "use a firmware the UMS knows (GET /v3/firmwares lists them) or import it into UMS"


class ParentNotFound(UmsClientError):
    code, meaning, fix = "ITG-0A016", "parent directory does not exist", _REREAD


class TargetDirectoryInBin(UmsClientError):
    code, meaning = "ITG-0A017", "target directory is in the recycle bin"
    fix = "restore (revert) the directory from the UMS recycle bin, or delete it there"


class ThinClientInBin(UmsClientError):
    code, meaning = "ITG-0A018", "thin client is in the recycle bin"
    fix = "restore (revert) the device from the UMS recycle bin, or delete it there"


class InvalidAssignmentReceiver(UmsClientError):
    code, meaning, fix = "ITG-0A019", "invalid assignment receiver", _BUG


class NoHandler(UmsClientError):
    code, meaning = "ITG-0A020", "no handler is mapped for this request"
    fix = "this UMS does not offer the call (template keys need UMS 12.05.100 or later)"


class InvalidAssignment(UmsClientError):
    code, meaning = "ITG-0A021", "invalid assignment"
    fix = (
        "check that the profile fits the device's IGEL OS (IGEL OS 12 profiles only for OS 12 "
        "devices, OS 11 profiles only for OS 11 devices)"
    )


class ProfileInBin(UmsClientError):
    code, meaning = "ITG-0A022", "profile is in the recycle bin"
    fix = "restore the profile from the UMS recycle bin, or take it out of the inventory"


class DirectoryHasDefaultRule(UmsClientError):
    code, meaning = "ITG-0A023", "directory has a default directory rule"
    fix = "remove the default directory rule of this directory in the UMS first"


class InvalidThinClientName(UmsClientError):
    code, meaning = "ITG-0A024", "invalid thin client name"
    fix = "use 1 to 15 characters (letters, digits, '-') for the device name"


class NoAuthenticationHeader(UmsAuthError):
    code, meaning, fix = "ITG-0B001", "no authentication header found in request", _BUG


class InvalidCredentials(UmsAuthError):
    code, meaning = "ITG-0B002", "invalid login credentials"
    fix = "check the IMI user and password given to telework (the account must exist in UMS)"


class NoSessionId(UmsAuthError):
    code, meaning = "ITG-0B003", "no session ID found"
    fix = "log in again (telework does this once by itself)"


class SessionNotFound(UmsAuthError):
    code, meaning = "ITG-0B004", "no session found for the session ID (expired)"
    fix = "log in again (telework does this once by itself); sessions expire after 30 idle minutes"


class AccessDenied(UmsAuthError):
    code, meaning = "ITG-0B005", "access denied"
    fix = "give the IMI account UMS administrator rights on this object"


class NoValidApiVersion(UmsAuthError):
    code, meaning = "ITG-0B006", "no valid IMI API version"
    fix = "this UMS does not serve IMI v3 (needs UMS 5.07.100 or later)"


class NoUserInSession(UmsAuthError):
    code, meaning = "ITG-0B007", "no user found in session"
    fix = "log in again (telework does this once by itself)"


class LicenceRequired(UmsLicenceError):
    code, meaning = "ITG-0C001", "licence required: IMI is not licensed on this UMS"
    fix = (
        "IMI is not part of the UMS Essential edition: license it (Standard/Enterprise, or the "
        "Workspace Edition before UMS 12.07) or use an evaluation licence in a lab"
    )


class InvalidImiVersion(UmsLicenceError):
    code, meaning = "ITG-0C002", "invalid IMI version for the licence"
    fix = "the UMS licence does not cover IMI v3: check the licence in the UMS console"


class InternalError(UmsServerError):
    code, meaning = "ITG-FF001", "internal error"


class DatabaseError(UmsServerError):
    code, meaning = "ITG-FF002", "database error"


class CacheError(UmsServerError):
    code, meaning = "ITG-FF003", "cache error"


class ServerNotAvailable(UmsServerError):
    code, meaning = "ITG-FF004", "server not available"


class ObjectMappingError(UmsServerError):
    code, meaning = "ITG-FF005", "object mapping error"


class InvalidObjectType(UmsServerError):
    code, meaning = "ITG-FF006", "invalid object type"


#: every documented ITG code -> its exception class
BY_CODE: dict[str, type[UmsError]] = {
    cls.code: cls
    for cls in (
        ThinClientNotFound, TargetDirectoryNotFound, InvalidCommand, InvalidRequestBody,
        UnreadableJson, DirectoryNotEmpty, NoMacDefined, DuplicateKey, NoFirmwareDefined,
        NumberFormatError, MethodNotSupported, EmptyIdList, NoValidProperty, InvalidMacLength,
        FirmwareNotFound, ParentNotFound, TargetDirectoryInBin, ThinClientInBin,
        InvalidAssignmentReceiver, NoHandler, InvalidAssignment, ProfileInBin,
        DirectoryHasDefaultRule, InvalidThinClientName,
        NoAuthenticationHeader, InvalidCredentials, NoSessionId, SessionNotFound, AccessDenied,
        NoValidApiVersion, NoUserInSession,
        LicenceRequired, InvalidImiVersion,
        InternalError, DatabaseError, CacheError, ServerNotAvailable, ObjectMappingError,
        InvalidObjectType,
    )
}

#: codes after which a new login may help (the session expired or was lost)
SESSION_CODES = frozenset({"ITG-0B003", "ITG-0B004", "ITG-0B007"})


def from_response(
    operation: str, status: int, body: object, *, subject: str | None = None
) -> UmsError:
    """The exception for an IMI error answer (`body` is the decoded JSON, or None)."""
    code = body.get("errorCode") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    message = str(message) if message is not None else None
    cls = BY_CODE.get(str(code)) if code else None
    if cls is None:
        if status >= 500:
            cls = UmsServerError
        elif status == 401:
            cls = UmsAuthError
        else:
            cls = UmsRequestError
        if code:  # an ITG code the reference does not list: keep it visible
            message = f"{code} {message or ''}".strip()
    return cls(operation, subject=subject, status=status, ums_message=message)
