#ifndef HAS_SPLITMIX_H
#define HAS_SPLITMIX_H

#include <stdint.h>

// SplitMix64 (Steele, Lea, Flood 2014), the one definition the fault stream's
// C kernels and the Swift runtime (SplitMix64.swift) share; docs/fault-profile.md
// gives it in words and Tools/golden/fault_stream.py checks it.

/// The increment added to the state before each output.
#define HAS_SPLITMIX_GAMMA 0x9E3779B97F4A7C15ULL

/// The finaliser: a bijective avalanche of 64 bits; output n of a stream is
/// has_splitmix_mix(state + n * HAS_SPLITMIX_GAMMA).
static inline uint64_t has_splitmix_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#endif
