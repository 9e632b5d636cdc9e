#!/usr/bin/env bash
# Memory checks of the compiled kernels (see README, "Reliability"):
#  1. valgrind memcheck over tools/kernel_loop.py --iters $ITERS (every functional op and raw
#     kernel, every ISA this CPU runs, float32/float64, 1 and 2 threads): no "definitely lost"
#     block and no memory error whose stack passes through convcore (_kernels*.so, csrc/, cc_*);
#  2. the RSS check: $RSS_ROUNDS rounds of every call, resident memory flat after a warm-up.
# Uses the in-place build of this checkout (python setup.py build_ext --inplace).
# Exit status 0 when both are clean. Env: ITERS (1000), RSS_ROUNDS (10000), KEEP_LOG=1,
# VALGRIND_THREADS ("2": valgrind runs threads one at a time, so the 1-thread settings add
# time, not coverage of the threaded paths; "1 2" runs both).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ITERS=${ITERS:-1000}
RSS_ROUNDS=${RSS_ROUNDS:-10000}
# The real interpreter, not a pyenv/venv shim script (valgrind would check bash instead).
PYTHON=$("${PYTHON:-python}" -c 'import sys; print(sys.executable)')
LOG=$(mktemp -t convcore-valgrind.XXXXXX)
cd "$ROOT"

echo "== valgrind memcheck: $ITERS calls of each kernel (log: $LOG)"
# PYTHONMALLOC=malloc: every allocation goes through malloc, so valgrind sees it.
PYTHONMALLOC=malloc OMP_NUM_THREADS=2 valgrind --tool=memcheck --leak-check=full \
    --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=40 \
    --log-file="$LOG" "$PYTHON" tools/kernel_loop.py --iters "$ITERS" \
    --threads ${VALGRIND_THREADS:-2}

"$PYTHON" - "$LOG" <<'PYEOF'
import re, sys
log = open(sys.argv[1]).read().splitlines()
body = [re.sub(r"^==\d+== ?", "", line) for line in log if re.match(r"^==\d+==", line)]
blocks, current = [], []
for line in body + [""]:
    if line.strip():
        current.append(line)
    elif current:
        blocks.append(current)
        current = []
ours = re.compile(r"_kernels\.c|csrc/|\bcc_[a-z0-9_]+|__pyx_")
errors = [b for b in blocks if re.match(r"(Invalid|Conditional|Use of uninit|Syscall param|"
                                         r"Mismatched|Source and destination|Argument)", b[0])]
definite = [b for b in blocks if "definitely lost in loss record" in b[0]]
our_errors = [b for b in errors if any(ours.search(line) for line in b)]
our_leaks = [b for b in definite if any(ours.search(line) for line in b)]
summary = [line.strip() for line in body if "definitely lost:" in line or
           "ERROR SUMMARY" in line or "indirectly lost:" in line]
if not any("ERROR SUMMARY" in line for line in summary) or not any(
        "kernel_loop" in line for line in body[:8]):
    sys.exit("valgrind did not run tools/kernel_loop.py to the end:\n" + "\n".join(log[-20:]))
print("valgrind, whole process (CPython included):", "; ".join(summary))
print(f"blocks through convcore: {len(our_leaks)} definitely lost, {len(our_errors)} "
      f"memory errors (of {len(definite)} definitely-lost records, {len(errors)} errors)")
for b in (our_leaks + our_errors)[:5]:
    print("\n".join(b[:25]), "\n")
sys.exit(1 if our_leaks or our_errors else 0)
PYEOF
status=$?
[ "${KEEP_LOG:-0}" = 1 ] || rm -f "$LOG"

echo "== RSS over $RSS_ROUNDS rounds of every call"
OMP_NUM_THREADS=2 "$PYTHON" tools/kernel_loop.py --rss "$RSS_ROUNDS"
exit $status
