"""testinfra helpers shared by the kit's Molecule scenarios.

Import from a scenario's tests with:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_shared"))
    from helpers import ...
Every service assertion prints `journalctl -u <unit>` when it fails, so CI logs say why.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def journal(host, unit: str, lines: int = 60) -> str:
    return host.run(f"journalctl -u {unit} --no-pager -n {lines}").stdout


def assert_service(host, unit: str) -> None:
    """Active and enabled, else fail with the unit's journal."""
    svc = host.service(unit)
    if not (svc.is_running and svc.is_enabled):
        state = f"{unit}: running={svc.is_running} enabled={svc.is_enabled}"
        raise AssertionError(f"{state}\n--- journalctl -u {unit}\n{journal(host, unit)}")


def unit_properties(host, unit: str, names: list[str]) -> dict[str, str]:
    out = host.check_output(f"systemctl show {unit} " + " ".join(f"-p {n}" for n in names))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def exposure(host, unit: str) -> float:
    """The overall exposure level from `systemd-analyze security` (0 best .. 10 worst)."""
    out = host.check_output(f"systemd-analyze security {unit} --no-pager 2>&1 | tail -n 1")
    m = re.search(r"exposure level for \S+: ([0-9.]+)", out)
    assert m, out
    return float(m.group(1))


def listeners(host) -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket."""
    out = host.check_output("ss -Hltn")
    result = set()
    for line in out.splitlines():
        local = line.split()[3]
        addr, _, port = local.rpartition(":")
        result.add((addr.strip("[]"), int(port)))
    return result


def secrets_dir() -> Path:
    """Where the converge kept generated secrets on the controller (scenario sets hybrid_secrets_dir)."""
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
