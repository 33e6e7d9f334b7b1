# Shared by the end-to-end scripts (cli_e2e.sh, mpi_e2e.sh); source it, then call e2e_enter_tmp.
# Every check prints "ok" or "FAIL" through pass/fail; the script ends with e2e_summary.

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; }
contains() { grep -qF -- "$2" "$1"; } # contains FILE TEXT

# e2e_enter_tmp NAME: a scratch directory $TMP, removed on exit, as the working directory.
e2e_enter_tmp() {
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    trap 'rm -rf "$TMP"' EXIT
    cd "$TMP" || exit 1
}

# The last line "N passed, M failed"; the exit status is non-zero when any check failed.
e2e_summary() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
