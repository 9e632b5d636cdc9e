#!/usr/bin/env bash
# Build convcore with AddressSanitizer + UndefinedBehaviorSanitizer in a temporary copy of this
# checkout and run the tests against that build (see README, "Reliability").
#
#   tools/sanitize.sh                 # the whole suite
#   tools/sanitize.sh tests/test_views.py -k conv      # any pytest arguments
#
# The copy holds this checkout's files as they are now (committed or not, build products
# excluded) and is deleted afterwards (KEEP=1 keeps it). The extension is compiled and linked
# with CONVCORE_SANITIZE=1 (-fsanitize=address,undefined -fno-omit-frame-pointer -g); Python
# itself is not instrumented, so the ASan runtime is preloaded. detect_leaks=0: CPython leaks
# at exit by design (valgrind.sh checks leaks). Any sanitizer report fails the run: UBSan
# halts on the first error, ASan aborts on the first bad access.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=$("${PYTHON:-python}" -c 'import sys; print(sys.executable)')
WORK=$(mktemp -d -t convcore-sanitize.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

echo "== copying $ROOT to $WORK"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$WORK"

echo "== building with CONVCORE_SANITIZE=1"
cd "$WORK"
if ! CONVCORE_SANITIZE=1 "$PYTHON" setup.py build_ext --inplace -j 2 >build.log 2>&1; then
    tail -40 build.log; echo "sanitized build FAILED"; exit 2
fi
if ! grep -q -- "-fsanitize=address,undefined" build.log; then
    echo "the build log shows no -fsanitize flags: CONVCORE_SANITIZE was not honoured"; exit 2
fi

LIBASAN=$(gcc -print-file-name=libasan.so)
echo "== running pytest ${*:-tests} with $LIBASAN preloaded"
export LD_PRELOAD="$LIBASAN"
# allocator_may_return_null: an impossible allocation is a MemoryError, as without ASan.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:symbolize=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONMALLOC=malloc            # Python's allocations through malloc: ASan sees them
export PYTHONFAULTHANDLER=1
"$PYTHON" -m pytest -q -p no:cacheprovider "${@:-tests}" 2>&1 | tee pytest.log
status=${PIPESTATUS[0]}

reports=$(grep -cE "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" pytest.log)
echo "== sanitizer reports in the output: $reports; pytest exit status: $status"
if [ "$status" -ne 0 ] || [ "$reports" -ne 0 ]; then
    echo "sanitize: FAILED"; exit 1
fi
echo "sanitize: clean"
