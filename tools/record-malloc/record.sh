#!/bin/sh
# Records a program's malloc calls as an allocsim plain trace.
#
#   tools/record-malloc/record.sh [--max N] [--children] OUT.ops -- PROGRAM [ARGS...]
#
# Builds record-malloc.c with gcc (into a temporary directory, about a
# second), runs PROGRAM with the library preloaded and RECORD_MALLOC_OUT set,
# and leaves the trace in OUT.ops (`.ops` is the extension allocsim reads as
# the plain format; `OUT.ops.gz` works too: the trace is gzipped at the end).
#
#   --max N      stop recording after N ops (the trace is then a prefix of
#                the program's calls; blocks live at the cut stay live)
#   --children   also record the processes PROGRAM execs, one file each:
#                OUT.ops becomes OUT.PID.ops for every process
#
# The program's exit status is passed on. Replay the result with
#   ./bin/allocsim replay OUT.ops --malloc ptmalloc
set -eu

here=$(cd "$(dirname "$0")" && pwd)
max=
children=
while [ $# -gt 0 ]; do
  case "$1" in
    --max) max=$2; shift 2 ;;
    --children) children=1; shift ;;
    --) break ;;
    -*) echo "record.sh: unknown option $1" >&2; exit 64 ;;
    *) break ;;
  esac
done
[ $# -ge 3 ] && [ "$2" = "--" ] || { echo "usage: record.sh [--max N] [--children] OUT.ops -- PROGRAM [ARGS...]" >&2; exit 64; }
out=$1
shift 2

gz=
case "$out" in
  *.gz) gz=1; out=${out%.gz} ;;
esac
case "$out" in
  /*) ;;
  *) out="$(pwd)/$out" ;;
esac
if [ -n "$children" ]; then
  case "$out" in
    *.ops) target="${out%.ops}.%p.ops" ;;
    *) target="$out.%p" ;;
  esac
else
  target=$out
fi

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
gcc -O2 -std=gnu11 -Wall -Wextra -shared -fPIC -o "$build/record-malloc.so" "$here/record-malloc.c" -ldl -lpthread

status=0
RECORD_MALLOC_OUT=$target RECORD_MALLOC_MAX=${max:-0} LD_PRELOAD="$build/record-malloc.so" "$@" || status=$?

if [ -n "$gz" ]; then
  if [ -n "$children" ]; then
    for f in "${out%.ops}".*.ops; do [ -e "$f" ] && gzip -n -f "$f"; done
  else
    gzip -n -f "$out"
  fi
fi
exit $status
