"""What the base role renders for one host, from the inventory and the environment overlay."""

from __future__ import annotations

from dataclasses import dataclass

from telework.inventory.loaded import LoadedInventory


@dataclass(frozen=True)
class BaseView:
    #: HTTP proxy for apt (None: the host reaches its mirrors directly)
    apt_proxy: str | None
    #: IANA time zone, e.g. Europe/Berlin
    timezone: str


def base_view(loaded: LoadedInventory, overlay_apt_proxy: str | None = None) -> BaseView:
    """The baseline of a host; an environment overlay (the lab) may point it at its own proxy."""
    settings = loaded.model.organisation.settings
    return BaseView(apt_proxy=overlay_apt_proxy or settings.apt_proxy, timezone=settings.timezone)
