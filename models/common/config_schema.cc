// The table of configuration keys: each key's name, type, default, unit,
// description and allowed values (range or choices). Config (config.cc) loads,
// checks, suggests and prints from it; spec/interface.md documents the keys.
#include <string>
#include <utility>
#include <vector>

#include "common/config.h"

namespace mmusim {

namespace {

constexpr uint64_t kMaxCycles = 1'000'000'000;  // kernel.* costs

ParamDecl uint_param(std::string name, uint64_t def, uint64_t min, uint64_t max, std::string unit,
                     std::string description) {
  ParamDecl d;
  d.name = std::move(name);
  d.type = ParamType::UInt;
  d.default_value = std::to_string(def);
  d.unit = std::move(unit);
  d.description = std::move(description);
  d.min = min;
  d.max = max;
  return d;
}

ParamDecl size_param(std::string name, std::string def, uint64_t min, uint64_t max,
                     std::string description) {
  ParamDecl d;
  d.name = std::move(name);
  d.type = ParamType::Size;
  d.default_value = std::move(def);
  d.unit = "bytes";
  d.description = std::move(description);
  d.min = min;
  d.max = max;
  return d;
}

ParamDecl bool_param(std::string name, bool def, std::string description) {
  ParamDecl d;
  d.name = std::move(name);
  d.type = ParamType::Bool;
  d.default_value = def ? "true" : "false";
  d.description = std::move(description);
  d.min = 0;
  d.max = 1;
  return d;
}

ParamDecl enum_param(std::string name, std::string def, std::vector<std::string> choices,
                     std::string description) {
  ParamDecl d;
  d.name = std::move(name);
  d.type = ParamType::Enum;
  d.default_value = std::move(def);
  d.description = std::move(description);
  d.choices = std::move(choices);
  return d;
}

std::vector<ParamDecl> build_schema() {
  const std::vector<std::string> policies = {"lru", "plru", "fifo", "random"};
  std::vector<ParamDecl> s;
  s.push_back(uint_param("cpu.freq_mhz", 3600, 1, 100'000, "MHz",
                         "core clock frequency; one cycle = 1/freq"));
  s.push_back(uint_param("cpu.count", 1, 1, 256, "CPUs",
                         "number of CPUs, each with its own L1/L2 TLB and page-walk cache"));
  s.push_back(uint_param("cpu.quantum", 100'000, 1, 1'000'000'000'000, "cycles",
                         "global quantum: how far the CPUs' clocks may run ahead of SystemC "
                         "time before the trace player synchronises it"));
  s.push_back(enum_param("tlb.impl", "model", {"model", "rtl", "lockstep"},
                         "TLB implementation: model (the C++ TLB), rtl (the verilated RTL TLB) "
                         "or lockstep (both, with every lookup compared)"));
  s.push_back(enum_param("tlb.lockstep_check", "thread", {"thread", "inline"},
                         "with tlb.impl = lockstep, where the RTL TLB runs and is compared: "
                         "thread (a second host thread, a few thousand TLB operations behind the "
                         "simulation; a divergence stops the run that much later, with the same "
                         "report) or inline (in the simulation's thread: the run stops at the "
                         "trace line of the divergence)"));
  s.push_back(enum_param("ptw.impl", "model", {"model", "rtl", "lockstep"},
                         "page-table walker: model (the C++ walker), rtl (the verilated RTL "
                         "walker, charging its own cycles) or lockstep (both, with every walk "
                         "compared; the C++ walker's timing)"));
  s.push_back(uint_param("tlb.seed", 1, 0, kTomlIntMax, "",
                         "seed of the random replacement policy"));
  s.push_back(uint_param("tlb.l1.entries", 64, 1, 65'536, "entries",
                         "size of the first-level data TLB"));
  s.push_back(uint_param("tlb.l1.ways", 4, 1, 65'536, "ways",
                         "associativity of the first-level TLB (ways = entries means fully "
                         "associative)"));
  s.push_back(uint_param("tlb.l1.latency", 1, 0, 1'000'000, "cycles",
                         "hit latency of the first-level TLB"));
  s.push_back(enum_param("tlb.l1.policy", "lru", policies,
                         "replacement policy of the first-level TLB: lru, plru (tree pseudo-LRU), "
                         "fifo or random"));
  s.push_back(uint_param("tlb.l2.entries", 1536, 0, 1'048'576, "entries",
                         "size of the second-level TLB (0 = no L2)"));
  s.push_back(uint_param("tlb.l2.ways", 12, 1, 65'536, "ways",
                         "associativity of the second-level TLB (ways = entries means fully "
                         "associative)"));
  s.push_back(uint_param("tlb.l2.latency", 7, 0, 1'000'000, "cycles",
                         "hit latency of the second-level TLB"));
  s.push_back(enum_param("tlb.l2.policy", "lru", policies,
                         "replacement policy of the second-level TLB: lru, plru (tree "
                         "pseudo-LRU), fifo or random"));
  s.push_back(enum_param("mmu.mode", "sv39", {"sv39", "sv48"}, "page-table format: sv39 or sv48"));
  s.push_back(uint_param("mmu.asid_bits", 16, 0, 16, "bits",
                         "width of the address-space id (0 = no ASIDs: the TLB is flushed on "
                         "every context switch)"));
  s.push_back(uint_param("mmu.pwc_entries", 16, 0, 4096, "entries",
                         "page-walk cache entries for non-leaf PTEs (0 = none)"));
  s.push_back(bool_param("mmu.nonleaf_wp", false,
                         "architecture extension: a non-leaf PTE with RSW bit 8 set forbids stores "
                         "to every page below it (x86's hierarchical R/W); required by "
                         "kernel.fork_policy = odf"));
  s.push_back(bool_param("mmu.hit_cache", true,
                         "host speed only: each MMU remembers its recent L1 hits with their host "
                         "frames and repeats them without searching the TLB or crossing the TLM "
                         "socket; every statistic and cycle is the same either way (false: every "
                         "access takes the full path)"));
  s.push_back(size_param("mem.size", "4G", kMiB, kTiB,
                         "physical memory, with suffix K, M, G or T (a multiple of 4K)"));
  s.push_back(size_param("mem.host_prefault", "16M", 0, kTiB,
                         "host speed only: a helper thread backs the host memory of up to this many "
                         "bytes of frames ahead of those the model first writes (fresh memory costs "
                         "the host a page fault and its zeroing, in a VM also the hypervisor's "
                         "backing); in 2 MiB blocks; every statistic and cycle is the same either way "
                         "(0: off; off as well where the process may run on one CPU only)"));
  s.push_back(uint_param("mem.latency", 100, 0, 1'000'000, "cycles",
                         "one memory access by the page walker, the kernel or the CPU"));
  s.push_back(uint_param("mem.copy_bytes_per_cycle", 3, 1, 65'536, "bytes/cycle",
                         "bandwidth of a page copy (and of zeroing, unless "
                         "mem.zero_bytes_per_cycle says otherwise)"));
  s.push_back(uint_param("mem.zero_bytes_per_cycle", 0, 0, 65'536, "bytes/cycle",
                         "bandwidth of zeroing a page (0: mem.copy_bytes_per_cycle); a store "
                         "stream of zeroes runs faster than a copy's read and write"));
  // RowClone's baseline (Seshadri et al., MICRO 2013): a 4 KiB memory-bus
  // copy about 3.6 uJ, a zeroing about 2.0 uJ (secondary figures).
  s.push_back(uint_param("mem.copy_energy_nj", 3600, 0, kMaxCycles, "nJ",
                         "energy of the CPU's copy of a 4 KiB page (kernel.copy_engine = cpu)"));
  s.push_back(uint_param("mem.zero_energy_nj", 2000, 0, kMaxCycles, "nJ",
                         "energy of the CPU's zeroing of a 4 KiB page (kernel.copy_engine = cpu)"));
  s.push_back(enum_param("kernel.copy_engine", "cpu", {"cpu", "dma", "rowclone"},
                         "who copies and zeroes pages for the kernel: cpu (the faulting CPU), dma "
                         "(an offload engine: dma.*) or rowclone (inside the DRAM: rowclone.*)"));
  s.push_back(bool_param("kernel.copy_aware_alloc", false,
                         "a COW or fork copy's new frame is taken where the copy engine copies "
                         "fastest when one is free (rowclone: the source's subarray)"));
  // An offload engine in the style of Intel DSA. Defaults (3.6 GHz): 0.28 us
  // to write and submit a descriptor, 8 bytes a cycle (29 GB/s), 0.22 us to
  // see a polled completion: the CPU copy (3 bytes a cycle) wins below about
  // 8 KiB, where Intel's DTO library switches to the CPU.
  s.push_back(uint_param("dma.setup", 1000, 0, kMaxCycles, "cycles",
                         "dma: cycles to prepare and submit one descriptor"));
  s.push_back(uint_param("dma.bytes_per_cycle", 8, 1, 65'536, "bytes/cycle",
                         "dma: the engine's copy and fill bandwidth"));
  s.push_back(enum_param("dma.completion", "polling", {"polling", "interrupt"},
                         "dma: how the waiting kernel learns a transfer is done: polling (its "
                         "completion record) or interrupt"));
  s.push_back(uint_param("dma.poll", 800, 0, kMaxCycles, "cycles",
                         "dma: cycles from the end of a transfer to the polling CPU seeing it"));
  s.push_back(uint_param("dma.interrupt", 4000, 0, kMaxCycles, "cycles",
                         "dma: cycles from the end of a transfer to the interrupted CPU resuming"));
  s.push_back(uint_param("dma.copy_energy_nj", 3600, 0, kMaxCycles, "nJ",
                         "dma: energy of copying a 4 KiB page (the same channel traffic as the "
                         "CPU's copy)"));
  s.push_back(uint_param("dma.zero_energy_nj", 2000, 0, kMaxCycles, "nJ",
                         "dma: energy of zeroing a 4 KiB page"));
  // RowClone (MICRO 2013) on a DDR3 module as the paper evaluates it: 8
  // banks, 8 KiB rows, 512 rows a subarray; FPM about 90 ns and 1/74.4 of the
  // baseline's energy, PSM between banks about 1/1.9 of its latency (1046 ns)
  // and 1/3.2 of its energy, FPM zeroing 1/41.5 of the baseline's energy.
  s.push_back(size_param("rowclone.row_bytes", "8K", 4096, kMiB,
                         "rowclone: bytes of one DRAM row of the rank (a multiple of 4K)"));
  s.push_back(uint_param("rowclone.rows_per_subarray", 512, 1, 1'048'576, "rows",
                         "rowclone: rows of a subarray (rows share its sense amplifiers)"));
  s.push_back(uint_param("rowclone.banks", 8, 1, 1024, "banks",
                         "rowclone: banks; consecutive rows go to consecutive banks"));
  s.push_back(uint_param("rowclone.fpm_latency", 324, 0, kMaxCycles, "cycles",
                         "rowclone: a Fast Parallel Mode copy of a page within one subarray (90 ns)"));
  s.push_back(uint_param("rowclone.psm_latency", 1980, 0, kMaxCycles, "cycles",
                         "rowclone: a Pipelined Serial Mode copy of a page between banks (550 ns)"));
  s.push_back(uint_param("rowclone.fpm_energy_nj", 48, 0, kMaxCycles, "nJ",
                         "rowclone: energy of an FPM page copy"));
  s.push_back(uint_param("rowclone.psm_energy_nj", 1125, 0, kMaxCycles, "nJ",
                         "rowclone: energy of a PSM page copy"));
  s.push_back(uint_param("rowclone.zero_energy_nj", 48, 0, kMaxCycles, "nJ",
                         "rowclone: energy of zeroing a page from the subarray's zero row"));
  s.push_back(enum_param("kernel.fork_policy", "cow", {"cow", "eager", "odf"},
                         "fork: cow (share pages copy-on-write), eager (copy every page at "
                         "fork) or odf (On-Demand-Fork: share the leaf page tables, "
                         "write-protected one level up; needs mmu.nonleaf_wp = true)"));
  s.push_back(enum_param("kernel.thp", "madvise", {"never", "madvise", "always"},
                         "transparent huge pages (2 MiB): never, madvise (private mappings marked "
                         "`huge`, Linux madvise(MADV_HUGEPAGE)) or always (every private mapping)"));
  s.push_back(enum_param("kernel.thp_cow", "split", {"split", "copy"},
                         "a write to a COW-shared huge page: split (Linux 5.8 and later: 512 PTEs of "
                         "the same frames, only the written 4 KiB page copied) or copy (before 5.8: "
                         "a new huge page, all 2 MiB copied)"));
  s.push_back(bool_param("kernel.zero_page", true,
                         "true: a first-touch load maps the shared zero frame; false: it "
                         "allocates a zeroed frame"));
  s.push_back(uint_param("kernel.trap_entry", 300, 0, kMaxCycles, "cycles",
                         "cycles to enter the fault handler"));
  s.push_back(uint_param("kernel.trap_exit", 300, 0, kMaxCycles, "cycles",
                         "cycles to leave the fault handler"));
  s.push_back(uint_param("kernel.fault_base", 2000, 0, kMaxCycles, "cycles",
                         "cycles of fault-handler work besides the itemised steps (VMA lookup, "
                         "checks)"));
  s.push_back(uint_param("kernel.frame_alloc", 2500, 0, kMaxCycles, "cycles",
                         "cycles to allocate one frame"));
  s.push_back(uint_param("kernel.frame_free", 100, 0, kMaxCycles, "cycles",
                         "cycles to return one frame to the allocator"));
  s.push_back(uint_param("kernel.pte_update", 50, 0, kMaxCycles, "cycles",
                         "cycles to write one PTE, besides its memory access"));
  s.push_back(uint_param("kernel.tlb_flush", 100, 0, kMaxCycles, "cycles",
                         "cycles for one TLB invalidation (sfence.vma of one page)"));
  // Defaults from the reference host (shared/reference/host-measurements.md,
  // 3.6 GHz): with the other defaults, a COW reuse fault then costs 0.96 us
  // (measured: 0.78-0.97 us), a COW copy and a write after a read 2.31 us
  // (measured: 2.3-2.9 and 2.06 us).
  s.push_back(uint_param("kernel.cow_fault", 200, 0, kMaxCycles, "cycles",
                         "work of a write fault on a write-protected page (cow_reuse, cow_copy, "
                         "cow_zero) beyond a not-present fault's: the page's lock, reference-count "
                         "and reuse checks"));
  s.push_back(uint_param("kernel.cow_new_frame", 900, 0, kMaxCycles, "cycles",
                         "work of a COW fault that maps a new frame (cow_copy, cow_zero: Linux's "
                         "wp_page_copy) beyond a reuse fault's and the frame's allocation and copy "
                         "or zeroing: reverse map and accounting of the old and new frames"));
  s.push_back(uint_param("kernel.fork_base", 223'000, 0, kMaxCycles, "cycles",
                         "fork cost: fixed part"));
  s.push_back(uint_param("kernel.fork_per_pte", 240, 0, kMaxCycles, "cycles",
                         "fork cost: per copied PTE"));
  s.push_back(uint_param("kernel.fork_cached_ptes", 0, 0, uint64_t{1} << 40, "PTEs",
                         "fork cost: how many PTEs one fork copies before the per-page kernel state "
                         "it touches (struct pages, page tables) outgrows the caches; each PTE "
                         "beyond them adds kernel.fork_per_pte_uncached"));
  s.push_back(uint_param("kernel.fork_per_pte_uncached", 0, 0, kMaxCycles, "cycles",
                         "fork cost: extra per copied PTE beyond kernel.fork_cached_ptes (cache "
                         "misses on its page's state; 0: fork is linear in the PTEs copied)"));
  s.push_back(uint_param("kernel.context_switch", 5000, 0, kMaxCycles, "cycles",
                         "cycles for a context switch"));
  s.push_back(uint_param("kernel.syscall", 650, 0, kMaxCycles, "cycles",
                         "entry and exit of a system call (mmap, munmap, mprotect, fork, exec, "
                         "exit)"));
  s.push_back(enum_param("kernel.placement", "round_robin", {"round_robin", "same"},
                         "CPU of a task created without cpu=K: round_robin (the next CPU after the "
                         "last one placed) or same (its creator's CPU)"));
  s.push_back(enum_param("kernel.shootdown", "running", {"running", "all"},
                         "which remote CPUs a TLB shootdown interrupts: running (CPUs running the "
                         "address space now; the others flush at their next switch to it, Linux x86 "
                         "with PCID) or all (every CPU that may cache it)"));
  // Defaults (3.6 GHz): a one-target shootdown waits 600 + 4000 + 5700 cycles,
  // about 2.9 us (LATR, ASPLOS 2018: the IPI alone 2.7 us at 16 cores / 2
  // sockets); 15 targets about 5.4 us (LATR: about 6 us for one page).
  s.push_back(uint_param("kernel.ipi_send", 600, 0, kMaxCycles, "cycles",
                         "cycles for the initiator to send one IPI"));
  s.push_back(uint_param("kernel.ipi_latency", 4000, 0, kMaxCycles, "cycles",
                         "cycles for an IPI to reach its target"));
  s.push_back(uint_param("kernel.ipi_handler", 5700, 0, kMaxCycles, "cycles",
                         "cycles of the interrupted CPU's handler (entry, flush, acknowledge, exit); "
                         "the initiator waits for every acknowledgement"));
  s.push_back(uint_param("kernel.flush_ceiling", 33, 0, kMaxCycles, "pages",
                         "a range flush of more pages than this becomes one full flush of the "
                         "address space (Linux x86 tlb_single_page_flush_ceiling)"));
  s.push_back(enum_param("kernel.reuse_flush", "local", {"local", "all"},
                         "TLB flush when a COW reuse makes a page writable in place: local (the "
                         "faulting CPU only; others may take a spurious fault, as x86) or all "
                         "(a shootdown)"));
  s.push_back(bool_param("verify.reference", true, "check every load against the reference model"));
  s.push_back(uint_param("verify.max_reports", 10, 0, 1'000'000, "",
                         "mismatches reported in detail"));
  return s;
}

}  // namespace

const std::vector<ParamDecl>& config_schema() {
  static const std::vector<ParamDecl> schema = build_schema();
  return schema;
}

}  // namespace mmusim
