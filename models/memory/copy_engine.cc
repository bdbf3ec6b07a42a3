#include "memory/copy_engine.h"

#include "common/config.h"
#include "common/stats_registry.h"
#include "memory/cpu_copy_engine.h"
#include "memory/dma_engine.h"
#include "memory/rowclone_engine.h"

namespace mmusim {

std::unique_ptr<CopyEngine> make_copy_engine(const Config& cfg, PhysMem& mem) {
  const std::string& e = cfg.str("kernel.copy_engine");
  if (e == "dma") return std::make_unique<DmaEngine>(cfg, mem);
  if (e == "rowclone") return std::make_unique<RowCloneEngine>(cfg, mem);
  return std::make_unique<CpuCopyEngine>(cfg, mem);
}

Cycles CopyEngine::counted_copy(uint64_t frames, Cycles t, double nj) {
  ++stats_.copies;
  stats_.bytes_copied += frames * kPageSize;
  stats_.copy_cycles += t;
  stats_.copy_energy_nj += nj;
  return t;
}

Cycles CopyEngine::counted_zero(uint64_t frames, Cycles t, double nj) {
  ++stats_.zeroes;
  stats_.bytes_zeroed += frames * kPageSize;
  stats_.zero_cycles += t;
  stats_.zero_energy_nj += nj;
  return t;
}

void CopyEngine::report(StatsJson& out) const {
  const CopyEngineStats& s = stats_;
  out["engine.name"] = name();
  out["engine.copies"] = s.copies;
  out["engine.zeroes"] = s.zeroes;
  out["engine.bytes_copied"] = s.bytes_copied;
  out["engine.bytes_zeroed"] = s.bytes_zeroed;
  out["engine.copy_cycles"] = s.copy_cycles;
  out["engine.zero_cycles"] = s.zero_cycles;
  out["engine.copy_energy_nj"] = s.copy_energy_nj;
  out["engine.zero_energy_nj"] = s.zero_energy_nj;
  out["engine.fpm_copies"] = s.fpm_copies;
  out["engine.psm_copies"] = s.psm_copies;
  out["engine.psm_intra_bank"] = s.psm_intra_bank;
  out["engine.fpm_zeroes"] = s.fpm_zeroes;
  out["engine.dma_descriptors"] = s.dma_descriptors;
  out["engine.placed_near"] = s.placed_near;
  out["engine.placed_far"] = s.placed_far;
  out["memory.copy_energy_nj"] = s.copy_energy_nj + s.zero_energy_nj;
}

void CopyEngine::declare_stats(StatsRegistry& r) {
  r.add({
      {"engine.name", "text", "the copy engine (kernel.copy_engine): cpu, dma or rowclone"},
      {"engine.copies", "operations", "page copies the kernel asked of the engine (a huge page's is one)"},
      {"engine.zeroes", "operations", "page zeroings the kernel asked of the engine (page tables included)"},
      {"engine.bytes_copied", "bytes", "bytes the engine copied"},
      {"engine.bytes_zeroed", "bytes", "bytes the engine zeroed"},
      {"engine.copy_cycles", "cycles", "cycles the requesting CPUs waited for copies"},
      {"engine.zero_cycles", "cycles", "cycles the requesting CPUs waited for zeroings"},
      {"engine.copy_energy_nj", "nJ", "energy of the copies"},
      {"engine.zero_energy_nj", "nJ", "energy of the zeroings"},
      {"engine.fpm_copies", "pages", "rowclone: 4 KiB copies within one subarray (Fast Parallel Mode)"},
      {"engine.psm_copies", "pages",
       "rowclone: 4 KiB copies over the internal bus (Pipelined Serial Mode), within a bank included"},
      {"engine.psm_intra_bank", "pages", "rowclone: PSM copies within one bank (two transfers each)"},
      {"engine.fpm_zeroes", "pages", "rowclone: 4 KiB zeroings from a subarray's zero row"},
      {"engine.dma_descriptors", "descriptors", "dma: descriptors submitted (one a copy or zeroing)"},
      {"engine.placed_near", "copies",
       "kernel.copy_aware_alloc: COW and fork copies whose new frame was found where the engine copies "
       "fastest (rowclone: the source's subarray)"},
      {"engine.placed_far", "copies", "kernel.copy_aware_alloc: copies for which no such frame was free"},
      {"memory.copy_energy_nj", "nJ", "energy of every page copy and zeroing the kernel did, by its engine"},
  });
}

}  // namespace mmusim
