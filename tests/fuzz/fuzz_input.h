/* Fuzz targets: the readers under test take a path, so each input is handed
 * to them as a file. An in-memory file (memfd) is rewritten per input and
 * named by its /proc/self/fd path, so the readers run exactly as they do on
 * disk, without a temporary directory or one file per input.
 *
 * Every target defines the libFuzzer entry point LLVMFuzzerTestOneInput,
 * built with -fsanitize=fuzzer for fuzzing (-Dfuzz=enabled, clang), and with
 * the main of fuzz_replay.c for `meson test`, which replays the seed and
 * regression inputs of tests/data/fuzz/TARGET/. */
#ifndef GLOW_FUZZ_INPUT_H
#define GLOW_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "glow/status.h"

/* Path of a file holding exactly data[0..size); valid until the next call. Aborts on failure. */
const char *fuzz_input_path(const uint8_t *data, size_t size);

/* Reads every byte of buf (so an out-of-bounds pointer or length from a reader
 * is caught by AddressSanitizer) and returns a value that depends on them all. */
unsigned fuzz_touch(const uint8_t *buf, size_t n);

/* A reader's result on an input of `size` bytes; returns st. GLOW_ERR_OUT_OF_MEMORY
 * aborts: inputs are small, so running out of memory means the reader trusted
 * a size field before the data behind it arrived. (fuzz_replay caps the memory
 * at a few GiB so such an allocation fails instead of being overcommitted.) */
glow_status fuzz_check(glow_status st, size_t size);

/* Targets call fuzz_accepted() when the reader accepted the input; the replay
 * requires every seed-* input to be accepted (a reader that rejects valid files fails). */
void fuzz_accepted(void);
extern int fuzz_accept_count;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
