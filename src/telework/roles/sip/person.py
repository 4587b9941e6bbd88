"""What the SIP role adds to `telework person show`: which SIP server the person's number is
registered on and as whom, whether their SIP password exists, and each desk phone's
provisioning URL. Read from the inventory and the secret index; nothing is decrypted."""

from __future__ import annotations

from telework.inventory.loaded import LoadedInventory
from telework.roles.registry import PersonFacts
from telework.roles.sip.provisioning import device_secret, provisioned_phones
from telework.roles.sip.server import sip_view
from telework.secrets.store import SecretStore


def person_facts(loaded: LoadedInventory, username: str) -> PersonFacts:
    facts = PersonFacts()
    store = SecretStore(loaded.root)
    for server in loaded.model.sip_servers:
        view = sip_view(loaded, server.name)
        sub = view.subscriber(username)
        if sub is None:
            continue
        has_password = store.exists(sub.password_secret)
        facts.json["sip"] = {"server": server.name, "user": sub.extension, "domain": view.realm,
                             "did": sub.did, "password_set": has_password}
        facts.lines.append(f"SIP: {sub.extension}@{view.realm} on {server.name} ({sub.did}); password "
                           + ("set" if has_password else f"missing (run `telework sip init {loaded.root}`)"))
        for p in provisioned_phones(view):
            if p.subscriber.username != username:
                continue
            url = f"https://{view.realm}/p/{p.mac}/{p.file_name}"
            ready = store.exists(device_secret(p.phone.mac))
            facts.devices[p.phone.mac] = {"provisioning_url": url, "provisioning_user": p.mac,
                                          "provisioning_password_set": ready}
            facts.device_details[p.phone.mac] = f"provisioning {url}" + ("" if ready else " (no password yet)")
        break
    if "sip" not in facts.json:
        facts.json["sip"] = None
    return facts
