#ifndef HAS_FUZZ_DRIVER_H
#define HAS_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// One fuzz input: returns 0 (libFuzzer's convention); a finding traps.
typedef int (*has_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs `callback` the way the build chose:
/// - built with -DHAS_LIBFUZZER and -sanitize=fuzzer (Tools/scripts/fuzz.sh):
///   libFuzzer's driver, which takes its usual flags and corpus folders;
/// - otherwise: replays each file (or each file of each folder) named in
///   argv once, so that a normal build can reproduce a finding.
int has_fuzz_run(int *argc, char ***argv, has_fuzz_callback callback);

#endif
