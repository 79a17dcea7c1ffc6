#!/bin/sh
# Runs before `npm test` (the pretest script): the system programs the tests
# start themselves must be on this machine: redis-server, for the distributed
# fuzz campaign test (a real Redis on 127.0.0.1); tmux, the terminal in
# which the test of `allocsim top` drives the live view; and chromium, the
# headless browser the report tests open the reports in (playwright-core
# drives /usr/bin/chromium; no browser is downloaded).
#
# Missing and root with apt-get: installs it from the distribution's
# packages. Otherwise: stops with the one line to run.
set -eu

missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "allocsim tests: installing$missing from the distribution's packages (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be stale or absent on a fresh machine: update once if the install fails.
  if ! apt-get install -y --no-install-recommends $missing >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends $missing >/dev/null
  fi
  command -v redis-server >/dev/null 2>&1 && command -v tmux >/dev/null 2>&1 && [ -x /usr/bin/chromium ] && exit 0
fi

echo "allocsim tests need$missing; install them first: sudo apt-get install -y --no-install-recommends$missing" >&2
exit 1
