# A stand-in for locustio/locust:TAG, made offline from a debootstrap base (BASE) and
# Debian's python3-locust: what the image tests need of the real one, which is built FROM
# python:3.x-slim with Locust in /opt/venv. Like it: Locust on PATH, user locust (uid
# 1000) with its home as WORKDIR, ENTRYPOINT ["locust"], ports 8089 and 5557, no apt
# lists or downloaded packages left. APT_CONF: this machine's apt settings for reaching its
# archive (a snapshot mirror's expired Release files, a proxy), kept for the build stage.
ARG BASE
FROM ${BASE}
ARG APT_CONF=
RUN if [ -n "$APT_CONF" ]; then printf '%s\n' "$APT_CONF" > /etc/apt/apt.conf.d/99host; fi \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-locust \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --shell /bin/bash locust
USER locust
WORKDIR /home/locust
EXPOSE 8089 5557
ENTRYPOINT ["locust"]
