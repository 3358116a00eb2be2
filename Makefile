# libsmtpclient: build, header, install and ABI checks for the C library.
#
# cargo builds the code; this Makefile lays out the installed C library itself.
#
#   make                   cargo build (release, --locked) and the static-link flags for the .pc
#   make header            regenerate include/smtpclient.h (needs cbindgen $(CBINDGEN_VERSION))
#   make check-header      fail if include/smtpclient.h is not what `make header` would write
#                          (sources or Cargo.toml version changed), then compile it as C99 and C++11
#   make man               build/man/man3/*.3 from the header's doc comments (scripts/gen-man.py)
#   make check-man         every export has a page, and every page renders without a warning
#   make install           install into $(DESTDIR)$(PREFIX): PREFIX, LIBDIR, INCLUDEDIR,
#                          PKGCONFIGDIR, MANDIR, CMAKEDIR and DESTDIR may be set on the command
#                          line; also installs the man pages and the CMake package files
#   make uninstall         remove what `make install` put there (same variables)
#   make check-symbols     exported symbols == tests/abi/symbols.txt, all smtp_*, none of
#                          libESMTP's names, and the SONAME
#   make check-abi         abidiff against tests/abi/libsmtpclient.abi: fails on any ABI change
#                          unless the SONAME changed with it (additions allowed)
#   make update-abi-baseline  rewrite tests/abi/libsmtpclient.abi (abidw) for a release
#   make update-symbols    rewrite tests/abi/symbols.txt from the built library, and
#                          debian/libsmtpclient<SOVERSION>.symbols from that list
#   make clean
#
# Using a DESTDIR install (tests, packaging): the .pc file holds the real PREFIX, not DESTDIR, so
# point pkg-config at the staged tree and let it prefix -I/-L with the staging root:
#   make install DESTDIR=/tmp/stage PREFIX=/usr
#   PKG_CONFIG_PATH=/tmp/stage/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=/tmp/stage \
#       pkg-config --cflags --libs smtpclient            # add --static for libsmtpclient.a
#   LD_LIBRARY_PATH=/tmp/stage/usr/lib ./program
# Or install with no DESTDIR and PREFIX set to a scratch directory
# (make install PREFIX=/tmp/prefix), which needs neither PKG_CONFIG_SYSROOT_DIR nor any rewrite.

# ---------------------------------------------------------------------------------------------
# Variables (targets added later may use these)
# ---------------------------------------------------------------------------------------------

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
CMAKEDIR ?= $(LIBDIR)/cmake/smtpclient
DESTDIR ?=

CARGO ?= cargo
# Cargo.lock is committed: builds use exactly the locked dependency versions.
CARGO_FLAGS ?= --release --locked
CARGO_TARGET_DIR ?= target
RELEASE_DIR := $(CARGO_TARGET_DIR)/release

CBINDGEN ?= cbindgen
# Pinned: cbindgen output changes between releases, and the committed header must not churn.
CBINDGEN_VERSION := 0.29.4

INSTALL ?= install
# Flags for the header compile checks (CC and CXX are make's defaults unless set).
HEADER_WARNINGS := -Wall -Wextra -Wpedantic -Werror

BUILD_DIR := build
HEADER := include/smtpclient.h
# The C++17 wrapper: written by hand (not generated), installed next to the C header.
CXX_HEADER := include/smtpclient.hpp
MAN_BUILD_DIR := $(BUILD_DIR)/man
CMAKE_BUILD_DIR := $(BUILD_DIR)/cmake
PYTHON ?= python3

# The date on the man pages: SOURCE_DATE_EPOCH when set (dpkg-buildpackage sets it from
# debian/changelog), else the header's last commit, else its mtime. Never the build time, so
# two builds of one source give the same pages.
SOURCE_DATE_EPOCH ?= $(or $(shell git log -1 --format=%ct -- $(HEADER) 2>/dev/null),$(shell stat -c %Y $(HEADER)))
MAN_DATE = $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%d)

# Version: the first `version = "..."` of Cargo.toml's [package] section.
VERSION := $(shell sed -n '/^\[package\]/,/^\[/s/^version[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
ifeq ($(shell [[ '$(VERSION)' =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+].*)?$$ ]] && echo ok),)
$(error cannot read the [package] version from Cargo.toml (got '$(VERSION)'))
endif
VERSION_CORE := $(firstword $(subst -, ,$(subst +, ,$(VERSION))))
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION_CORE)))
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION_CORE)))
VERSION_PATCH := $(word 3,$(subst ., ,$(VERSION_CORE)))
VERSION_NUMBER := $(shell echo $$(( $(VERSION_MAJOR) * 10000 + $(VERSION_MINOR) * 100 + $(VERSION_PATCH) )))

# ABI version, as build.rs sets it in the SONAME: the major from 1.0 on, 0.<minor> before
# (every 0.x minor release may break the ABI).
SOVERSION := $(if $(filter 0,$(VERSION_MAJOR)),0.$(VERSION_MINOR),$(VERSION_MAJOR))
LIB_LINKNAME := libsmtpclient.so
LIB_SONAME := $(LIB_LINKNAME).$(SOVERSION)
LIB_REALNAME := $(LIB_LINKNAME).$(VERSION)
LIB_STATIC := libsmtpclient.a

# Paths written into the .pc file: relative to ${prefix} when under PREFIX (recursive `=` keeps
# the literal `${prefix}` out of make's expansion).
PC_LIBDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

.PHONY: all header check-header check-cbindgen header-config install uninstall pkgconfig \
	check-symbols update-symbols clean man check-man cmake-config abi-lib check-abi update-abi-baseline

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------

# The staticlib-only build prints the native libraries a static link needs (for Libs.private);
# cargo replays the note when nothing changed. It runs first so that when both builds compile,
# target/release/libsmtpclient.a comes from the regular build.
all:
	@mkdir -p $(BUILD_DIR)
	$(CARGO) rustc $(CARGO_FLAGS) --lib --crate-type staticlib --color never \
		-- --print native-static-libs 2>&1 | tee $(BUILD_DIR)/staticlib-build.log
	@libs=$$(sed -n 's/^note: native-static-libs: //p' $(BUILD_DIR)/staticlib-build.log | tail -n 1); \
	if [ -z "$$libs" ]; then \
		echo "error: cargo printed no native-static-libs line (see $(BUILD_DIR)/staticlib-build.log)" >&2; \
		exit 1; \
	fi; \
	echo "$$libs" > $(BUILD_DIR)/native-static-libs.txt; \
	echo "static link needs: $$libs"
	$(CARGO) build $(CARGO_FLAGS)

# ---------------------------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------------------------

check-cbindgen:
	@found=$$($(CBINDGEN) --version 2>/dev/null); \
	if [ "$$found" != "cbindgen $(CBINDGEN_VERSION)" ]; then \
		echo "error: the header is generated with cbindgen $(CBINDGEN_VERSION), found: $${found:-no cbindgen in PATH}" >&2; \
		echo "       install it with: cargo install cbindgen --locked --version $(CBINDGEN_VERSION)" >&2; \
		exit 1; \
	fi

# cbindgen.toml with the version placeholders filled in from Cargo.toml.
header-config:
	@set -e; \
	if [ $(VERSION_MINOR) -gt 99 ] || [ $(VERSION_PATCH) -gt 99 ]; then \
		echo "error: SMTPCLIENT_VERSION_NUMBER needs minor and patch below 100 (version $(VERSION))" >&2; \
		exit 1; \
	fi; \
	mkdir -p $(BUILD_DIR); \
	sed -e 's/@SMTPCLIENT_VERSION_MAJOR@/$(VERSION_MAJOR)/g' \
	    -e 's/@SMTPCLIENT_VERSION_MINOR@/$(VERSION_MINOR)/g' \
	    -e 's/@SMTPCLIENT_VERSION_PATCH@/$(VERSION_PATCH)/g' \
	    -e 's/@SMTPCLIENT_VERSION_NUMBER@/$(VERSION_NUMBER)/g' \
	    -e 's/@SMTPCLIENT_VERSION_STRING@/$(VERSION)/g' \
	    cbindgen.toml > $(BUILD_DIR)/cbindgen.toml; \
	if grep -n '@SMTPCLIENT_[A-Z_]*@' $(BUILD_DIR)/cbindgen.toml >&2; then \
		echo "error: unknown placeholder left in $(BUILD_DIR)/cbindgen.toml" >&2; \
		exit 1; \
	fi

# $(call run-cbindgen,OUTPUT). Its warnings about private items and about constants (which the
# header never takes from Rust, see cbindgen.toml) are dropped as noise.
define run-cbindgen
$(CBINDGEN) --config $(BUILD_DIR)/cbindgen.toml --crate smtpclient --output $(1) . 2>&1 \
	| sed -E -e '/^WARN: Skip .* - \(not `pub`\)\.$$/d' \
	         -e '/^WARN: Skip [A-Za-z0-9_:]*::[A-Z][A-Z0-9_]* - /d' >&2
endef

header: check-cbindgen header-config
	@mkdir -p $(dir $(HEADER))
	$(call run-cbindgen,$(HEADER))
	@echo "wrote $(HEADER) (version $(VERSION))"

check-header: check-cbindgen header-config
	@set -e; \
	if [ ! -f $(HEADER) ]; then echo "error: $(HEADER) is missing: run make header" >&2; exit 1; fi; \
	for kv in MAJOR=$(VERSION_MAJOR) MINOR=$(VERSION_MINOR) PATCH=$(VERSION_PATCH) \
	          NUMBER=$(VERSION_NUMBER) 'STRING="$(VERSION)"'; do \
		if ! grep -qxF "#define SMTPCLIENT_VERSION_$${kv%%=*} $${kv#*=}" $(HEADER); then \
			echo "error: $(HEADER) does not say SMTPCLIENT_VERSION_$${kv%%=*} $${kv#*=}" \
			     "(Cargo.toml version is $(VERSION)): run make header" >&2; \
			exit 1; \
		fi; \
	done
	$(call run-cbindgen,$(BUILD_DIR)/smtpclient.h)
	@diff -u $(HEADER) $(BUILD_DIR)/smtpclient.h || { \
		echo "error: $(HEADER) differs from what the sources generate: run make header" >&2; \
		exit 1; }
	$(CC) -std=c99 $(HEADER_WARNINGS) -fsyntax-only -Iinclude tests/c/header_c99.c
	$(CXX) -std=c++11 $(HEADER_WARNINGS) -fsyntax-only -Iinclude tests/c/header_cxx.cpp
	CC="$(CC)" CXX="$(CXX)" bash tests/c/check-warn-unused.sh include
	@echo "$(HEADER) is up to date, compiles as C99 and C++11, and an ignored result is a diagnostic"

# ---------------------------------------------------------------------------------------------
# Install
# ---------------------------------------------------------------------------------------------

pkgconfig: all
	@set -e; \
	libs_private=$$(cat $(BUILD_DIR)/native-static-libs.txt); \
	sed -e 's|@PREFIX@|$(PREFIX)|g' \
	    -e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' \
	    -e "s|@LIBS_PRIVATE@|$$libs_private|g" \
	    pkgconfig/smtpclient.pc.in > $(BUILD_DIR)/smtpclient.pc; \
	if grep -n '@[A-Z_]*@' $(BUILD_DIR)/smtpclient.pc >&2; then \
		echo "error: unknown placeholder left in $(BUILD_DIR)/smtpclient.pc" >&2; \
		exit 1; \
	fi

# ---------------------------------------------------------------------------------------------
# Man pages: generated from the header (the doc comments and cbindgen.toml's overview)
# ---------------------------------------------------------------------------------------------

man:
	$(PYTHON) scripts/gen-man.py --header $(HEADER) --version $(VERSION) --date $(MAN_DATE) \
		--out $(MAN_BUILD_DIR)

check-man: man
	bash tests/packaging/check-man.sh $(MAN_BUILD_DIR)

# ---------------------------------------------------------------------------------------------
# CMake package: smtpclientConfig.cmake and smtpclientConfigVersion.cmake
# ---------------------------------------------------------------------------------------------

# Paths in smtpclientConfig.cmake are relative to the file's own directory (CMAKEDIR), so a
# DESTDIR-staged or relocated install still finds the library and the header.
cmake-config: all
	@set -e; mkdir -p $(CMAKE_BUILD_DIR); \
	to_libdir=$$(realpath -m --relative-to=$(CMAKEDIR) $(LIBDIR)); \
	to_incdir=$$(realpath -m --relative-to=$(CMAKEDIR) $(INCLUDEDIR)); \
	static_libs=$$(sed -e 's/^-l//' -e 's/ -l/;/g' $(BUILD_DIR)/native-static-libs.txt); \
	sizeof_void_p=$$(getconf LONG_BIT); sizeof_void_p=$$((sizeof_void_p / 8)); \
	for f in smtpclientConfig smtpclientConfigVersion; do \
		sed -e 's|@VERSION@|$(VERSION)|g' \
		    -e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' \
		    -e 's|@VERSION_MINOR@|$(VERSION_MINOR)|g' \
		    -e 's|@SOVERSION@|$(SOVERSION)|g' \
		    -e "s|@CMAKE_TO_LIBDIR@|$$to_libdir|g" \
		    -e "s|@CMAKE_TO_INCLUDEDIR@|$$to_incdir|g" \
		    -e "s|@STATIC_LINK_LIBRARIES@|$$static_libs|g" \
		    -e "s|@SIZEOF_VOID_P@|$$sizeof_void_p|g" \
		    cmake/$$f.cmake.in > $(CMAKE_BUILD_DIR)/$$f.cmake; \
		if grep -n '@[A-Z_]*@' $(CMAKE_BUILD_DIR)/$$f.cmake >&2; then \
			echo "error: unknown placeholder left in $(CMAKE_BUILD_DIR)/$$f.cmake" >&2; \
			exit 1; \
		fi; \
	done

install: all pkgconfig man cmake-config
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(CMAKEDIR)
	$(INSTALL) -m 0755 $(RELEASE_DIR)/$(LIB_LINKNAME) $(DESTDIR)$(LIBDIR)/$(LIB_REALNAME)
	ln -sfn $(LIB_REALNAME) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sfn $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/$(LIB_LINKNAME)
	$(INSTALL) -m 0644 $(RELEASE_DIR)/$(LIB_STATIC) $(DESTDIR)$(LIBDIR)/$(LIB_STATIC)
	$(INSTALL) -m 0644 $(HEADER) $(DESTDIR)$(INCLUDEDIR)/smtpclient.h
	$(INSTALL) -m 0644 $(CXX_HEADER) $(DESTDIR)$(INCLUDEDIR)/smtpclient.hpp
	$(INSTALL) -m 0644 $(BUILD_DIR)/smtpclient.pc $(DESTDIR)$(PKGCONFIGDIR)/smtpclient.pc
	$(INSTALL) -m 0644 $$(sed 's|^|$(MAN_BUILD_DIR)/man3/|' $(MAN_BUILD_DIR)/pages.txt) $(DESTDIR)$(MANDIR)/man3/
	$(INSTALL) -m 0644 $(CMAKE_BUILD_DIR)/smtpclientConfig.cmake \
		$(CMAKE_BUILD_DIR)/smtpclientConfigVersion.cmake $(DESTDIR)$(CMAKEDIR)/

# The page list comes from the header (make man), so pages of functions since removed from it
# are not found here: uninstall with the source of the version that was installed.
uninstall: man
	rm -f $(DESTDIR)$(LIBDIR)/$(LIB_LINKNAME) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME) \
		$(DESTDIR)$(LIBDIR)/$(LIB_REALNAME) $(DESTDIR)$(LIBDIR)/$(LIB_STATIC) \
		$(DESTDIR)$(INCLUDEDIR)/smtpclient.h $(DESTDIR)$(INCLUDEDIR)/smtpclient.hpp \
		$(DESTDIR)$(PKGCONFIGDIR)/smtpclient.pc \
		$(DESTDIR)$(CMAKEDIR)/smtpclientConfig.cmake $(DESTDIR)$(CMAKEDIR)/smtpclientConfigVersion.cmake
	rm -f $$(sed 's|^|$(DESTDIR)$(MANDIR)/man3/|' $(MAN_BUILD_DIR)/pages.txt)
	rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
# ABI checks
# ---------------------------------------------------------------------------------------------

check-symbols: all
	EXPECTED_SONAME=$(LIB_SONAME) bash tests/abi/check-symbols.sh $(RELEASE_DIR)/$(LIB_LINKNAME)

# libabigail: the ABI of the released library (tests/abi/libsmtpclient.abi) against the build.
# The release profile keeps only line tables (debug = 1), so the ABI is read from the same code
# built with full debug information (cargo's `abi` profile, Cargo.toml) in $(ABI_LIB).
ABI_BASELINE := tests/abi/libsmtpclient.abi
ABI_LIB := $(CARGO_TARGET_DIR)/abi/$(LIB_LINKNAME)
# Hashed type ids and no locations: the file changes only when the ABI does.
ABIDW_FLAGS := --no-show-locs --no-comp-dir-path --no-corpus-path --type-id-style hash

abi-lib:
	$(CARGO) build --locked --profile abi --lib

check-abi: abi-lib
	bash tests/abi/check-abi.sh $(ABI_BASELINE) $(ABI_LIB)

# Run for a release, after its last ABI change (README, "ABI baseline").
update-abi-baseline: abi-lib
	abidw $(ABIDW_FLAGS) --out-file $(ABI_BASELINE) $(ABI_LIB)
	@echo "wrote $(ABI_BASELINE) from $(ABI_LIB) ($$(readelf -d $(ABI_LIB) | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'))"

update-symbols: all
	EXPECTED_SONAME=$(LIB_SONAME) bash tests/abi/check-symbols.sh --update $(RELEASE_DIR)/$(LIB_LINKNAME)
	bash scripts/update-debian-symbols.sh $(VERSION) $(SOVERSION)

# ---------------------------------------------------------------------------------------------
# Clean (double-colon: other parts of the Makefile add their own `clean::` rules)
# ---------------------------------------------------------------------------------------------

clean::
	$(CARGO) clean
	rm -rf $(BUILD_DIR)

# ---------------------------------------------------------------------------------------------
# Further targets: demo, test, bench
#
# They go below this line. Declare each one .PHONY, depend on `all` (or `install` into a scratch
# DESTDIR) instead of calling cargo with other flags, use the variables above, and extend
# `clean` with a `clean::` rule of their own (a single-colon `clean:` would be an error).
# ---------------------------------------------------------------------------------------------

.PHONY: demo test

# The main job: build, install into a scratch prefix, start the loopback servers, send a real
# message through the C example and show it as delivered.
demo:
	bash scripts/demo.sh

# The whole test suite, as CI runs it (.ci/run).
test:
	bash scripts/test.sh

.PHONY: bench

# Client benchmark on loopback, not part of the tests (bench/README.md): libsmtpclient beside
# smtp-source, smtplib and libcurl against smtp-sink and a discard sink. Writes bench/results.md,
# bench/results.png, bench/results.tsv and the table in bench/README.md (about 10 minutes).
bench: all
	bash bench/run.sh
