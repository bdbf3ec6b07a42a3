#include "top.h"

#include <fmt/format.h>

#include "common/config.h"
#include "common/stats_registry.h"
#include "lockstep_ptw.h"
#include "lockstep_tlb.h"
#include "mmu/tlb.h"
#include "rtl_ptw.h"
#include "rtl_tlb.h"

namespace mmusim {

namespace {

std::vector<std::unique_ptr<Mmu>> make_mmus(const Config& cfg, const Clock& clock) {
  std::vector<std::unique_ptr<Mmu>> mmus;
  for (unsigned k = 0; k < cfg.u64("cpu.count"); ++k)
    mmus.push_back(std::make_unique<Mmu>((k == 0 ? std::string("mmu") : fmt::format("mmu{}", k)).c_str(), cfg, clock));
  return mmus;
}

std::vector<TlbMaintenance*> maintenance_of(const std::vector<std::unique_ptr<Mmu>>& mmus) {
  std::vector<TlbMaintenance*> v;
  for (const auto& m : mmus) v.push_back(m.get());
  return v;
}

}  // namespace

Top::Top(sc_core::sc_module_name name, const Config& cfg, TraceReader& trace, const std::string& rtl_vcd,
         const std::string& ptw_vcd)
    : sc_core::sc_module(name),
      clock(cfg.u64("cpu.freq_mhz")),
      mem("mem", cfg, clock),
      mmus(make_mmus(cfg, clock)),
      kernel(cfg, mem, maintenance_of(mmus)),
      reference(cfg.flag("verify.reference") ? std::make_unique<ReferenceModel>() : nullptr) {
  std::vector<Cpu*> players;
  for (unsigned k = 0; k < mmus.size(); ++k) {
    cpus.push_back(std::make_unique<Cpu>((k == 0 ? std::string("cpu") : fmt::format("cpu{}", k)).c_str(), k, cfg, clock,
                                         trace, kernel, reference.get(), verify));
    cpus[k]->socket.bind(mmus[k]->cpu_socket);
    mmus[k]->mem_socket.bind(mem.port(k));
    mmus[k]->set_direct_memory(&mem);
    cpus[k]->set_direct_mmu(mmus[k].get());
    players.push_back(cpus[k].get());
  }
  player = std::make_unique<TracePlayer>("player", clock, trace, kernel, players, reference.get(),
                                         cfg.u64("cpu.quantum"));

  // ptw.impl: the RTL walker as each CPU's, alone or in lockstep with the C++ one.
  const std::string& ptw_impl = cfg.str("ptw.impl");
  for (unsigned k = 0; k < mmus.size() && ptw_impl != "model"; ++k) {
    RtlPtwParams p = rtl_ptw_params(cfg);
    if (k == 0) p.vcd_path = ptw_vcd;
    Cpu* cpu = cpus[k].get();
    Mmu& mmu = *mmus[k];
    if (ptw_impl == "rtl") {
      std::unique_ptr<RtlPageTableWalker> rtl = make_rtl_ptw(p, mmu.pte_memory());
      rtl->set_cycle_source([cpu] { return cpu->now(); });
      rtl_ptws.push_back(rtl.get());
      mmu.set_walker(std::move(rtl));
    } else {
      const unsigned pwc = unsigned(cfg.u64("mmu.pwc_entries"));
      const bool nonleaf_wp = cfg.flag("mmu.nonleaf_wp");
      auto pair = std::make_unique<LockstepPageTableWalker>(
          mmu.pte_memory(),
          [&](PteMemory& m) { return std::make_unique<CppPageTableWalker>(mmu.mode(), pwc, m, nonleaf_wp); },
          [&](PteMemory& m) {
            std::unique_ptr<RtlPageTableWalker> rtl = make_rtl_ptw(p, m);
            rtl->set_cycle_source([cpu] { return cpu->now(); });
            rtl_ptws.push_back(rtl.get());
            return rtl;
          });
      pair->set_cycle_source([cpu] { return cpu->now(); });
      pair->set_on_divergence([](const std::string&) { sc_core::sc_stop(); });
      ptw_locksteps.push_back(pair.get());
      mmu.set_walker(std::move(pair));
    }
  }

  // tlb.impl: the RTL TLB as each CPU's L1, alone or in lockstep with the C++ one.
  const std::string& impl = cfg.str("tlb.impl");
  if (impl == "model") return;
  for (unsigned k = 0; k < mmus.size(); ++k) {
    RtlTlbParams p = rtl_l1_params(cfg);
    if (k == 0) p.vcd_path = rtl_vcd;
    std::unique_ptr<RtlTlb> rtl = make_rtl_tlb(p);
    rtl_tlbs.push_back(rtl.get());
    Cpu* cpu = cpus[k].get();
    rtl->set_cycle_source([cpu] { return cpu->now(); });
    if (impl == "rtl") {
      mmus[k]->set_l1(std::move(rtl));
    } else {
      auto pair = std::make_unique<LockstepTlb>(make_tlb(cfg, "l1"), std::move(rtl),
                                                parse_lockstep_check(cfg.str("tlb.lockstep_check")));
      pair->set_cycle_source([cpu] { return cpu->now(); });
      // With a worker the callback may come from drain() after the run.
      pair->set_on_divergence([](const std::string&) {
        if (sc_core::sc_is_running()) sc_core::sc_stop();
      });
      locksteps.push_back(pair.get());
      mmus[k]->set_l1(std::move(pair));
    }
  }
}

Top::~Top() = default;

void Top::drain_locksteps() {
  for (LockstepTlb* l : locksteps) l->drain();
}

// In lockstep the pair reports the RTL's assertions (its worker owns the RTL),
// so the RTL TLBs are asked directly only with tlb.impl = rtl.
bool Top::tlb_failed() const {
  for (const LockstepTlb* l : locksteps)
    if (l->divergence_seen()) return true;
  if (locksteps.empty())
    for (const RtlTlb* r : rtl_tlbs)
      if (!r->error().empty()) return true;
  for (const LockstepPageTableWalker* l : ptw_locksteps)
    if (l->diverged()) return true;
  for (const RtlPageTableWalker* r : rtl_ptws)
    if (!r->error().empty()) return true;
  return false;
}

std::string Top::tlb_failure() const {
  for (size_t k = 0; k < locksteps.size(); ++k)
    if (locksteps[k]->diverged()) return (locksteps.size() > 1 ? fmt::format("CPU {}: ", k) : "") + locksteps[k]->report();
  for (size_t k = 0; k < rtl_tlbs.size() && locksteps.empty(); ++k)
    if (!rtl_tlbs[k]->error().empty())
      return (rtl_tlbs.size() > 1 ? fmt::format("CPU {}: ", k) : "") + rtl_tlbs[k]->error() + "\n";
  for (size_t k = 0; k < ptw_locksteps.size(); ++k)
    if (ptw_locksteps[k]->diverged())
      return (ptw_locksteps.size() > 1 ? fmt::format("CPU {}: ", k) : "") + ptw_locksteps[k]->report();
  for (size_t k = 0; k < rtl_ptws.size(); ++k)
    if (!rtl_ptws[k]->error().empty())
      return (rtl_ptws.size() > 1 ? fmt::format("CPU {}: ", k) : "") + rtl_ptws[k]->error() + "\n";
  return "";
}

uint64_t Top::lockstep_walks() const {
  uint64_t n = 0;
  for (const LockstepPageTableWalker* l : ptw_locksteps) n += l->walks();
  return n;
}

uint64_t Top::lockstep_walk_divergences() const {
  uint64_t n = 0;
  for (const LockstepPageTableWalker* l : ptw_locksteps) n += l->divergences();
  return n;
}

uint64_t Top::lockstep_lookups() const {
  uint64_t n = 0;
  for (const LockstepTlb* l : locksteps) n += l->lookups();
  return n;
}

uint64_t Top::lockstep_divergences() const {
  uint64_t n = 0;
  for (LockstepTlb* l : locksteps) n += l->divergences();
  return n;
}

void Top::halt() {
  sc_core::sc_stop();
  sc_core::wait(never_);
}

void Top::finish_rtl_vcd(bool keep) {
  for (RtlTlb* r : rtl_tlbs) r->finish_vcd(keep);
  for (RtlPageTableWalker* r : rtl_ptws) r->finish_vcd(keep);
}

void Top::report(StatsJson& out) const {
  player->report(out);
  // Run totals: sums over the CPUs (sim.cycles, the largest clock, comes from the player).
  CpuStats sum;
  for (const auto& c : cpus) {
    const CpuStats& s = c->stats();
    sum.accesses += s.accesses;
    sum.loads += s.loads;
    sum.stores += s.stores;
    sum.page_crossings += s.page_crossings;
    sum.compute_cycles += s.compute_cycles;
  }
  out["sim.accesses"] = sum.accesses;
  out["sim.loads"] = sum.loads;
  out["sim.stores"] = sum.stores;
  out["sim.page_crossings"] = sum.page_crossings;
  out["sim.compute_cycles"] = sum.compute_cycles;
  out["verify.loads_checked"] = verify.loads_checked;
  out["verify.mismatches"] = verify.mismatches;
  out["verify.load_hash"] = fmt::format("{:016x}", verify.load_hash);
  StatsJson per_mmu = StatsJson::object();
  for (size_t k = 0; k < mmus.size(); ++k) {
    cpus[k]->report(out);
    StatsJson m;
    mmus[k]->report(m);
    const std::string prefix = fmt::format("cpu.{}.", k);
    out[prefix + "tlb.l1.hits"] = m["tlb.l1.hits"];
    out[prefix + "tlb.l1.misses"] = m["tlb.l1.misses"];
    for (const auto& [key, value] : m.items())
      per_mmu[key] = per_mmu.value(key, uint64_t{0}) + value.get<uint64_t>();
  }
  for (const auto& [key, value] : per_mmu.items()) out[key] = value;
  kernel.report(out);
  out["memory.host_frames_peak"] = mem.stats().host_frames_peak;
}

void Top::declare_stats(StatsRegistry& r) {
  TracePlayer::declare_stats(r);
  r.add({
      {"sim.accesses", "accesses",
       "loads and stores that completed (a page-crossing access counts once; one that segfaults does not count)"},
      {"sim.loads", "accesses", "loads that completed"},
      {"sim.stores", "accesses", "stores that completed"},
      {"sim.page_crossings", "accesses", "accesses that crossed into a second page (two translations)"},
      {"sim.compute_cycles", "cycles", "cycles of the trace's compute records"},
      {"verify.loads_checked", "loads", "loads checked against the reference model and expect= values"},
      {"verify.mismatches", "loads", "checked loads whose value differed"},
      {"verify.load_hash", "text",
       "hash of every load's trace line and value, in order: runs that load the same values agree"},
  });
  Cpu::declare_stats(r);
  r.add({
      {"cpu.<k>.tlb.l1.hits", "lookups", "this CPU's L1 TLB hits (tlb.l1.hits is the sum)"},
      {"cpu.<k>.tlb.l1.misses", "lookups", "this CPU's L1 TLB misses (tlb.l1.misses is the sum)"},
  });
  Mmu::declare_stats(r);
  Kernel::declare_stats(r);
  FrameAllocator::declare_stats(r);
  CopyEngine::declare_stats(r);
  r.add({{"memory.host_frames_peak", "frames", "host memory backing the simulated frames, in frames, at the peak"}});
}

}  // namespace mmusim
