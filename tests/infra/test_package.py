"""infra/package makes a zip Lambda can run.

Builds the smallest function (unsubscribe) for arm64, the template's
default, with the manifest of the example campaign, and reads the zip as
Lambda would: a `bootstrap` that is executable and an ELF binary for the
right processor, the manifest beside it. Slow the first time (a release
cross-build, minutes); incremental afterwards.

Needs `estrade` built (ESTRADE_BIN, default target/debug/estrade) to
write the manifest. Runs as part of tests/run.
"""

import os
import stat
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

import cfn

sys.path.insert(0, str(cfn.REPO / "infra"))
import zip_function  # noqa: E402

ARCH = os.environ.get("ESTRADE_PACKAGE_ARCH", "arm64")
ESTRADE = Path(os.environ.get("ESTRADE_BIN", cfn.REPO / "target" / "debug" / "estrade"))


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not ESTRADE.is_file():
            raise AssertionError(f"{ESTRADE} missing: cargo build -p estrade (or set ESTRADE_BIN)")
        cls.work = tempfile.TemporaryDirectory(prefix="estrade-package-")
        work = Path(cls.work.name)
        site = work / "public"
        subprocess.run([ESTRADE, "build", "--root", cfn.REPO, "--out", site], check=True)
        cls.manifest = site / "_estrade" / "manifest.json"
        cls.zips = work / "zips"
        subprocess.run(
            [cfn.REPO / "infra" / "package", "--arch", ARCH, "--manifest", cls.manifest,
             "--out", cls.zips, "unsubscribe"],
            check=True,
        )

    @classmethod
    def tearDownClass(cls):
        cls.work.cleanup()

    def test_zip_holds_an_executable_bootstrap_for_the_architecture(self):
        with zipfile.ZipFile(self.zips / "unsubscribe.zip") as archive:
            self.assertEqual(archive.namelist(), ["bootstrap", "manifest.json"])
            entry = archive.getinfo("bootstrap")
            mode = entry.external_attr >> 16
            self.assertTrue(stat.S_ISREG(mode) and mode & 0o111, f"bootstrap mode {mode:o}")
            header = archive.read("bootstrap")[:64]
            self.assertEqual(header[:4], b"\x7fELF", "bootstrap is an ELF binary")
            self.assertEqual(header[4], 2, "64-bit")
            self.assertEqual(zip_function.elf_machine(header), zip_function.ELF_MACHINES[ARCH])
            # ET_EXEC or ET_DYN (Rust links position-independent executables).
            self.assertIn(int.from_bytes(header[16:18], "little"), (2, 3))
            self.assertEqual(archive.read("manifest.json"), self.manifest.read_bytes())
            for info in archive.infolist():
                self.assertEqual(info.date_time, zip_function.FIXED_TIME)

    def test_zipping_again_gives_the_same_bytes(self):
        with zipfile.ZipFile(self.zips / "unsubscribe.zip") as archive:
            bootstrap = Path(self.work.name) / "bootstrap"
            bootstrap.write_bytes(archive.read("bootstrap"))
        again = Path(self.work.name) / "again.zip"
        zip_function.main(str(bootstrap), str(self.manifest), str(again), ARCH)
        self.assertEqual(again.read_bytes(), (self.zips / "unsubscribe.zip").read_bytes())

    def test_a_binary_for_the_other_architecture_is_refused(self):
        other = "x86_64" if ARCH == "arm64" else "arm64"
        with zipfile.ZipFile(self.zips / "unsubscribe.zip") as archive:
            bootstrap = Path(self.work.name) / "bootstrap-other"
            bootstrap.write_bytes(archive.read("bootstrap"))
        with self.assertRaises(SystemExit):
            zip_function.main(str(bootstrap), "", str(Path(self.work.name) / "x.zip"), other)


if __name__ == "__main__":
    unittest.main()
