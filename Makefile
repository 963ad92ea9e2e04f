# ctrace-bpf — build: `make`; tests: `make test`; demo: `make demo` (as root, or as a
# sudoer: the steps that need root go through tools/as-root)
PREFIX    ?= /usr/local
DESTDIR   ?=
VERSION   := 0.1.0

CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
BUILD     ?= build
SAN       ?=
# The loader's pipeline stages, one folder each (README: Layout)
STAGES    := $(addprefix user/,find attach consume record rebuild write cmds utils)

CFLAGS    ?= -O2 -g
# -MMD -MP: each object (BPF, loader, unit test) also depends on every header
# it includes, through the .d files included at the end
CFLAGS    += -MMD -MP -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
             -DCTRACE_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(BUILD)
ifneq ($(SAN),)
CFLAGS    += -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=$(SAN)
endif
LDLIBS    := -pthread -lbpf -lelf -ldw -lcjson -lcapstone -lz -lstdc++ -lm

BPF_SRC   := bpf/ctrace.bpf.c
BPF_OBJ   := $(BUILD)/ctrace.bpf.o
SKEL      := $(BUILD)/ctrace.skel.h
USER_SRC  := $(wildcard user/*.c) $(foreach d,$(STAGES),$(wildcard $(d)/*.c))
USER_OBJ  := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(USER_SRC))
# The unit tests link every module but the tracing run's (main.c, finish.c).
LIB_OBJ   := $(filter-out $(BUILD)/obj/main.o $(BUILD)/obj/finish.o,$(USER_OBJ))
HOOKS_LIB := $(BUILD)/libctrace-hooks.so
BATCH_LIB := $(BUILD)/libctrace-hooks-batch.so
BATCH_FLIB := $(BUILD)/libctrace-hooks-batch-filter.so
TOOL      := $(BUILD)/ctrace-bpf
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
PYTEST    ?= /usr/bin/python3 -m pytest
# BPF and apt need root: directly as root, through sudo otherwise
AS_ROOT   := tools/as-root
# what the tests read from the environment, passed on through sudo
TEST_ENV  := $(foreach v,CI CTRACE_SANITIZED FUZZ_SECONDS,$(if $($(v)),$(v)=$($(v))))
BENCH_ENV := $(foreach v,N RUNS BENCH_RSS,$(if $($(v)),$(v)=$($(v))))

.PHONY: all clean install setup demo test unit integration integration-per-event sanitize fuzz bench test-real format
all: $(TOOL) $(HOOKS_LIB) $(BATCH_LIB) $(BATCH_FLIB)

$(BUILD) $(BUILD)/obj $(BUILD)/unit:
	@mkdir -p $@

$(BPF_OBJ): $(BPF_SRC) | $(BUILD)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Ivmlinux/x86 -Iinclude -MMD -MP -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name ctrace_bpf > $@

# Every object waits for the skeleton (the first build has no .d files yet)
$(BUILD)/obj/%.o: user/%.c $(SKEL) | $(BUILD)/obj
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(TOOL): $(USER_OBJ)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The preloaded hooks: two distinct NOP-headed functions, and a fork handler
# that keeps forked children alive (fork_fixup.c says why).
$(HOOKS_LIB): user/preload/ctrace-hooks.S user/preload/fork_fixup.c | $(BUILD)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -fno-stack-protector -Wl,-soname,libctrace-hooks.so \
		-Wl,-z,noexecstack $^ -o $@

# --probe batch: hooks that append to a per-thread buffer (batch-hooks.c)
$(BATCH_LIB): user/preload/batch-hooks.c user/preload/batch-flush.S user/preload/fork_fixup.c \
		include/ctrace.h | $(BUILD)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -fno-stack-protector -Iinclude \
		-Wl,-soname,libctrace-hooks-batch.so -Wl,-z,noexecstack $(filter %.c %.S,$^) -o $@

# the same with -F/-N: a check of the selected functions in the hook
$(BATCH_FLIB): user/preload/batch-hooks.c user/preload/batch-flush.S user/preload/fork_fixup.c \
		include/ctrace.h | $(BUILD)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -fno-stack-protector -Iinclude -DCTRACE_BATCH_FILTER \
		-Wl,-soname,libctrace-hooks-batch-filter.so -Wl,-z,noexecstack $(filter %.c %.S,$^) -o $@

$(BUILD)/unit/%: tests/unit/%.c $(LIB_OBJ) | $(BUILD)/unit
	$(CC) $(CFLAGS) -Itests/unit $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS) -o $@

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do $$t; done

integration: all
	$(AS_ROOT) env $(TEST_ENV) CTRACE_BPF=$(abspath $(TOOL)) $(PYTEST) -v -p no:cacheprovider tests/integration

# Launch mode defaults to --probe batch: the same suite again with the
# per-event probes (--probe preload) wherever the default would batch
integration-per-event: all
	$(AS_ROOT) env $(TEST_ENV) CTRACE_TEST_PROBE=preload CTRACE_BPF=$(abspath $(TOOL)) \
		$(PYTEST) -v -p no:cacheprovider tests/integration

# Real programs from Debian source packages (lua, leveldb, dash), built into
# $(BUILD)/real with their fetched sources cached there (tests/real/build.sh),
# each compared with counting hooks that observe the same run
test-real: all
	$(AS_ROOT) env $(TEST_ENV) CTRACE_BPF=$(abspath $(TOOL)) CTRACE_REAL_BUILD=$(abspath $(BUILD))/real \
		$(PYTEST) -v -p no:cacheprovider tests/real

# The same suites against an AddressSanitizer + UBSan build of the loader:
# target-controlled bytes (ELF, strings) are untrusted input.
sanitize:
	$(MAKE) --no-print-directory BUILD=build/san SAN=address,undefined all unit
	CTRACE_SANITIZED=1 $(MAKE) --no-print-directory BUILD=build/san SAN=address,undefined integration

# libFuzzer on the event decoder and tree builder, the ELF/DWARF readers and
# the JSON writer: a bounded pass (FUZZ_SECONDS per harness) after replaying
# every saved regression
FUZZ_SECONDS ?= 20
fuzz: all
	tests/fuzz/run.sh $(FUZZ_SECONDS)

test: all unit fuzz integration integration-per-event test-real sanitize

setup:
	$(AS_ROOT) ./tools/setup.sh

demo: setup all
	$(AS_ROOT) ./tools/demo.sh

bench: all
	$(AS_ROOT) env $(BENCH_ENV) ./tools/bench.sh

install: all
	install -D -m 0755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/ctrace-bpf
	install -D -m 0644 $(HOOKS_LIB) $(DESTDIR)$(PREFIX)/lib/ctrace-bpf/libctrace-hooks.so
	install -D -m 0644 $(BATCH_LIB) $(DESTDIR)$(PREFIX)/lib/ctrace-bpf/libctrace-hooks-batch.so
	install -D -m 0644 $(BATCH_FLIB) $(DESTDIR)$(PREFIX)/lib/ctrace-bpf/libctrace-hooks-batch-filter.so
	install -D -m 0644 doc/ctrace-bpf.8 $(DESTDIR)$(PREFIX)/share/man/man8/ctrace-bpf.8
	install -D -m 0644 doc/design.md $(DESTDIR)$(PREFIX)/share/doc/ctrace-bpf/design.md

# The house style (.clang-format) on our C sources; the programs tests trace
# or read (tests/progs, tests/unit/data, tests/fuzz/seeds) keep their layout
FORMAT_SRC := $(shell git ls-files ':(glob)bpf/*.c' ':(glob)include/*.h' ':(glob)user/**/*.[ch]' \
		':(glob)tests/unit/*.[ch]' ':(glob)tests/fuzz/*.[ch]' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)

clean:
	rm -rf $(BUILD)

-include $(BPF_OBJ:.o=.d) $(USER_OBJ:.o=.d) $(UNIT_BIN:=.d)
