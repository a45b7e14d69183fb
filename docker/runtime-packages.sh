# Prints the Debian packages the image must add so that the given programs run: the
# owners of every shared library they load (ldd), less those the base has at the version
# they were built against. BASE_LIST: the base's "package version" lines (dpkg-query).
# Usage (build stage of docker/Dockerfile): sh runtime-packages.sh BASE_LIST PROGRAM...
set -eu
base=$1
shift
missing=$(ldd "$@" | awk '/not found/ { print $1 }' | sort -u)
if [ -n "$missing" ]; then
  echo "runtime-packages: the programs need libraries that are not installed:" $missing >&2
  exit 1
fi
libs=$(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
# ldd names the link (/lib/x/libz.so.1) that ldconfig made, or a package shipped; the
# file it points to is the package's, under /usr/lib or, before merged /usr, /lib.
# One dpkg -S for every spelling of every library: it reads the whole database each time.
paths=
for lib in $libs; do
  real=$(readlink -f "$lib")
  paths="$paths $lib $real ${real#/usr}"
done
owned=$(dpkg -S $paths 2>/dev/null | grep -v '^diversion' || :)
all=
for lib in $libs; do
  real=$(readlink -f "$lib")
  # "pkg[:arch][, pkg...]: path" lines whose path is one of this library's spellings
  owners=$(printf '%s\n' "$owned" |
           awk -v a="$lib" -v b="$real" -v c="${real#/usr}" \
             '$NF == a || $NF == b || $NF == c { sub(/: [^ ]*$/, ""); print }' |
           tr ',' '\n' | sed 's/^ *//; s/:.*//')
  if [ -z "$owners" ]; then
    echo "runtime-packages: no Debian package owns $lib" >&2
    exit 1
  fi
  all="$all $owners"
done
# a package the build stage upgraded (a newer libc6 for the -dev packages) is installed
# again in the final stage, so that the programs find the symbols they were linked with
dpkg-query -W -f='${Package} ${Version}\n' $(printf '%s\n' $all | sort -u) |
  grep -vxF -f "$base" | cut -d' ' -f1 | sort -u
