# What .ci/check-suites and .ci/sid-locust share (sourced): the Debian mirror and running
# a command in a chroot with a clean environment.

# The mirror this machine installs Debian from (its apt sources): no host name is kept in
# the repository.
debian_mirror() {
  local codename
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' |
    awk -v r="$codename" '$1 == r { print $2; exit }'
}

in_chroot() {
  local dir=$1; shift
  chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}
