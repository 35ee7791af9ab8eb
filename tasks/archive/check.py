"""Check an archive bundle against its SHA256SUMS, as `sha256sum -c` would (no Prefect)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import fsspec


@dataclass
class BundleCheck:
    files: list[str] = field(default_factory=list)  # every file in the bundle
    verified: list[str] = field(default_factory=list)  # listed in SHA256SUMS and matching
    problems: list[str] = field(default_factory=list)  # one plain sentence each

    @property
    def ok(self) -> bool:
        return bool(self.verified) and not self.problems


def check_bundle(uri: str) -> BundleCheck:
    """Every file SHA256SUMS lists must exist and match; every other file must be listed."""
    fs, base = fsspec.core.url_to_fs(uri)
    check = BundleCheck()
    if not fs.exists(f"{base}/SHA256SUMS"):
        check.problems.append(f"{uri} has no SHA256SUMS")
        return check
    check.files = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(base, detail=False))
    listed: set[str] = set()
    for line in fs.cat_file(f"{base}/SHA256SUMS").decode().splitlines():
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        name = name.strip()
        listed.add(name)
        if not fs.exists(f"{base}/{name}"):
            check.problems.append(f"{name} is listed in SHA256SUMS but missing")
        elif hashlib.sha256(fs.cat_file(f"{base}/{name}")).hexdigest() != digest.strip():
            check.problems.append(f"{name} does not match its checksum")
        else:
            check.verified.append(name)
    for name in check.files:
        if name not in listed and name != "SHA256SUMS":
            check.problems.append(f"{name} is not listed in SHA256SUMS")
    return check
