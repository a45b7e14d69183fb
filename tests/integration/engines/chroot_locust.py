#!/usr/bin/python3
"""An engine for the tests: the Locust of another Debian root (sid's newest), run on this
host's loopback. locust-entrypoint executes this file as LOCUST_ECS_ENGINE with Locust's
arguments; it becomes that Locust (same pid, no shell, no child):

  LE_CHROOT        the root (made by .ci/sid-locust)
  LE_CHROOT_BINDS  colon-separated directories under /tmp to show inside the root at the
                   same paths (the test's locustfile, state, plugin copy)
  LE_CHROOT_EXEC   the program inside the root, default /usr/bin/locust

Everything it mounts is in a mount namespace of its own, made private first: the host
sees none of it, and it all goes when the last process in it ends (nothing to unmount,
even after a SIGKILL). /tmp inside the root is a fresh tmpfs, so the cached root is
never written. Needs root (CAP_SYS_ADMIN, CAP_SYS_CHROOT).
"""
import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]


def die(what):
    e = ctypes.get_errno()
    sys.stderr.write(f"chroot_locust: unable to {what}: {os.strerror(e)}\n")
    sys.exit(126)


def mount(src, dst, fstype, flags, data=None):
    enc = [x.encode() if isinstance(x, str) else x for x in (src, dst, fstype, data)]
    if libc.mount(enc[0], enc[1], enc[2], flags, enc[3]) != 0:
        die(f"mount {src} on {dst}")


def main():
    root = os.environ.get("LE_CHROOT")
    if not root or not os.path.isdir(root):
        sys.stderr.write("chroot_locust: LE_CHROOT names no directory\n")
        sys.exit(126)
    binds = [b for b in os.environ.get("LE_CHROOT_BINDS", "").split(":") if b]
    for b in binds:
        if not b.startswith("/tmp/") or ".." in b.split("/"):
            sys.stderr.write(f"chroot_locust: {b!r} is not a directory under /tmp\n")
            sys.exit(126)
    if libc.unshare(CLONE_NEWNS) != 0:
        die("make a mount namespace")
    # nothing below may reach the host's mounts
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", f"{root}/tmp", "tmpfs", 0, "mode=1777")
    for d in ("proc", "dev", "sys"):
        mount(f"/{d}", f"{root}/{d}", None, MS_BIND | MS_REC)
    for b in binds:
        inside = root + b
        os.makedirs(inside, exist_ok=True)
        mount(b, inside, None, MS_BIND | MS_REC)
    cwd = os.getcwd()
    os.chroot(root)
    os.chdir(cwd if os.path.isdir(cwd) else "/")
    prog = os.environ.get("LE_CHROOT_EXEC", "/usr/bin/locust")
    os.execv(prog, [prog, *sys.argv[1:]])


if __name__ == "__main__":
    main()
