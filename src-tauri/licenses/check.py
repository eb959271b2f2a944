#!/usr/bin/env python3
"""Checks that the About view's licence list (third-party.json, made by cargo-about) names every crate
Cargo.lock now builds into the app, without needing cargo-about itself: the crates are read from
`cargo tree -e normal,no-proc-macro` of parley-app for each target in about.toml (what build scripts,
proc macros and tests use is not shipped; workspace crates are left out as about.toml does). The list
may name a few more (proc macros among them):
cargo-about resolves features more loosely than cargo does, so it errs on the side of listing.

    python3 src-tauri/licenses/check.py   # exit 1 with the differences when the list is stale
"""

import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIST = ROOT / "src-tauri/licenses/third-party.json"
ABOUT = ROOT / "src-tauri/about.toml"
APP = "parley-app"


def targets():
    """The target triples about.toml lists (a small TOML subset: one quoted triple per line)."""
    text = ABOUT.read_text()
    block = re.search(r"^targets\s*=\s*\[(.*?)\]", text, re.S | re.M)
    return re.findall(r'"([^"]+)"', block.group(1))


def shipped_crates(target):
    """(name, version) of every non-workspace crate the app links on `target`."""
    out = subprocess.run(
        ["cargo", "tree", "--locked", "-p", APP, "-e", "normal,no-proc-macro", "--target", target,
         "--prefix", "none", "--format", "{p}", "--manifest-path", str(ROOT / "Cargo.toml")],
        check=True, capture_output=True, text=True, cwd=ROOT).stdout
    crates = set()
    for line in out.splitlines():
        match = re.match(r"^(\S+) v(\S+)(.*)$", line.strip())
        if match and "(/" not in match.group(3):
            crates.add((match.group(1), match.group(2)))
    return crates


def main():
    wanted = set()
    for target in targets():
        wanted |= shipped_crates(target)
    listed = {(c["name"], c["version"]) for c in json.loads(LIST.read_text())["crates"]}
    missing, extra = sorted(wanted - listed), sorted(listed - wanted)
    for name, version in missing:
        print(f"not in the list but shipped: {name} {version}", file=sys.stderr)
    if missing:
        print(f"{LIST.relative_to(ROOT)} is not current for Cargo.lock; regenerate it with: "
              "bash src-tauri/scripts/licences.sh (and commit it)", file=sys.stderr)
        return 1
    print(f"{LIST.relative_to(ROOT)} is current: all {len(wanted)} shipped crates listed "
          f"({len(extra)} more listed than cargo tree resolves)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
