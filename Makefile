# Coffer's entry points. `make demo` and `make test` work on a fresh Debian
# machine: both install what is missing first (scripts/deps.sh, idempotent).
JOBS ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?=

# The fuzz targets (docs/FUZZING.md): clang 19, their own build directory.
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 4
FUZZ_TARGETS ?=

.PHONY: all deps build asan test test-unit test-asan demo bench compare clean crash api-latency \
	fuzz-build fuzz fuzz-smoke

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOFFER_WERROR=ON $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

build-asan/CMakeCache.txt:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCOFFER_WERROR=ON -DCOFFER_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null

asan: deps build-asan/CMakeCache.txt
	cmake --build build-asan -j$(JOBS)

build-fuzz/CMakeCache.txt:
	cmake -S . -B build-fuzz -DCOFFER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 $(CMAKE_FLAGS) >/dev/null

# Only the fuzz targets and the libraries they link.
fuzz-build: deps build-fuzz/CMakeCache.txt
	cmake --build build-fuzz -j$(JOBS) --target fuzz

# Each target for FUZZ_SECONDS (or those in FUZZ_TARGETS), its work corpus
# kept in build-fuzz/corpus/.
fuzz: fuzz-build
	bash fuzz/run.sh long $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Each target for a few seconds over its committed seeds.
fuzz-smoke: fuzz-build
	bash fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# The whole suite: the release build, then the same tests under ASan + UBSan,
# then the fuzz targets' smoke.
test: build asan
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j$(JOBS)
	$(MAKE) fuzz-smoke

demo: build
	@bash scripts/demo.sh

# Micro benchmarks of the primitives (Google Benchmark), bytes per second.
bench: build
	$(BUILD)/coffer_bench

# Coffer against restic and borg on a 2 GiB image; see docs/PERFORMANCE.md.
compare: build
	bench/compare

# The crash campaign (docs/RELIABILITY.md): CRASH_ITERATIONS commands killed
# at random moments, each followed by the checks that nothing was lost.
CRASH_ITERATIONS ?= 200
CRASH_SEED ?= 1
crash: build
	python3 scripts/crash_campaign.py --coffer $(BUILD)/coffer --mkimage $(BUILD)/coffer-mkimage \
	  --iterations $(CRASH_ITERATIONS) --seed $(CRASH_SEED) --json $(BUILD)/crash-campaign.json

# GET /v1/backups with 100,000 rows on SQLite and PostgreSQL, under wrk.
api-latency: build
	python3 bench/api_latency.py --coffer $(BUILD)/coffer --json $(BUILD)/api-latency.json

clean:
	rm -rf $(BUILD) build-asan build-fuzz
