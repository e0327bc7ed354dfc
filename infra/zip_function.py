"""Writes one Lambda zip the same way every time (used by infra/package).

    python infra/zip_function.py BOOTSTRAP MANIFEST_OR_EMPTY OUT.zip ARCH

The zip holds `bootstrap` (mode 755) and, when a manifest is given,
`manifest.json` (644), in sorted order, dated 1980-01-01: the same inputs
give the same bytes, so the deploy can compare digests. Refuses a
bootstrap that is not a 64-bit ELF executable for ARCH, which is what
Lambda would otherwise report at the first request.
"""

import hashlib
import os
import sys
import zipfile

# e_machine of the ELF header, as Lambda's two architectures need it.
ELF_MACHINES = {"arm64": 0xB7, "x86_64": 0x3E}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def elf_machine(header: bytes) -> int | None:
    """The e_machine of a little-endian 64-bit ELF header, else None."""
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
        return None
    return int.from_bytes(header[18:20], "little")


def add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    entry = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # Unix, so that the mode below is honoured
    entry.external_attr = (0o100000 | mode) << 16
    archive.writestr(entry, data, compresslevel=9)


def main(bootstrap: str, manifest: str, out: str, arch: str) -> int:
    with open(bootstrap, "rb") as file:
        binary = file.read()
    machine = elf_machine(binary[:64])
    if machine != ELF_MACHINES[arch]:
        sys.exit(f"{bootstrap}: not a 64-bit ELF executable for {arch} (e_machine {machine})")
    entries = {"bootstrap": (binary, 0o755)}
    if manifest:
        with open(manifest, "rb") as file:
            entries["manifest.json"] = (file.read(), 0o644)
    partial = out + ".partial"
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            data, mode = entries[name]
            add(archive, name, data, mode)
    os.replace(partial, out)
    with open(out, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    size = os.path.getsize(out)
    print(
        f"{out}: {size / 1e6:.1f} MB zipped, bootstrap {len(binary) / 1e6:.1f} MB"
        f" ({arch}){', with manifest.json' if manifest else ''}; sha256 {digest[:16]}"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[4] not in ELF_MACHINES:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
