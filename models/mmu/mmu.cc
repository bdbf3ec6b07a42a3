#include "mmu/mmu.h"

#include <cassert>
#include <cstring>

#include "common/access_copy.h"
#include "common/config.h"
#include "common/error.h"
#include "common/stats_registry.h"
#include "memory/phys_mem.h"
#include "mmu/tlb.h"

namespace mmusim {

namespace {
PagingMode parse_mode(const std::string& s) { return s == "sv48" ? PagingMode::Sv48 : PagingMode::Sv39; }

// Every access of a trace is a user-mode one (the kernel's own accesses go to
// PhysMem directly): U-mode, SUM and MXR clear.
const AccessContext kUserAccess;

// A cached translation answers the protection check itself.
bool entry_permits(const TlbEntry& e, AccessType access) { return pte_permits(Pte(e.flags), access, kUserAccess); }

// A store through a clean (D = 0) entry walks again so that the walker sets D
// in memory.
bool store_needs_walk(const TlbEntry& e, AccessType access) {
  return access == AccessType::Store && !(e.flags & Pte::D);
}

}  // namespace

TlbParams tlb_params(const Config& cfg, const std::string& level) {
  const std::string k = "tlb." + level + ".";
  TlbParams p;
  p.name = level;
  p.entries = unsigned(cfg.u64(k + "entries"));
  p.ways = unsigned(cfg.u64(k + "ways"));
  p.latency = cfg.u64(k + "latency");
  p.policy = parse_policy(cfg.str(k + "policy"));
  p.seed = cfg.u64("tlb.seed") + (level == "l2" ? 1 : 0);
  return p;
}

std::unique_ptr<Tlb> make_tlb(const Config& cfg, const std::string& level) {
  return std::make_unique<Tlb>(tlb_params(cfg, level));
}

Mmu::Mmu(sc_core::sc_module_name name, const Config& cfg, const Clock& clock)
    : sc_core::sc_module(name),
      cpu_socket("cpu_socket"),
      mem_socket("mem_socket"),
      clock_(clock),
      mode_(parse_mode(cfg.str("mmu.mode"))),
      pte_mem_(*this),
      walker_(std::make_unique<CppPageTableWalker>(mode_, unsigned(cfg.u64("mmu.pwc_entries")), pte_mem_,
                                                   cfg.flag("mmu.nonleaf_wp"))),
      l1_(make_tlb(cfg, "l1")),
      hit_cache_enabled_(cfg.flag("mmu.hit_cache")) {
  if (cfg.u64("tlb.l2.entries") > 0) l2_ = make_tlb(cfg, "l2");
  cpu_socket.bind(*this);
}

Mmu::~Mmu() = default;

void Mmu::set_direct_memory(PhysMem* mem) {
  direct_mem_ = mem;
  update_hit_cache_source();
}

void Mmu::set_l1(std::unique_ptr<TlbModel> tlb) {
  l1_ = std::move(tlb);
  update_hit_cache_source();
}

void Mmu::update_hit_cache_source() {
  // Only the C++ TLB can say when its answers change (an RTL L1 is looked up
  // in the RTL every time: that is what co-simulation is for).
  cached_l1_ = hit_cache_enabled_ && direct_mem_ ? dynamic_cast<Tlb*>(l1_.get()) : nullptr;
  // As the full path: the L1's latency, then the memory's (both fixed).
  if (cached_l1_) hit_delay_ = clock_.to_time(cached_l1_->latency()) + direct_mem_->access_delay();
  hit_cache_.fill(HitCacheEntry{});
}

bool Mmu::direct_access(VAddr va, Asid asid, AccessType access, unsigned len, uint8_t* data,
                        sc_core::sc_time& delay) {
  if (!cached_l1_) return false;
  const Vpn vpn = vpn_of(va);
  const HitCacheEntry& c = hit_cache_[vpn % kHitCacheEntries];
  if (c.vpn != vpn || c.asid != asid || c.tlb_epoch != cached_l1_->epoch() || c.mem_epoch != direct_mem_->epoch())
    return false;
  const uint64_t offset = page_offset(va);
  assert(len <= 8 && offset + len <= kPageSize);  // the caller's to check (Cpu::access does)
  const bool write = access == AccessType::Store;
  if (write ? !(c.store_ok && c.frame) : !(access == AccessType::Load && c.load_ok)) return false;
  ++stats_.l1_hits;
  ++stats_.hit_cache_hits;
  cached_l1_->hit_again(c.slot);
  if (write) copy_access_bytes(c.frame + offset, data, len);
  else if (c.frame) copy_access_bytes(data, c.frame + offset, len);
  else std::memset(data, 0, len);
  direct_mem_->count_direct(write);
  delay += hit_delay_;
  return true;
}

void Mmu::hit_cache_fill(Vpn vpn, Asid asid, const TlbEntry& entry, Ppn frame) {
  if (frame >= direct_mem_->frames()) return;  // the memory answered with an error
  HitCacheEntry& c = hit_cache_[vpn % kHitCacheEntries];
  c.vpn = vpn;
  c.asid = asid;
  // What b_transport would serve from this entry without a walk.
  c.load_ok = entry_permits(entry, AccessType::Load);
  c.store_ok = entry_permits(entry, AccessType::Store) && !store_needs_walk(entry, AccessType::Store);
  c.tlb_epoch = cached_l1_->epoch();
  c.mem_epoch = direct_mem_->epoch();
  c.slot = cached_l1_->slot_of(&entry);
  c.frame = direct_mem_->direct_frame(frame);
}

void Mmu::set_walker(std::unique_ptr<WalkerModel> walker) { walker_ = std::move(walker); }

void Mmu::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  auto* ext = trans.get_extension<AccessExtension>();
  if (!ext) {
    SC_REPORT_ERROR("/mmusim/mmu", "access without an AccessExtension");
    trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  const VAddr va = trans.get_address();
  const Vpn vpn = vpn_of(va);
  const AccessType access = ext->access;
  ext->fault = WalkFault::None;
  ext->walk_cycles = 0;

  Cycles cycles = l1_->latency();
  const TlbEntry* hit = l1_->lookup(vpn, ext->asid);
  const TlbEntry* const l1_hit = hit;
  if (hit) {
    ++stats_.l1_hits;
  } else {
    ++stats_.l1_misses;
    if (l2_) {
      cycles += l2_->latency();
      hit = l2_->lookup(vpn, ext->asid);
      if (hit) {
        ++stats_.l2_hits;
        ++stats_.l1_fills;
        stats_.l1_evictions += l1_->fill(*hit);
      } else {
        ++stats_.l2_misses;
      }
    }
  }

  TlbEntry walked;
  if (hit && !entry_permits(*hit, access)) {
    ext->fault = WalkFault::Permission;
  } else if (!hit || store_needs_walk(*hit, access)) {
    const WalkResult w = walker_->walk(ext->root, vpn, access, ext->asid, kUserAccess);
    cycles += w.cycles;
    ext->walk_cycles = w.cycles;
    if (w.fault != WalkFault::None) {
      ext->fault = w.fault;
    } else {
      // The permission cached is the AND over the levels: below a
      // write-protecting non-leaf PTE the entry allows no store.
      const Pte effective = w.write_protected ? w.pte.without(Pte::W) : w.pte;
      walked = TlbEntry{vpn, w.pte.ppn(), ext->asid, uint8_t(effective.raw & 0xff), uint8_t(w.level)};
      if (l2_) {
        ++stats_.l2_fills;
        stats_.l2_evictions += l2_->fill(walked);
      }
      ++stats_.l1_fills;
      stats_.l1_evictions += l1_->fill(walked);
      hit = &walked;
    }
  }
  if (ext->fault != WalkFault::None) {
    ++stats_.faults;
    delay += clock_.to_time(cycles);
    trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }

  const Ppn frame = hit->translate(vpn);
  const PAddr pa = frame_addr(frame) | page_offset(va);
  delay += clock_.to_time(cycles);
  if (trans.get_command() == tlm::TLM_IGNORE_COMMAND) {
    // A translation probe (the CPU checks the second page of a crossing
    // store before writing the first): no data moves.
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  trans.set_address(pa);
  mem_socket->b_transport(trans, delay);
  trans.set_address(va);
  // An L1 hit that needed no walk: the next access to this page may take
  // the hit cache (filled after the access, which may have made the frame live).
  if (cached_l1_ && hit == l1_hit && trans.is_response_ok()) hit_cache_fill(vpn, ext->asid, *hit, frame);
}

unsigned int Mmu::transport_dbg(tlm::tlm_generic_payload& trans) {
  // Debug accesses are physical: the kernel and tests peek at memory through here.
  return mem_socket->transport_dbg(trans);
}

void Mmu::invalidate_all() {
  ++stats_.sfence_all;
  l1_->invalidate_all();
  if (l2_) l2_->invalidate_all();
  walker_->flush_pwc();
}

void Mmu::invalidate_asid(Asid asid) {
  ++stats_.sfence_asid;
  l1_->invalidate_asid(asid);
  if (l2_) l2_->invalidate_asid(asid);
}

void Mmu::invalidate_page(Vpn vpn, Asid asid) {
  ++stats_.sfence_page;
  l1_->invalidate_page_asid(vpn, asid);
  if (l2_) l2_->invalidate_page_asid(vpn, asid);
}

void Mmu::visit_entries(const std::function<void(const TlbEntry&)>& fn) const {
  l1_->visit(fn);
  if (l2_) l2_->visit(fn);
}

Cycles Mmu::SocketPteMemory::transfer(tlm::tlm_command cmd, PAddr pa, uint64_t& value) {
  trans_.set_command(cmd);
  trans_.set_address(pa);
  trans_.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
  trans_.set_data_length(sizeof value);
  trans_.set_streaming_width(sizeof value);
  trans_.set_byte_enable_ptr(nullptr);
  trans_.set_dmi_allowed(false);
  trans_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time t = sc_core::SC_ZERO_TIME;
  mmu_.mem_socket->b_transport(trans_, t);
  if (trans_.is_response_error()) {
    // A PTE outside physical memory: the tables are corrupt, which is a model bug.
    SC_REPORT_FATAL("/mmusim/mmu/ptw", ("page-table access outside memory: " + trans_.get_response_string()).c_str());
  }
  return mmu_.clock_.to_cycles(t);
}

uint64_t Mmu::SocketPteMemory::read_pte(PAddr pa, Cycles& delay) {
  uint64_t v = 0;
  delay += transfer(tlm::TLM_READ_COMMAND, pa, v);
  return v;
}

void Mmu::SocketPteMemory::write_pte(PAddr pa, uint64_t value, Cycles& delay) {
  delay += transfer(tlm::TLM_WRITE_COMMAND, pa, value);
}

uint64_t Mmu::SocketPteMemory::peek_pte(PAddr pa) {
  uint64_t value = 0;
  tlm::tlm_generic_payload t;
  t.set_command(tlm::TLM_READ_COMMAND);
  t.set_address(pa);
  t.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
  t.set_data_length(sizeof value);
  t.set_streaming_width(sizeof value);
  if (mmu_.mem_socket->transport_dbg(t) != sizeof value)
    SC_REPORT_FATAL("/mmusim/mmu/ptw", "page-table peek outside memory");
  return value;
}

void Mmu::report(StatsJson& out) const {
  out["tlb.l1.hits"] = stats_.l1_hits;
  out["tlb.l1.misses"] = stats_.l1_misses;
  out["tlb.l2.hits"] = stats_.l2_hits;
  out["tlb.l2.misses"] = stats_.l2_misses;
  out["tlb.l1.fills"] = stats_.l1_fills;
  out["tlb.l1.evictions"] = stats_.l1_evictions;
  out["tlb.l2.fills"] = stats_.l2_fills;
  out["tlb.l2.evictions"] = stats_.l2_evictions;
  out["tlb.sfence_all"] = stats_.sfence_all;
  out["tlb.sfence_asid"] = stats_.sfence_asid;
  out["tlb.sfence_page"] = stats_.sfence_page;
  const WalkerStats& w = walker_->stats();
  out["ptw.walks"] = w.walks;
  out["ptw.mem_reads"] = w.mem_reads;
  out["ptw.mem_writes"] = w.mem_writes;
  out["ptw.cycles"] = w.cycles;
  out["ptw.pwc_hits"] = w.pwc_hits;
  out["ptw.pwc_misses"] = w.pwc_misses;
  out["mmu.faults"] = stats_.faults;
  out["mmu.hit_cache_hits"] = stats_.hit_cache_hits;
}

void Mmu::declare_stats(StatsRegistry& r) {
  r.add({
      {"tlb.l1.hits", "lookups", "L1 TLB lookups that hit"},
      {"tlb.l1.misses", "lookups", "L1 TLB lookups that missed"},
      {"tlb.l2.hits", "lookups", "L2 TLB lookups (after an L1 miss) that hit"},
      {"tlb.l2.misses", "lookups", "L2 TLB lookups that missed: a page walk follows"},
      {"tlb.l1.fills", "entries", "translations written into the L1 TLB (from the L2 or a walk)"},
      {"tlb.l1.evictions", "entries", "L1 TLB fills that evicted a valid entry of another page"},
      {"tlb.l2.fills", "entries", "translations written into the L2 TLB (after a walk)"},
      {"tlb.l2.evictions", "entries", "L2 TLB fills that evicted a valid entry of another page"},
      {"tlb.sfence_all", "flushes", "whole-TLB invalidations (sfence.vma with no operands)"},
      {"tlb.sfence_asid", "flushes", "invalidations of one address space (sfence.vma zero, asid)"},
      {"tlb.sfence_page", "flushes", "invalidations of one page (sfence.vma va, asid)"},
      {"ptw.walks", "walks", "page-table walks"},
      {"ptw.mem_reads", "reads", "PTE reads from memory by the walker"},
      {"ptw.mem_writes", "writes", "PTE writes by the walker (setting A and D)"},
      {"ptw.cycles", "cycles", "cycles spent walking (memory time)"},
      {"ptw.pwc_hits", "lookups", "page-walk cache lookups that hit"},
      {"ptw.pwc_misses", "lookups", "page-walk cache lookups that missed"},
      {"mmu.faults", "accesses", "translations that ended in a fault for the kernel"},
      {"mmu.hit_cache_hits", "lookups",
       "L1 TLB hits the MMU's hit cache served (mmu.hit_cache; also in tlb.l1.hits): host speed only, "
       "every other statistic is the same without it"},
  });
}

}  // namespace mmusim
