#!/bin/sh
# Regenerates the committed seed corpus under tests/fuzz/corpus/ (run from
# anywhere; needs gcc, g++, strip, nm and /usr/bin/python3):
#   fuzz_elf/     tiny -finstrument-functions programs from seeds/, at several
#                 optimisation and debug-info levels, stripped or not, plus
#                 truncated copies; every file under 32 KiB
#   fuzz_events/  ring-buffer streams written by gen_events.py (see there)
#   fuzz_jsonw/   byte strings: ASCII, UTF-8, ill-formed UTF-8, controls
#   fuzz_jsonl/   the traces in seeds/traces/ (JSON) and their JSONL, written by
#                 $BUILD/ctrace-bpf convert (run make first), an 80-deep chain,
#                 and cut copies
# The corpus is committed so CI does not depend on the toolchain's exact
# output; rerun this only to change it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$here/seeds
elf=$here/corpus/fuzz_elf
ev=$here/corpus/fuzz_events
js=$here/corpus/fuzz_jsonw
jl=$here/corpus/fuzz_jsonl
tool=$here/../../${BUILD:-build}/ctrace-bpf
[ -x "$tool" ] || { echo "make first: $tool is needed for the JSONL seeds" >&2; exit 1; }
rm -rf "$elf" "$ev" "$js" "$jl"
mkdir -p "$elf" "$ev" "$js" "$jl"

# -z noseparate-code: no page of padding between segments (small seeds)
cc() { out=$1; shift; gcc -finstrument-functions -Wl,-z,noseparate-code "$@" -o "$elf/$out"; }
cxx() { out=$1; shift; g++ -finstrument-functions -Wl,-z,noseparate-code "$@" -o "$elf/$out"; }

cc args-O0-g        -O0 -g "$src/args.c"
cc args-O2-g        -O2 -g "$src/args.c"
cc args-O2-g-noplt  -O2 -g -fno-plt "$src/args.c"
cc args-O2-g-nopie  -O2 -g -no-pie "$src/args.c"
cc args-O2-dwarf4   -O2 -gdwarf-4 "$src/args.c"
cc args-O2-gz       -O2 -g -gz "$src/args.c"
cc args-O0          -O0 "$src/args.c"
cc args-O2          -O2 "$src/args.c"
cc args-Os-s        -Os -s "$src/args.c"
cc tiny-O0-g        -O0 -g -nostdlib -static "$src/tiny.c"
cc tiny-O2-g        -O2 -g -nostdlib -static "$src/tiny.c"
cc tiny-Os-s        -Os -s -nostdlib -static "$src/tiny.c"
cc lib-O2-g.so      -O2 -g -shared -fPIC -nostdlib "$src/lib.c"
cc lib-O0-s.so      -O0 -s -shared -fPIC -nostdlib "$src/lib.c"
cxx cxx-O0-g        -O0 -g "$src/cxx.cc"
cxx cxx-O2-g        -O2 -g "$src/cxx.cc"
cxx cxx-O2-s        -O2 -s "$src/cxx.cc"
cp "$elf/args-O2" "$elf/args-O2-strip-debug"
strip --strip-debug "$elf/args-O2-strip-debug"
cp "$elf/args-O2-g" "$elf/args-O2-g-dynsym-only"
strip --strip-all --keep-section=.debug_info --keep-section=.debug_abbrev \
	--keep-section=.debug_line --keep-section=.debug_str "$elf/args-O2-g-dynsym-only" 2>/dev/null ||
	strip --strip-all "$elf/args-O2-g-dynsym-only"

# truncated copies: cut in the headers, the middle and the section table
for f in args-O2-g tiny-O2-g lib-O2-g.so; do
	size=$(stat -c %s "$elf/$f")
	for cut in 63 200 $((size / 3)) $((size / 2)) $((size - 64)); do
		head -c "$cut" "$elf/$f" > "$elf/$f.cut$cut"
	done
done

for f in "$elf"/*; do
	[ "$(stat -c %s "$f")" -lt 32768 ] || { echo "seed too large: $f" >&2; exit 1; }
done

/usr/bin/python3 "$here/gen_events.py" "$ev" "$elf/args-O2-g"

printf 'plain ascii: parse_config' > "$js/ascii"
printf 'caf\303\251 \344\270\255\346\226\207 \360\237\230\200 \357\277\275' > "$js/utf8"
printf 'overlong \300\257 \340\200\257 surrogate \355\240\200 big \364\220\200\200 cut \342\202' > "$js/bad-utf8"
printf 'quote " back \\ nl\n tab\t nul\000 del\177 esc\033 \001\037' > "$js/controls"
printf '\237\222\000\000\000\000\360\077 tail \377\376' > "$js/double-and-stray"

# traces: JSON and JSONL, a deep chain, and lines cut short
for f in "$here"/seeds/traces/*.json; do
	b=$(basename "$f" .json)
	cp "$f" "$jl/$b.json"
	"$tool" convert "$f" --to jsonl -o "$jl/$b.jsonl"
done
/usr/bin/python3 - "$jl/deep-80.json" <<'PY'
import sys
d = 80
with open(sys.argv[1], "w") as f:
    f.write('{"call_trees":{"1":{"thread_id":1,"root_calls":[')
    f.write("".join('{"function":"r","start_ns":%d,"children":[' % i for i in range(d)))
    f.write("".join('],"end_ns":%d,"duration_ns":%d}' % (2 * d - i, 2 * d - 2 * i)
                    for i in reversed(range(d))))
    f.write(']}},"crash":null}')
PY
"$tool" convert "$jl/deep-80.json" --to jsonl -o "$jl/deep-80.jsonl"
for b in partial-args-crash crash-segv; do
	size=$(stat -c %s "$jl/$b.jsonl")
	head -c $((size / 2)) "$jl/$b.jsonl" > "$jl/$b.jsonl.cut"
done
chmod 644 "$jl"/*

count() { find "$1" -type f | wc -l; }
echo "corpus: $(count "$elf") ELF, $(count "$ev") event streams, $(count "$js") strings, $(count "$jl") traces"
