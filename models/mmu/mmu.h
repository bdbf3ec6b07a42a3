// The MMU: L1 and L2 TLB lookup, page walk on a miss, the protection check,
// then the physical access forwarded to memory. Loosely timed: every step
// annotates the transaction's delay, nothing waits.
#pragma once
#include <array>
#include <memory>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "common/clock.h"
#include "common/lt_target.h"
#include "common/stats_sink.h"
#include "mmu/access_extension.h"
#include "mmu/page_table_walker.h"
#include "mmu/tlb_maintenance.h"
#include "mmu/tlb_model.h"
#include "mmu/walker_model.h"

namespace mmusim {

class Config;
class PhysMem;
class Tlb;
struct TlbParams;

// The parameters tlb.<level>.* give the C++ TLB of one level ("l1" or "l2").
TlbParams tlb_params(const Config& cfg, const std::string& level);
// The C++ TLB of one level as tlb.<level>.* configure it.
std::unique_ptr<Tlb> make_tlb(const Config& cfg, const std::string& level);

struct MmuStats {
  uint64_t faults = 0;
  uint64_t l1_hits = 0, l1_misses = 0, l2_hits = 0, l2_misses = 0;
  uint64_t l1_fills = 0, l1_evictions = 0, l2_fills = 0, l2_evictions = 0;
  uint64_t sfence_all = 0, sfence_asid = 0, sfence_page = 0;
  uint64_t hit_cache_hits = 0;  // l1_hits served by the hit cache (host speed only)
};

class Mmu : public sc_core::sc_module, public LooselyTimedTarget, public TlbMaintenance {
 public:
  tlm::tlm_target_socket<> cpu_socket;                // virtual accesses from the Cpu
  tlm_utils::simple_initiator_socket<Mmu> mem_socket;  // physical accesses to PhysMem

  Mmu(sc_core::sc_module_name name, const Config& cfg, const Clock& clock);
  ~Mmu() override;

  // TlbMaintenance (RISC-V sfence.vma flavours): invalidate the L1 and the
  // L2; a whole flush also empties the page-walk cache.
  void invalidate_page(Vpn vpn, Asid asid) override;
  void invalidate_asid(Asid asid) override;
  void invalidate_all() override;
  void flush_walk_cache() override { walker_->flush_pwc(); }
  void visit_entries(const std::function<void(const TlbEntry&)>& fn) const override;

  // The memory mem_socket is bound to, for the hit cache's direct path
  // (mmu.hit_cache). Without it, or with an L1 that is not the C++ TLB,
  // every access takes the full path.
  void set_direct_memory(PhysMem* mem);
  // Swap the L1 TLB implementation (RTL adapter, lockstep pair).
  void set_l1(std::unique_ptr<TlbModel> tlb);
  TlbModel& l1() { return *l1_; }
  TlbModel* l2() { return l2_.get(); }
  // Swap the page-table walker (ptw.impl: RTL adapter, lockstep pair).
  void set_walker(std::unique_ptr<WalkerModel> walker);
  WalkerModel& walker() { return *walker_; }
  const WalkerModel& walker() const { return *walker_; }
  // The memory the walker reads PTEs from (through mem_socket, timed); an
  // RTL walker set with set_walker() is served from it too.
  PteMemory& pte_memory() { return pte_mem_; }
  PagingMode mode() const { return mode_; }
  const MmuStats& stats() const { return stats_; }
  void report(StatsJson& out) const;
  // The keys report() writes (summed over the CPUs' MMUs).
  static void declare_stats(StatsRegistry& r);

  // The CPU's direct path into the hit cache (mmu.hit_cache), in the spirit
  // of TLM-2.0's DMI but counted and timed as any access: serves a load or
  // store of len <= 8 bytes within one page (the caller checks both: the
  // hit path is too hot to check twice) and returns true, or returns
  // false having changed nothing (the access then goes through cpu_socket,
  // which may fill the cache for the next one).
  bool direct_access(VAddr va, Asid asid, AccessType access, unsigned len, uint8_t* data, sc_core::sc_time& delay);

  // The TLM-2.0 forward interface cpu_socket is bound to.
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) override;
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans) override;

 private:
  // Reads and writes PTEs through mem_socket, one timed transaction each.
  class SocketPteMemory final : public PteMemory {
   public:
    explicit SocketPteMemory(Mmu& mmu) : mmu_(mmu) {}
    uint64_t read_pte(PAddr pa, Cycles& delay) override;
    void write_pte(PAddr pa, uint64_t value, Cycles& delay) override;
    uint64_t peek_pte(PAddr pa) override;  // a debug transaction: untimed, uncounted

   private:
    Cycles transfer(tlm::tlm_command cmd, PAddr pa, uint64_t& value);
    Mmu& mmu_;
    tlm::tlm_generic_payload trans_;
  };


  // The hit cache: the L1 hits of recent pages with their host frames,
  // direct-mapped by page. An access that hits in it again does what the
  // full path would (count the translation and the L1 hit, update the L1's
  // replacement state, move the bytes, count the memory access, add the L1's
  // and the memory's latency) without searching the TLB or crossing the TLM
  // socket. An entry holds while the L1 (Tlb::epoch) and the memory's frames
  // (PhysMem::epoch) are unchanged; any fill, invalidation, or frame zeroed,
  // freed or first written retires every entry at once.
  struct HitCacheEntry {
    Vpn vpn = 0;
    Asid asid = 0;
    bool load_ok = false, store_ok = false;  // the L1 entry permits it without a walk
    uint64_t tlb_epoch = 0, mem_epoch = 0;   // 0: never current
    unsigned slot = 0;                       // the L1's slot, for Tlb::hit_again
    uint8_t* frame = nullptr;                // host bytes; nullptr: the frame reads as zeroes
  };
  static constexpr unsigned kHitCacheEntries = 64;
  void hit_cache_fill(Vpn vpn, Asid asid, const TlbEntry& entry, Ppn frame);
  void update_hit_cache_source();

  const Clock& clock_;
  PagingMode mode_;
  SocketPteMemory pte_mem_;
  std::unique_ptr<WalkerModel> walker_;
  std::unique_ptr<TlbModel> l1_;
  std::unique_ptr<TlbModel> l2_;  // null when tlb.l2.entries = 0
  MmuStats stats_;
  bool hit_cache_enabled_;
  Tlb* cached_l1_ = nullptr;       // the L1 when the hit cache is on and the L1 is the C++ TLB
  PhysMem* direct_mem_ = nullptr;
  sc_core::sc_time hit_delay_;     // a hit-cache access: the L1's latency and the memory's
  std::array<HitCacheEntry, kHitCacheEntries> hit_cache_{};
};

}  // namespace mmusim
