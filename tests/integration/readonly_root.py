"""readonly_root: starts a program the way ECS starts a container whose definition has
"readonlyRootFilesystem": true: every mount read-only except /proc, /sys, /dev and the
task's volumes, the image's files in a read-only place, then the image's user. Run as
root inside a mount namespace of its own (`unshare --mount`, whose mounts are private):
nothing it mounts is seen outside, and it all goes when the namespace's last process ends.

    readonly_root.py --bind SRC:DST ... --volume SRC:DST ... --user UID:GID -- ARGV...

--bind puts a directory of the test (the image's files) at DST, read-only; --volume
puts one at DST writable (a task volume); then it execs ARGV (the same pid), so what the
test started is the program itself.
"""
import argparse
import ctypes
import os
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 0x400, 0x800, 0x200000
KEEP = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
        "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
WRITABLE = ("/proc", "/sys", "/dev")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_void_p]


def mount(src, target, flags):
    if _libc.mount(src.encode() if src else None, target.encode(), None, flags, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {src or ''} {target}: {os.strerror(e)}")


def mounts():
    """(mount point, per-mount options) of this namespace, from /proc/self/mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            out.append((point, fields[5].split(",")))
    return out


def under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", action="append", default=[])
    ap.add_argument("--volume", action="append", default=[])
    ap.add_argument("--user", required=True)
    ap.add_argument("argv", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.argv[1:] if a.argv[:1] == ["--"] else a.argv
    mount(None, "/", MS_REC | MS_PRIVATE)  # never propagate to the host, whatever unshare did
    volumes = []
    for spec in a.bind + a.volume:
        src, dst = spec.split(":", 1)
        mount(src, dst, MS_BIND)
        if spec in a.volume:
            volumes.append(dst)
    for point, opts in mounts():
        if any(under(point, w) for w in WRITABLE) or any(under(point, v) for v in volumes):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for o in opts:
            flags |= KEEP.get(o, 0)
        mount(None, point, flags)
    uid, gid = (int(x) for x in a.user.split(":"))
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
