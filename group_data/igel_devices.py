"""Defaults of the IGEL role (telework.roles.igel): how telework talks to the UMS.

Where the UMS is, its CA, the account, the managed root, profiles and ring firmware are the
organisation's and live in its inventory (`ums:`); what is here is the same everywhere.
"""

# Seconds one IMI request may take before telework gives up on the UMS (connect, read). The UMS
# answers a device list of a few thousand records in well under this.
igel_imi_timeout = 30.0
