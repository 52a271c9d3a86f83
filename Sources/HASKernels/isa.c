// Which instruction-set variant the kernels run (see HASKernelISA.h): one
// place instead of a cpuid test in every kernel, so that tests can force each
// variant and compare their bits.
#include "HASKernelISA.h"

#include <stdlib.h>
#include <string.h>

static int detected(void) {
#if defined(__x86_64__)
    // Racing first callers store the same value.
    static volatile int level = -1;
    if (level < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
                     && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
        level = avx512 ? HAS_ISA_AVX512 : avx2 ? HAS_ISA_AVX2 : HAS_ISA_GENERIC;
    }
    return level;
#else
    return HAS_ISA_GENERIC;
#endif
}

// HAS_KERNEL_ISA=generic|avx2|avx512 in the environment caps what cpuid
// picks (to measure the AVX2 path on an AVX-512 machine); a variant the CPU
// lacks, or any other value, changes nothing. has_isa_force overrides it.
static int environment_cap(void) {
    static volatile int cap = -2;
    if (cap == -2) {
        const char *value = getenv("HAS_KERNEL_ISA");
        cap = !value                          ? HAS_ISA_AUTOMATIC
              : strcmp(value, "generic") == 0 ? HAS_ISA_GENERIC
              : strcmp(value, "avx2") == 0    ? HAS_ISA_AVX2
              : strcmp(value, "avx512") == 0  ? HAS_ISA_AVX512
                                              : HAS_ISA_AUTOMATIC;
    }
    return cap;
}

static volatile int forced = HAS_ISA_AUTOMATIC;

int has_isa_supported(int isa) { return isa >= HAS_ISA_GENERIC && isa <= detected(); }

int has_isa_force(int isa) {
    if (isa != HAS_ISA_AUTOMATIC && !has_isa_supported(isa)) return 0;
    forced = isa;
    return 1;
}

int has_isa_forced(void) { return forced; }

int has_isa(void) {
    int f = forced;
    if (f != HAS_ISA_AUTOMATIC) return f;
    int cap = environment_cap(), level = detected();
    return cap != HAS_ISA_AUTOMATIC && cap < level ? cap : level;
}
