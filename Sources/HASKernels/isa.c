// Which instruction-set variant the kernels run (see HASKernelISA.h): one
// place instead of a cpuid test in every kernel, so that tests can force each
// variant and compare their bits.
#include "HASKernelISA.h"

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
    return f == HAS_ISA_AUTOMATIC ? detected() : f;
}
