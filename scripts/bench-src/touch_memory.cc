// The host's price of fresh memory, for scripts/bench: how long writing N MiB
// of memory never touched before takes when nothing is simulated. It maps the
// memory as PhysMem maps simulated frames (anonymous, MADV_HUGEPAGE) and
// stores one byte per 4 KiB page. On a bare machine that is the kernel
// zeroing pages; in a virtual machine it can also be the hypervisor backing
// them, which may cost seconds per GiB and vary tenfold run to run. Every
// simulated frame that is first written pays the same price, so the bench
// sets this beside the fault and fork figures. Prints one JSON object:
//   {"mib": N, "seconds": S}
//
// Built by scripts/bench with g++ -O2; usage: touch_memory MIB.
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  char* end = nullptr;
  const unsigned long long mib = argc == 2 ? std::strtoull(argv[1], &end, 10) : 0;
  if (argc != 2 || *end != '\0' || mib == 0 || mib > (1ull << 24)) {
    std::fprintf(stderr, "usage: touch_memory MIB (1 to 16777216)\n");
    return 2;
  }
  const size_t bytes = size_t(mib) << 20;
  const auto t0 = std::chrono::steady_clock::now();
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    std::perror("touch_memory: mmap");
    return 2;
  }
  madvise(m, bytes, MADV_HUGEPAGE);  // a hint, as in PhysMem
  volatile char* p = static_cast<char*>(m);
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"mib\": %llu, \"seconds\": %.6f}\n", mib, s);
  return 0;
}
