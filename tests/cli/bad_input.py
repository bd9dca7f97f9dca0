#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Bad input never destroys data: the host tools, fed what a new user might
type by mistake, answer with one line and leave every file as it was.

    tests/cli/bad_input.py build/tools/khib

Each row of CASES runs one khib command in a fresh scratch directory holding
fixtures (an image, an ELF core, an ext4 file system, a swap area, a GPT
disk, random bytes, a FIFO, symlinks), and checks the exit status, the one
line on stderr, how fast it answered (a FIFO must not hang it), and that
the files named in `keep` are byte for byte what they were.  Prints "ok" or
"FAIL" per row and closes with "N passed, N failed".  Needs root (it makes
a character device node) and mkfs.ext4, mkswap and sfdisk (scripts/deps.sh
installs them).  It never names a path outside its scratch directory: the
bugs it guards against delete and overwrite what they are given.
"""
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORE = os.path.join(TOP, "tests", "fuzz", "corpus", "elfcore", "core1")
MIB = 1 << 20


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fixtures(khib, d):
    """The scratch directory's files; returns nothing, names are fixed."""
    def path(n):
        return os.path.join(d, n)
    shutil.copy(CORE, path("core"))
    sh(khib, "import-elf", path("core"), path("img"))
    shutil.copy(path("img"), path("img2"))
    for name, size in (("ext4", 8 * MIB), ("swap", MIB), ("gpt", 8 * MIB), ("blank", 4096)):
        with open(path(name), "wb") as f:
            f.truncate(size)
    sh("mkfs.ext4", "-q", "-F", path("ext4"))
    sh("mkswap", "-q", path("swap"))
    subprocess.run(["sfdisk", "-q", path("gpt")], input=b"label: gpt\n,1MiB\n", check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(path("random"), "wb") as f:
        f.write(os.urandom(64 << 10))
    with open(path("keep"), "wb") as f:
        f.write(b"somebody's work\n" * 100)
    with open(path("corrupt"), "wb") as f:
        data = bytearray(open(path("img"), "rb").read())
        data[0x1000 + 64] ^= 0xff  # the header, under its checksum
        f.write(data)
    with open(path("nul.conf"), "wb") as f:
        f.write(b"codec = lz4\n\0target = /dev/vda\n")
    with open(path("short"), "wb") as f:
        f.write(os.urandom(16))
    # A key directory with one key file enrolled, one whose key file was
    # changed since, and one with none.
    for name, text in (("keys.conf", "key-dir = keys\n"), ("nokeys.conf", "key-dir = nokeys\n"),
                       ("changed.conf", "key-dir = changed\n"),
                       ("target.conf", f"target = {path('img2')}\n"),
                       ("dir.conf", f"target = {path('dir')}\n"),
                       ("setup.conf", "# khib setup must not change this\nkey-dir = nokeys\n")):
        with open(path(name), "w") as f:
            f.write(text)
    shutil.copy(path("random"), path("random2"))
    for conf, keyfile in (("keys.conf", "random"), ("changed.conf", "random2")):
        subprocess.run([khib, "key", "enroll", "key-file", keyfile, "--name", "usb"], cwd=d,
                       env=dict(os.environ, KHIB_CONFIG=conf), check=True,
                       stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    with open(path("random2"), "wb") as f:
        f.write(os.urandom(64))
    # An image encrypted for the enrolled key file.
    sh(khib, "import-elf", "--key-file", path("random"), path("core"), path("img-enc"))
    os.mkfifo(path("fifo"))
    os.mkdir(path("dir"))
    os.symlink(path("core"), path("core-link"))
    # A character device of our own, like /dev/null (1:3): a regression
    # that deletes its output must not take the machine's /dev/null along.
    os.mknod(path("null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.symlink(path("null"), path("null-link"))


def check_lines(khib, d, conf, *args):
    """khib check's stdout as (level, name, text) rows."""
    r = subprocess.run([khib, "check", *args], cwd=d, capture_output=True, text=True,
                       env=dict(os.environ, KHIB_CONFIG=conf))
    if args:
        return json.loads(r.stdout)
    return [tuple(line.split(None, 2)) for line in r.stdout.splitlines()]


CHECK_NAMES = ["kernel", "kexec", "hibernation", "return", "keys", "writer", "writer-initrd",
               "target", "initramfs", "systemd"]


def check_unconfigured(khib, d):
    rows = check_lines(khib, d, "nokeys.conf")
    return ([r[1] for r in rows] == CHECK_NAMES and ("fail", "target", "no target; set "
            "target= in /etc/khib.conf") in rows and
            ("fail", "keys", "no key is enrolled, so the image would hold this machine's "
             "memory in clear; enroll one (khib key enroll passphrase), or ask for clear images "
             "(encrypt = no in /etc/khib.conf, or --clear)") in rows)


def check_json(khib, d):
    out = check_lines(khib, d, "target.conf", "--json")
    levels = {c["name"]: c["level"] for c in out["checks"]}
    target = [c for c in out["checks"] if c["name"] == "target"][0]
    return (out["ok"] is False and [c["name"] for c in out["checks"]] == CHECK_NAMES and
            set(levels.values()) <= {"ok", "skip", "warn", "fail"} and
            levels["target"] == "fail" and "img2" in target["text"] and
            all(set(c) == {"name", "level", "text", "fix"} for c in out["checks"]))


def check_target_directory(khib, d):
    want = ("fail", "target", f"target '{os.path.join(d, 'dir')}': a directory, not a block "
            "device or a file")
    return want in check_lines(khib, d, "dir.conf")


# name, argv (after khib), exit status, stderr pattern (one line), files kept,
# extra check (a function of the directory) or None, environment.
CASES = [
    # invalidate writes only to a khib image
    ("invalidate_ext4", ["invalidate", "ext4"], 1, r"'ext4' holds no khib image", ["ext4"]),
    ("invalidate_swap", ["invalidate", "swap"], 1, r"holds no khib image", ["swap"]),
    ("invalidate_gpt", ["invalidate", "gpt"], 1, r"holds no khib image", ["gpt"]),
    ("invalidate_random", ["invalidate", "random"], 1, r"holds no khib image", ["random"]),
    ("invalidate_blank", ["invalidate", "blank"], 0, r"^$", ["blank"]),
    ("invalidate_fifo", ["invalidate", "fifo"], 1, r"not a regular file or block device", []),
    ("invalidate_chardev", ["invalidate", "null"], 1,
     r"not a regular file or block device", []),
    ("invalidate_missing", ["invalidate", "nothere"], 1, r"No such file", []),
    # without IMAGE, the configured target (khib-discard.service at boot)
    ("invalidate_configured", ["invalidate"], 0, r"^$", [],
     lambda k, d: subprocess.run([k, "verify", "img2"], cwd=d,
                                 capture_output=True).returncode == 1,
     {"KHIB_CONFIG": "target.conf"}),
    ("invalidate_unconfigured", ["invalidate"], 0, r"^$", ["img", "img2"], None,
     {"KHIB_CONFIG": "nokeys.conf"}),
    ("invalidate_image", ["invalidate", "img2"], 0, r"^$", [],
     lambda k, d: subprocess.run([k, "verify", "img2"], cwd=d,
                                 capture_output=True).returncode == 1),
    # import-elf never writes over its input or somebody's data
    ("import_same_file", ["import-elf", "core", "core"], 2, r"are the same file", ["core"]),
    ("import_same_via_link", ["import-elf", "core", "core-link"], 2, r"are the same file",
     ["core"]),
    ("import_over_ext4", ["import-elf", "core", "ext4"], 1, r"'ext4' holds ext4", ["ext4"]),
    ("import_over_swap", ["import-elf", "core", "swap"], 1, r"holds swap", ["swap"]),
    ("import_over_gpt", ["import-elf", "core", "gpt"], 1, r"holds a gpt partition table",
     ["gpt"]),
    ("import_from_fifo", ["import-elf", "fifo", "new.img"], 1,
     r"not a regular file or block device", [], lambda k, d: not os.path.exists(
         os.path.join(d, "new.img"))),
    ("import_from_random", ["import-elf", "random", "keep"], 1, r"reading ELF core", ["keep"]),
    ("import_chunk_pages_0", ["import-elf", "--chunk-pages", "0", "core", "x.img"], 2,
     r"--chunk-pages '0': expected 1\.\.65536", []),
    ("import_chunk_pages_3", ["import-elf", "--chunk-pages", "3", "core", "odd.img"], 0, r"^$",
     ["core"], lambda k, d: subprocess.run([k, "verify", "odd.img"], cwd=d,
                                           capture_output=True).returncode == 0),
    # export-elf never writes over its image, never deletes what it did not make
    ("export_same_file", ["export-elf", "img", "img"], 2, r"are the same file", ["img"]),
    ("export_to_chardev", ["export-elf", "img", "null"], 1,
     r"not a regular file or block device",
     [], lambda k, d: stat.S_ISCHR(os.stat(os.path.join(d, "null")).st_mode)),
    ("export_to_link", ["export-elf", "img", "null-link"], 1,
     r"not a regular file or block device", [],
     lambda k, d: os.path.islink(os.path.join(d, "null-link"))),
    ("export_corrupt_keeps_out", ["export-elf", "corrupt", "keep"], 1, r"corrupt|checksum|Bad",
     ["keep", "corrupt"]),
    ("export_from_fifo", ["export-elf", "fifo", "out.elf"], 1,
     r"not a regular file or block device", [],
     lambda k, d: not os.path.exists(os.path.join(d, "out.elf"))),
    # readers never hang on a FIFO
    ("inspect_fifo", ["inspect", "fifo"], 1, r"not a regular file or block device", []),
    ("verify_fifo", ["verify", "fifo"], 1, r"not a regular file or block device", []),
    ("jump_no_kernel", ["jump", "--dry-run"], 2,
     r"^khib: jump: --kernel is required \(see 'khib jump --help'\)$", []),
    ("jump_argument", ["jump", "--dry-run", "--kernel", "img", "img2"], 2,
     r"^khib: jump: unexpected argument 'img2'$", []),
    ("jump_kernel_fifo", ["jump", "--dry-run", "--kernel", "fifo"], 1,
     r"not a regular file or block device", []),
    ("resume_image_fifo", ["resume", "--dry-run", "--image", "fifo"], 1,
     r"not a regular file or block device", []),
    ("resume_empty_image", ["resume", "--image", ""], 2, r"--image: an empty path", []),
    ("config_fifo", ["resume", "--dry-run", "--image", "img"], 1, r"fifo: not a regular file",
     ["img"], None, {"KHIB_CONFIG": "fifo"}),
    ("config_nul", ["resume", "--dry-run", "--image", "img"], 1, r"line 2: a NUL byte",
     ["img"], None, {"KHIB_CONFIG": "nul.conf"}),
    # option errors in khib's words, like every other message
    ("unknown_option", ["verify", "--bogus", "img"], 2, r"^khib: verify: unknown option '--bogus'$",
     ["img"]),
    ("option_without_value", ["export-elf", "img", "out.elf", "--threads"], 2,
     r"^khib: export-elf: option '--threads' needs a value$", ["img"],
     lambda k, d: not os.path.exists(os.path.join(d, "out.elf"))),
    ("hibernate_region_size", ["hibernate", "--target", "img2", "--region-size", "3M"], 2,
     r"^khib: --region-size '3M': not a positive multiple of 2M$", ["img2"]),
    # memory is written in clear only when asked, and never while a key is enrolled
    ("hibernate_clear_unasked", ["hibernate", "--target", "img2"], 1,
     r"no key is enrolled, so the image would hold this machine's memory in clear", ["img2"],
     None, {"KHIB_CONFIG": "nokeys.conf"}),
    ("hibernate_clear_with_key", ["hibernate", "--target", "img2", "--clear"], 1,
     r"keys are enrolled and resume refuses images in clear", ["img2"], None,
     {"KHIB_CONFIG": "keys.conf"}),
    # khib key: names stay inside the key directory, bad key files are named
    ("key_enroll_bad_name", ["key", "enroll", "key-file", "random", "--name", "../x"], 2,
     r"'\.\./x' is not a name for a key", [], lambda k, d: not os.path.exists(
         os.path.join(d, "x")), {"KHIB_CONFIG": "keys.conf"}),
    ("key_enroll_short_file", ["key", "enroll", "key-file", "short"], 1,
     r"the key file '.*short' holds 16 bytes", [],
     lambda k, d: os.listdir(os.path.join(d, "keys")) == ["usb"], {"KHIB_CONFIG": "keys.conf"}),
    ("key_enroll_twice", ["key", "enroll", "key-file", "random", "--name", "usb"], 1,
     r"a key named 'usb' is enrolled already", ["keys/usb"], None, {"KHIB_CONFIG": "keys.conf"}),
    ("key_enroll_what", ["key", "enroll"], 2, r"say what to enroll", [], None,
     {"KHIB_CONFIG": "keys.conf"}),
    ("key_remove_missing", ["key", "remove", "nope"], 1, r"no key named 'nope'", ["keys/usb"],
     None, {"KHIB_CONFIG": "keys.conf"}),
    ("key_test_changed_file", ["key", "test", "usb"], 1, r"is not the key file enrolled as 'usb'",
     ["changed/usb"], None, {"KHIB_CONFIG": "changed.conf"}),
    # the offline tools open an encrypted image with the keys enrolled, or say which is missing
    ("verify_enrolled_key", ["verify", "img-enc"], 0, r"^$", ["img-enc"], None,
     {"KHIB_CONFIG": "keys.conf"}),
    ("verify_no_key", ["verify", "img-enc"], 1,
     r"the image is encrypted and this boot has no key for it", ["img-enc"], None,
     {"KHIB_CONFIG": "nokeys.conf"}),
    # khib setup: a target too small, not a file, or somebody's data is
    # refused before anything changes; a dry run changes nothing
    ("setup_size_bad", ["setup", "--size", "lots", "new.img"], 2,
     r"^khib: setup: --size 'lots': expected a size such as 2G$", ["setup.conf"],
     lambda k, d: not os.path.exists(os.path.join(d, "new.img")), {"KHIB_CONFIG": "setup.conf"}),
    ("setup_size_small", ["setup", "--size", "1M", "new.img"], 1,
     r"--size of 1 MiB is less than this machine's worst case of \d+ MiB", ["setup.conf"],
     lambda k, d: not os.path.exists(os.path.join(d, "new.img")), {"KHIB_CONFIG": "setup.conf"}),
    ("setup_two_targets", ["setup", "a.img", "b.img"], 2, r"unexpected argument 'b\.img'",
     ["setup.conf"], None, {"KHIB_CONFIG": "setup.conf"}),
    ("setup_empty_target", ["setup", ""], 2, r"an empty TARGET", ["setup.conf"], None,
     {"KHIB_CONFIG": "setup.conf"}),
    ("setup_directory", ["setup", "dir"], 1, r"target '.*/dir': a directory, not a file",
     ["setup.conf"], None, {"KHIB_CONFIG": "setup.conf"}),
    ("setup_fifo", ["setup", "fifo"], 1, r"target '.*/fifo': not a regular file",
     ["setup.conf"], None, {"KHIB_CONFIG": "setup.conf"}),
    ("setup_over_ext4", ["setup", "ext4"], 1, r"target '.*/ext4' holds ext4.*not khib's",
     ["setup.conf", "ext4"], None, {"KHIB_CONFIG": "setup.conf"}),
    ("setup_dry_run", ["setup", "--dry-run", "new.img"], 0, r"^$", ["setup.conf"],
     lambda k, d: not os.path.exists(os.path.join(d, "new.img")), {"KHIB_CONFIG": "setup.conf"}),
    # khib check: every check's line whatever fails, exit 1; no round trip then
    ("check_unconfigured", ["check"], 1, r"^$", [], check_unconfigured,
     {"KHIB_CONFIG": "nokeys.conf"}),
    ("check_json", ["check", "--json"], 1, r"^$", ["img2"], check_json,
     {"KHIB_CONFIG": "target.conf"}),
    ("check_round_trip_refused", ["check", "--round-trip"], 1,
     r"^khib: check: no round trip while a check fails$", ["img2"], None,
     {"KHIB_CONFIG": "target.conf"}),
    ("check_json_round_trip", ["check", "--json", "--round-trip"], 2,
     r"--json and --round-trip do not go together", []),
    ("check_argument", ["check", "img2"], 2, r"^khib: check: unexpected argument 'img2'$",
     ["img2"]),
    ("check_unknown_option", ["check", "--target", "img2"], 2,
     r"^khib: check: unknown option '--target'$", ["img2"]),
    ("check_target_directory", ["check"], 1, r"^$", [], check_target_directory,
     {"KHIB_CONFIG": "dir.conf"}),
    ("check_bad_config", ["check"], 1, r"nul.conf: line 2: a NUL byte", [], None,
     {"KHIB_CONFIG": "nul.conf"}),
    ("hibernate_changed_key_file", ["hibernate", "--target", "img2"], 1,
     r"the key file '.*random2' is not the one enrolled as 'usb'", ["img2"], None,
     {"KHIB_CONFIG": "changed.conf"}),
]


def digest(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return "missing"


def run_case(khib, d, case):
    name, argv, want_rc, pattern, keep = case[:5]
    extra = case[5] if len(case) > 5 else None
    env = dict(os.environ, **(case[6] if len(case) > 6 else {}))
    before = {k: digest(os.path.join(d, k)) for k in keep}
    t0 = time.monotonic()
    try:
        r = subprocess.run([khib, *argv], cwd=d, env=env, capture_output=True, text=True,
                           timeout=20)
    except subprocess.TimeoutExpired:
        return "hung (killed after 20 s)"
    took = time.monotonic() - t0
    err = r.stderr.strip("\n")
    problems = []
    if r.returncode != want_rc:
        problems.append(f"exit {r.returncode}, want {want_rc}")
    if len(err.splitlines()) > 1:
        problems.append(f"{len(err.splitlines())} lines on stderr")
    if not re.search(pattern, err):
        problems.append(f"stderr {err!r} lacks /{pattern}/")
    if err and not err.startswith("khib: "):
        problems.append("stderr lacks the 'khib: ' prefix")
    if took > 10:
        problems.append(f"took {took:.1f} s")
    for k, h in before.items():
        if digest(os.path.join(d, k)) != h:
            problems.append(f"'{k}' changed")
    try:
        extra_ok = extra is None or extra(khib, d)
    except OSError as e:
        extra_ok = False
        problems.append(str(e))
    if not extra_ok:
        problems.append("its extra check failed")
    return "; ".join(problems)


def main(argv):
    if len(argv) != 1:
        print("usage: bad_input.py KHIB")
        return 2
    khib = os.path.abspath(argv[0])
    passed = failed = 0
    for case in CASES:
        # Fresh fixtures for every row: one row's damage must not hide
        # another's.
        with tempfile.TemporaryDirectory(prefix="khib-cli-") as d:
            fixtures(khib, d)
            problem = run_case(khib, d, case)
            if problem:
                failed += 1
                print(f"FAIL {case[0]}: {problem}")
            else:
                passed += 1
                print(f"ok   {case[0]}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
