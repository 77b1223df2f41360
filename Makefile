# ThreatLockDown build (GNU Make).
#
# Variants share one source list and differ only in flags and output folder:
#   make            release build in build/        (binaries in build/bin/)
#   make asan       ASan+UBSan build in build/asan/ (what `make test` runs)
#   make fuzz       libFuzzer harnesses in build/fuzz/ (clang)
# `make run` and `make test` first install missing Debian packages (mk/deps.sh).

SHELL := /bin/bash
.DEFAULT_GOAL := all

BUILD   ?= build
CC      ?= cc
SAN     ?= 0
FUZZ    ?= 0
PKGS    := libpcre2-8 libcjson libcurl libmicrohttpd sqlite3 openssl zlib
SHARED  ?= $(abspath ../shared)

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS_BASE := -std=c17 -Wall -Wextra -Werror -Wshadow -Wvla -Wno-unused-parameter \
               -D_GNU_SOURCE -pthread -g -Isrc $(PKG_CFLAGS) -MMD -MP
ifeq ($(SAN),1)
  CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS_SAN := -fsanitize=address,undefined
else ifeq ($(FUZZ),1)
  CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined -DTLD_FUZZING=1
  LDFLAGS_SAN := -fsanitize=address,undefined
else
  CFLAGS_OPT := -O2
  LDFLAGS_SAN :=
endif
CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_OPT) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(LDFLAGS_SAN) $(EXTRA_LDFLAGS)
LDLIBS  := $(PKG_LIBS) -lm

# ---- sources -------------------------------------------------------------------------------
find_c = $(sort $(shell find $(1) -name '*.c' 2>/dev/null))
COMMON_SRC  := $(call find_c,src/common)
ENGINE_SRC  := $(call find_c,src/engine)
STORE_SRC   := $(call find_c,src/store)
COLLECT_SRC := $(call find_c,src/collect)
AGENT_SRC   := $(filter-out src/agent/main.c,$(call find_c,src/agent))
MANAGER_SRC := $(filter-out src/manager/main.c,$(call find_c,src/manager))
LOGTEST_SRC := $(filter-out src/tools/logtest/main.c,$(call find_c,src/tools/logtest))
API_SRC     := $(filter-out src/api/main.c,$(call find_c,src/api))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC    := $(sort $(wildcard fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_COMMON  := $(BUILD)/lib/libtld_common.a
LIB_ENGINE  := $(BUILD)/lib/libtld_engine.a
LIB_STORE   := $(BUILD)/lib/libtld_store.a
LIB_COLLECT := $(BUILD)/lib/libtld_collect.a
LIB_AGENT   := $(BUILD)/lib/libtld_agent.a
LIB_MANAGER := $(BUILD)/lib/libtld_manager.a
LIB_LOGTEST := $(BUILD)/lib/libtld_logtest.a
LIB_API     := $(BUILD)/lib/libtld_api.a
# Link order: dependents first.
ALL_LIBS    := $(LIB_API) $(LIB_LOGTEST) $(LIB_MANAGER) $(LIB_AGENT) $(LIB_COLLECT) $(LIB_ENGINE) $(LIB_STORE) \
               $(LIB_COMMON)
# Each binary links only the libraries its layer may use (tests/checks/layers); tests and
# fuzzers link them all.
LOGTEST_LIBS := $(LIB_LOGTEST) $(LIB_ENGINE) $(LIB_COMMON)
AGENT_LIBS   := $(LIB_AGENT) $(LIB_COLLECT) $(LIB_COMMON)
MANAGER_LIBS := $(LIB_MANAGER) $(LIB_COLLECT) $(LIB_ENGINE) $(LIB_STORE) $(LIB_COMMON)
API_LIBS     := $(LIB_API) $(LIB_ENGINE) $(LIB_STORE) $(LIB_COMMON)

BINS := $(BUILD)/bin/tld-logtest
ifneq ($(wildcard src/agent/main.c),)
  BINS += $(BUILD)/bin/tld-agent
endif
ifneq ($(wildcard src/manager/main.c),)
  BINS += $(BUILD)/bin/tld-manager
endif
ifneq ($(wildcard src/api/main.c),)
  BINS += $(BUILD)/bin/tld-api
endif
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_BINS := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

.PHONY: web install deb agent-image fuzz-store all asan fuzz-build unit-bins deps test run bench bench-detection fuzz clean format \
        format-check check-ruleset docs-rules

# The dashboard (web/, docs/dashboard.md) is built when npm is there: `npm ci` from the
# committed lockfile, then esbuild into web/dist (hashed names, gzip twins).
HAVE_NPM := $(shell command -v npm 2>/dev/null)
WEB_SRC  := $(shell find web/src -type f 2>/dev/null) web/index.html web/build.mjs
all: $(BINS) $(if $(HAVE_NPM),web)

web: web/dist/index.html

web/node_modules/.tld-stamp: web/package.json web/package-lock.json
	@echo "  NPM     web (npm ci)"
	@cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

web/dist/index.html: web/node_modules/.tld-stamp $(WEB_SRC)
	@echo "  ESBUILD web/dist"
	@cd web && node build.mjs

unit-bins: $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $(BUILD)/$<"
	@$(CC) $(CFLAGS) -c $< -o $@

define make_lib
$(1): $(call obj,$(2))
	@mkdir -p $$(@D)
	@rm -f $$@
	@ar rcs $$@ $$^
endef
$(eval $(call make_lib,$(LIB_COMMON),$(COMMON_SRC)))
$(eval $(call make_lib,$(LIB_ENGINE),$(ENGINE_SRC)))
$(eval $(call make_lib,$(LIB_STORE),$(STORE_SRC)))
$(eval $(call make_lib,$(LIB_COLLECT),$(COLLECT_SRC)))
$(eval $(call make_lib,$(LIB_AGENT),$(AGENT_SRC)))
$(eval $(call make_lib,$(LIB_MANAGER),$(MANAGER_SRC)))
$(eval $(call make_lib,$(LIB_LOGTEST),$(LOGTEST_SRC)))
$(eval $(call make_lib,$(LIB_API),$(API_SRC)))

$(BUILD)/bin/tld-logtest: $(call obj,src/tools/logtest/main.c) $(LOGTEST_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(LOGTEST_LIBS) $(LDLIBS)

$(BUILD)/bin/tld-agent: $(call obj,src/agent/main.c) $(AGENT_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(AGENT_LIBS) $(LDLIBS)

$(BUILD)/bin/tld-manager: $(call obj,src/manager/main.c) $(MANAGER_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(MANAGER_LIBS) $(LDLIBS)

$(BUILD)/bin/tld-api: $(call obj,src/api/main.c) $(API_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(API_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LDLIBS) -lcmocka

$(BUILD)/fuzz/%: $(BUILD)/obj/fuzz/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(ALL_LIBS) $(LDLIBS)

.SECONDARY:

fuzz-build: $(FUZZ_BINS)

# ---- variants --------------------------------------------------------------------------------
asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit-bins

fuzz:
	@$(MAKE) --no-print-directory BUILD=build/fuzz FUZZ=1 CC=clang fuzz-build

# ---- the two commands of the README -----------------------------------------------------------
deps:
	@bash mk/deps.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz
	@/usr/bin/python3 tests/run_tests.py --build build/asan --shared "$(SHARED)"

run: deps
	@$(MAKE) --no-print-directory all
	@bash mk/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bash bench/run.sh "$(SHARED)"

# Both store backends against the suite's model on many generated queries with a fresh seed.
fuzz-store: asan
	@seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); echo "store query fuzz: seed $$seed"; \
	TLD_QUERY_SEED=$$seed TLD_QUERY_COUNT=$${TLD_QUERY_COUNT:-5000} build/asan/tests/test_store_sqlite && \
	TLD_QUERY_SEED=$$seed TLD_QUERY_COUNT=$${TLD_QUERY_COUNT:-5000} build/asan/tests/test_store_clickhouse

bench-detection: deps
	@$(MAKE) --no-print-directory all
	@bash bench/detection.sh "$(SHARED)"

# The shipped ruleset: loads, its .ini tests pass, every rule has a positive and a negative test.
check-ruleset: all
	@build/bin/tld-logtest --ruleset ruleset -t
	@build/bin/tld-logtest --ruleset ruleset --test ruleset/tests/*.ini | tail -1
	@TLD_BUILD=build tests/checks/ruleset-coverage | tail -1

# The rule table of docs/rules.md, from ruleset/rules/*.xml.
docs-rules:
	@python3 mk/gen-rules-doc.py

format:
	@clang-format -i $$(find src tests fuzz bench -name '*.[ch]')

format-check:
	@clang-format --dry-run -Werror $$(find src tests fuzz bench -name '*.[ch]')

clean:
	rm -rf build web/dist

# ---- installation and packages (docs/install.md) ----------------------------------------------
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
DATADIR      ?= $(PREFIX)/share/threatlockdown
DOCDIR       ?= $(PREFIX)/share/doc/threatlockdown
AGENT_DOCDIR ?= $(DOCDIR)
UNITDIR      ?= $(PREFIX)/lib/systemd/system
MANAGER_ROOT ?= /var/threatlockdown
AGENT_ROOT   ?= /var/threatlockdown-agent
UNITS        := tld-manager.service tld-api.service tld-agent.service
DOCS         := README.md docs/install.md docs/quickstart.md docs/manager.md docs/agent.md \
                docs/api.md docs/store.md docs/query.md docs/rules.md docs/logtest.md

# The installation root is not made here: the daemons, `tld-manager init` or the packages'
# maintainer scripts make it with its owners (docs/install.md).
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	rm -rf $(DESTDIR)$(DATADIR)/ruleset
	for d in decoders rules lists; do \
	    [ -d ruleset/$$d ] || continue; \
	    (cd ruleset && find $$d -type d -exec install -d -m 0755 $(DESTDIR)$(DATADIR)/ruleset/{} \;); \
	    (cd ruleset && find $$d -type f -exec install -m 0644 {} $(DESTDIR)$(DATADIR)/ruleset/{} \;); \
	done
	install -m 0644 pkg/manager.conf pkg/agent.conf $(DESTDIR)$(DATADIR)/
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(AGENT_DOCDIR)
	install -m 0644 docs/agent.md docs/install.md $(DESTDIR)$(AGENT_DOCDIR)/
	for u in $(UNITS); do \
	    sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@AGENT_DOCDIR@|$(AGENT_DOCDIR)|g' \
	        -e 's|@MANAGER_ROOT@|$(MANAGER_ROOT)|g' -e 's|@AGENT_ROOT@|$(AGENT_ROOT)|g' \
	        pkg/systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; \
	done
	if [ -d web/dist ]; then \
	    rm -rf $(DESTDIR)$(DATADIR)/web && install -d $(DESTDIR)$(DATADIR)/web && \
	    cp -R web/dist/. $(DESTDIR)$(DATADIR)/web/ && \
	    find $(DESTDIR)$(DATADIR)/web -type d -exec chmod 0755 {} + && \
	    find $(DESTDIR)$(DATADIR)/web -type f -exec chmod 0644 {} +; \
	fi

# threatlockdown-manager and threatlockdown-agent .deb files in build/deb/, built by
# dpkg-buildpackage from a copy of the tree (so its clean step never touches build/).
deb: deps
	@$(MAKE) --no-print-directory web
	@bash mk/deb.sh

# The agent as a container image (tld-agent:VERSION), built offline into the local engine.
agent-image: all
	@bash mk/agent-image.sh build/bin/tld-agent

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
