# locust-ecs: build, test, install. Plain GNU make; library flags from pkg-config.
VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    := $(PREFIX)/bin
# the web UI's login plugin for Locust 2.21+ (plugin/), where the supervisor looks for it
DATADIR   := $(PREFIX)/share/locust-ecs
BUILD     ?= build
CC        ?= cc
PYTHON    ?= /usr/bin/python3

# the supervisor's libraries; the health check links only the first three
PKGS      := libcurl jansson libzmq libcares libarchive libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
HC_LIBS    := $(shell pkg-config --libs libcurl jansson libzmq 2>/dev/null)

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
             -Wvla -Wwrite-strings
HARDEN    := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT       ?= -O2 -g
WERROR    ?=
# What the build needs is in LE_CFLAGS and always applies; CFLAGS, CPPFLAGS and LDFLAGS
# from the command line or the environment add to it (make CFLAGS=-O1 keeps -std=c11).
INCLUDES  := -Ientrypoint -Ientrypoint/common
LE_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(WERROR) $(HARDEN) $(PKG_CFLAGS) \
             -DLE_VERSION='"$(VERSION)"' -DLE_DATADIR='"$(DATADIR)"' $(INCLUDES) -MMD -MP
LE_LDFLAGS := -pie -Wl,-z,relro,-z,now
ALL_CFLAGS = $(LE_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LE_LDFLAGS) $(LDFLAGS)

# Three folders: entrypoint/common/ is what both programs link (clocks, /proc and file
# readers, the state document, the probe, HTTP); entrypoint/ is the supervisor's
# own; healthcheck/ the check's own. Each program links only what it calls.
CM_SRCS   := $(wildcard entrypoint/common/*.c)
CM_OBJS   := $(CM_SRCS:%.c=$(BUILD)/%.o)
EP_SRCS   := $(wildcard entrypoint/*.c)
EP_OBJS   := $(EP_SRCS:%.c=$(BUILD)/%.o)
HC_SRCS   := $(wildcard healthcheck/*.c)
HC_OBJS   := $(HC_SRCS:%.c=$(BUILD)/%.o)
# everything but the two programs' loops and command lines: what unit tests and fuzz
# replays link
LIB_OBJS  := $(filter-out $(addprefix $(BUILD)/entrypoint/,main.o cli.o master.o results.o stats.o) $(BUILD)/healthcheck/main.o,$(EP_OBJS) $(HC_OBJS) $(CM_OBJS))
UT_SRCS   := $(wildcard tests/unit/test_*.c)
UT_BINS   := $(UT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_DRV  := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/replay_%)

PROGS     := $(BUILD)/locust-entrypoint $(if $(HC_SRCS),$(BUILD)/locust-healthcheck)

.PHONY: all test unit integration asan fuzz bench demo install deps clean check-tools taskdefs lint \
        check-suites
all: $(PROGS)

# header dependencies come from the compiler (-MMD -MP): $(BUILD)/**/*.d
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

-include $(wildcard $(BUILD)/entrypoint/*.d $(BUILD)/entrypoint/common/*.d \
	 $(BUILD)/healthcheck/*.d $(BUILD)/tests/*.d)

$(BUILD)/locust-entrypoint: $(EP_OBJS) $(CM_OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/locust-healthcheck: $(HC_OBJS) $(CM_OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(HC_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJS) $(PKG_LIBS)

# fuzz targets also build as plain programs that replay their corpus (tests/fuzz/replay.c)
$(BUILD)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB_OBJS) $(PKG_LIBS)

unit: $(UT_BINS) $(FUZZ_DRV)
	@set -e; for t in $(UT_BINS); do echo "# $$t"; $$t; done
	@set -e; for d in $(FUZZ_DRV); do n=$${d##*/replay_}; $$d tests/fuzz/corpus/$$n; done

integration: $(PROGS)
	LE_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# The README's test command: every test, unit and integration.
test: all unit integration

# The whole suite with AddressSanitizer (leaks included) and UBSan: any finding fails.
asan:
	ASAN_OPTIONS=detect_leaks=1:exitcode=99 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		HARDEN="-fPIE" LDFLAGS="-fsanitize=address,undefined" test

FUZZ_SECONDS ?= 60
fuzz:
	@mkdir -p build-fuzz
	@set -e; for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  clang -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) -D_GNU_SOURCE $(INCLUDES) \
	    -o build-fuzz/$$n $$f $(filter-out entrypoint/main.c healthcheck/main.c,$(EP_SRCS) $(HC_SRCS) $(CM_SRCS)) $(PKG_LIBS); \
	  mkdir -p build-fuzz/corpus-$$n; \
	  build-fuzz/$$n -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus-$$n tests/fuzz/corpus/$$n; done

# Static analysis of entrypoint/ and healthcheck/: cppcheck, then clang-tidy with the
# checked-in .clang-tidy; any finding fails. cppcheck's variableScope is off: the house
# style may declare a function's locals at its top. clang-tidy runs once per file:
# clang-tidy 14 reports false "uninitialized va_list" errors when one run takes several.
lint:
	@rc=0; echo "cppcheck entrypoint healthcheck"; \
	cppcheck --quiet --enable=warning,style,performance,portability --inline-suppr \
	  --error-exitcode=1 --suppress=variableScope -I entrypoint -I entrypoint/common -I healthcheck \
	  entrypoint healthcheck || rc=1; \
	for f in $(EP_SRCS) $(CM_SRCS) $(HC_SRCS); do echo "clang-tidy $$f"; \
	  clang-tidy --quiet $$f -- -std=c11 -D_GNU_SOURCE $(WARN) $(PKG_CFLAGS) \
	    -DLE_VERSION='"$(VERSION)"' $(INCLUDES) -Ihealthcheck || rc=1; done; exit $$rc

# -Werror build and unit tests on newer Debian releases, in cached debootstrap chroots
# (.ci/check-suites says where and how); SUITES="trixie sid" by default. As root.
SUITES ?= trixie sid
check-suites:
	SUITES="$(SUITES)" bash .ci/check-suites

bench: $(PROGS)
	LE_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/bench/bench.py

demo:
	@bash .ci/deps
	$(MAKE) all
	LE_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/demo.py

# ECS JSON for every flow with its placeholders filled, in $(BUILD)/taskdefs:
# make taskdefs ACCOUNT_ID=... REGION=... (values from the command line or the environment;
# taskdefs/render.py --list names them; ONLY=cloudmap-namespace renders just that file;
# VARIANT=readonly,exec applies the variants of taskdefs/variants/).
taskdefs:
	$(PYTHON) taskdefs/render.py --out $(BUILD)/taskdefs $(if $(ONLY),--only '$(ONLY)') $(if $(VARIANT),--variant '$(VARIANT)')

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(DATADIR)
	install -m 0644 plugin/locust_ecs_webauth.py $(DESTDIR)$(DATADIR)/

# Every Debian package that building, testing and the demo need (the list is in .ci/deps).
deps:
	bash .ci/deps

clean:
	rm -rf build build-asan build-fuzz

# ---- the image: docker/Dockerfile built by `make image`, tested by `make image-test` ----
# make image [IMAGE=locust-ecs] [LOCUSTFILE=docker/locustfile.py] [LOCUST_IMAGE=locustio/locust:TAG]
# LOCUSTFILE lies in the build context (this directory); LOCUST_IMAGE defaults to the
# Dockerfile's. DOCKER_BUILD_FLAGS go to docker build (the tests give --network host).
DOCKER       ?= docker
IMAGE        ?= locust-ecs
LOCUSTFILE   ?= docker/locustfile.py
LOCUST_IMAGE ?=
DOCKER_BUILD_FLAGS ?=
image_base   = $(or $(LOCUST_IMAGE),$(shell sed -n 's/^ARG LOCUST_IMAGE=//p' docker/Dockerfile))
image_file   = $(patsubst $(CURDIR)/%,%,$(abspath $(LOCUSTFILE)))
# a base neither in the engine nor pullable: docker's own last line says why
image_nobase = $(shell $(DOCKER) image inspect $(image_base) >/dev/null 2>&1 || \
                 $(DOCKER) pull -q $(image_base) 2>&1 >/dev/null | tail -n 1)

.PHONY: image image-test
image:
	$(if $(filter /%,$(image_file)),$(error make image: LOCUSTFILE=$(LOCUSTFILE) is outside the build context $(CURDIR)))
	$(if $(wildcard $(LOCUSTFILE)),,$(error make image: LOCUSTFILE=$(LOCUSTFILE): no such file))
	$(if $(image_nobase),$(error make image: base image $(image_base): $(image_nobase)))
	$(DOCKER) build -f docker/Dockerfile $(DOCKER_BUILD_FLAGS) \
	  $(if $(LOCUST_IMAGE),--build-arg LOCUST_IMAGE=$(LOCUST_IMAGE)) \
	  --build-arg LOCUSTFILE=$(image_file) -t $(IMAGE) .

# Starts its own Docker engine, builds stand-in bases with debootstrap (cached under
# /var/tmp), runs `make image` on each and every scenario against it (tests/image).
image-test:
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/image $(PYTEST_ARGS)
