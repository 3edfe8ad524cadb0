"""Filters for the firewall role: address checks without netaddr on the controller."""

from __future__ import annotations

import ipaddress


def ip_in_cidrs(address: str, cidrs: list[str]) -> bool:
    """True when address lies in any of the networks (IPv4 or IPv6)."""
    ip = ipaddress.ip_address(str(address).strip())
    return any(ip in ipaddress.ip_network(str(c), strict=False) for c in cidrs)


def cidrs_of_family(cidrs: list[str], family: int) -> list[str]:
    """The networks of one family (4 or 6), normalised; a bad network is an error naming it."""
    out = []
    for c in cidrs:
        try:
            net = ipaddress.ip_network(str(c), strict=False)
        except ValueError as exc:
            raise ValueError(f"not a network: {c!r} ({exc})") from None
        if net.version == int(family):
            out.append(str(net))
    return out


class FilterModule:
    def filters(self):
        return {"ip_in_cidrs": ip_in_cidrs, "cidrs_of_family": cidrs_of_family}
