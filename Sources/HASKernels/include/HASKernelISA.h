#ifndef HAS_KERNEL_ISA_H
#define HAS_KERNEL_ISA_H

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction-set variants of the kernels (KernelISA in Swift). Every
/// variant computes the same bits; which one runs is chosen by cpuid unless
/// forced (tests run each variant the CPU supports).
enum {
    /// Portable C (libm's fmaf where a kernel needs a fused multiply-add).
    HAS_ISA_GENERIC = 0,
    /// AVX2 + FMA.
    HAS_ISA_AVX2 = 1,
    /// AVX-512 (F, VL, DQ, BW) on top of AVX2 + FMA.
    HAS_ISA_AVX512 = 2,
    /// No variant forced: the best the CPU supports.
    HAS_ISA_AUTOMATIC = -1,
};

/// 1 when this CPU can run `isa`.
int has_isa_supported(int isa);

/// Forces every kernel of the process onto `isa` (HAS_ISA_AUTOMATIC: back to
/// cpuid). Returns 0, and changes nothing, when the CPU cannot run it. Not
/// meant to change while kernels run on other threads.
int has_isa_force(int isa);

/// The forced variant, or HAS_ISA_AUTOMATIC.
int has_isa_forced(void);

/// The variant the kernels use now: the forced one, else cpuid's pick capped
/// by HAS_KERNEL_ISA=generic|avx2|avx512 in the environment (benchmarks).
int has_isa(void);

#ifdef __cplusplus
}
#endif

#endif
