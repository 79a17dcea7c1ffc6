#!/bin/sh
# Rebuilds the real-program traces of data/traces/programs/ with record.sh:
#
#   gcc-cc1-wordcount.ops.gz  cc1, the C compiler proper, compiling
#                             programs/wordcount.c (`gcc -O2 -c`); the driver
#                             and the assembler are recorded too (--children)
#                             and dropped
#   python3-dict-repr.ops.gz  python3 -S building, printing and sorting a
#                             500-entry dict, every object through malloc
#                             (PYTHONMALLOC=malloc), hash seed 0
#   sed-regex.ops.gz          sed -E rewriting a generated 2,000-line file
#                             with one capture-group substitution
#
# Deterministic on one machine: ASLR off (`setarch -R`, needed: CPython and
# cc1 make slightly different calls when addresses move), PYTHONHASHSEED=0,
# LC_ALL=C, fixed inputs generated here. The calls depend on the versions of
# the programs and of glibc (data/README.md records the ones used); the
# versions found here are printed at the end.
#
#   tools/record-malloc/programs.sh [OUTDIR]    (default: data/traces/programs)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../data/traces/programs}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

norandom=
if setarch -R true 2>/dev/null; then norandom="setarch -R"; else echo "programs.sh: setarch -R unavailable, the traces may differ from run to run" >&2; fi
export LC_ALL=C

# sed: a 2,000-line input, "N line I" with N a permutation of 0..2002.
seq 1 2000 | awk '{ print ($1 * 7919) % 2003, "line", $1 }' > "$work/lines.txt"
(cd "$work" && $norandom "$here/record.sh" sed-regex.ops.gz -- sed -E 's/([0-9]+) line ([0-9]+)/\2:\1/' lines.txt > /dev/null)

# python3: the system interpreter, run directly (a wrapper such as a pyenv shim is a shell script that
# execs python, and only the first process records); PYTHON overrides. No site, pymalloc off.
py=${PYTHON:-/usr/bin/python3}
script='d = {str(i): [i] * (i % 5) for i in range(500)}; s = repr(d); words = sorted(s.split(", ")); print(len(s), len(words), words[0])'
(cd "$work" && PYTHONHASHSEED=0 PYTHONMALLOC=malloc $norandom "$here/record.sh" python3-dict-repr.ops.gz -- "$py" -S -c "$script" > /dev/null)

# gcc: every process of the driver is recorded; keep cc1's.
cp "$here/programs/wordcount.c" "$work/wordcount.c"
mkdir "$work/gcc"
(cd "$work/gcc" && $norandom "$here/record.sh" --children cc.ops -- gcc -O2 -c ../wordcount.c -o wordcount.o)
cc1=$(grep -l '^# record-malloc: .*, comm cc1$' "$work"/gcc/cc.*.ops)
gzip -n -c "$cc1" > "$work/gcc-cc1-wordcount.ops.gz"

for f in sed-regex python3-dict-repr gcc-cc1-wordcount; do
  cp "$work/$f.ops.gz" "$out/$f.ops.gz"
  printf '%s: %s\n' "$f" "$(gzip -dc "$out/$f.ops.gz" | grep '^# ops')"
done
echo "versions: $(sed --version | head -1); $("$py" --version); $(gcc --version | head -1); $(ldd --version | head -1)"
