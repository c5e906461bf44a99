/* Preloaded into a process (LD_PRELOAD) on a Linux x86-64 CPU with CPUID faulting: every
 * CPUID the process runs answers as an AVX2-only CPU would (AVX-512, AVX512_BF16, VNNI
 * and AMX bits cleared), so the libraries that choose their kernels by CPUID (oneDNN,
 * ONNX Runtime's MLAS, OpenVINO, PyTorch) choose their AVX2 ones.
 *
 * A faulted CPUID arrives as SIGSEGV. The process's own SIGSEGV handlers (Python's
 * faulthandler, PyTorch's DataLoader workers) are kept behind this one: sigaction() and
 * signal() for SIGSEGV record them, and a SIGSEGV that is no CPUID goes to them. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static void real_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;
static struct sigaction chained; /* the process's own SIGSEGV disposition */

static void on_sigsegv(int sig, siginfo_t *info, void *ctx) {
  ucontext_t *uc = (ucontext_t *)ctx;
  unsigned char *ip = (unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
  if (ip[0] != 0x0f || ip[1] != 0xa2) { /* not a CPUID: the process's handler */
    if (chained.sa_flags & SA_SIGINFO) {
      chained.sa_sigaction(sig, info, ctx);
    } else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN) {
      chained.sa_handler(sig);
    } else { /* the default action: the fault happens again and ends the process */
      struct sigaction dfl;
      memset(&dfl, 0, sizeof(dfl));
      dfl.sa_handler = SIG_DFL;
      real_sigaction(SIGSEGV, &dfl, NULL);
    }
    return;
  }
  uint32_t leaf = (uint32_t)uc->uc_mcontext.gregs[REG_RAX];
  uint32_t sub = (uint32_t)uc->uc_mcontext.gregs[REG_RCX];
  uint32_t r[4];
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
  real_cpuid(leaf, sub, r);
  syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
  if (leaf == 7 && sub == 0) {
    /* EBX: AVX512 F DQ IFMA PF ER CD BW VL */
    r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
              (1u << 30) | (1u << 31));
    /* ECX: AVX512 VBMI VBMI2 VNNI BITALG VPOPCNTDQ */
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    /* EDX: AVX512 4VNNIW 4FMAPS VP2INTERSECT, AMX-BF16, AVX512_FP16, AMX-TILE, AMX-INT8 */
    r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) |
              (1u << 25));
  } else if (leaf == 7 && sub == 1) {
    /* EAX: AVX-VNNI, AVX512_BF16, AVX-IFMA; EDX: AVX-VNNI-INT8, AVX-NE-CONVERT */
    r[0] &= ~((1u << 4) | (1u << 5) | (1u << 23));
    r[3] &= ~((1u << 4) | (1u << 5));
  }
  uc->uc_mcontext.gregs[REG_RAX] = r[0];
  uc->uc_mcontext.gregs[REG_RBX] = r[1];
  uc->uc_mcontext.gregs[REG_RCX] = r[2];
  uc->uc_mcontext.gregs[REG_RDX] = r[3];
  uc->uc_mcontext.gregs[REG_RIP] += 2;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!real_sigaction) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV) return real_sigaction(sig, act, old);
  if (old) *old = chained;
  if (act) chained = *act;
  return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction act, old;
  memset(&act, 0, sizeof(act));
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
  return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)old.sa_sigaction : old.sa_handler;
}

__attribute__((constructor)) static void avx2_only(void) {
  struct sigaction sa;
  if (!real_sigaction) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  memset(&chained, 0, sizeof(chained));
  chained.sa_handler = SIG_DFL;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_sigsegv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  real_sigaction(SIGSEGV, &sa, NULL);
  if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
    perror("avx2_only: CPUID faulting (arch_prctl ARCH_SET_CPUID) is not available");
    _exit(3);
  }
}
