#include "kernel/kernel.h"

#include <fmt/format.h>

#include <set>
#include <stdexcept>

#include "common/config.h"
#include "common/error.h"
#include "memory/phys_mem.h"
#include "mmu/mmu.h"

namespace mmusim {

namespace {
constexpr uint64_t kPteBytes = 8;
}

Kernel::Kernel(sc_core::sc_module_name name, const Config& cfg, PhysMem& mem, Mmu& mmu)
    : sc_core::sc_module(name),
      mem_(mem),
      mmu_(mmu),
      frames_(mem.frames()),
      mode_(mmu.mode()),
      levels_(levels_of(mode_)),
      cow_fork_(cfg.str("kernel.fork_policy") == "cow"),
      use_zero_page_(cfg.flag("kernel.zero_page")),
      asid_bits_(unsigned(cfg.u64("mmu.asid_bits"))),
      mem_latency_(cfg.u64("mem.latency")),
      trap_entry_(cfg.u64("kernel.trap_entry")),
      trap_exit_(cfg.u64("kernel.trap_exit")),
      fault_base_(cfg.u64("kernel.fault_base")),
      frame_alloc_(cfg.u64("kernel.frame_alloc")),
      frame_free_(cfg.u64("kernel.frame_free")),
      pte_update_(cfg.u64("kernel.pte_update")),
      tlb_flush_(cfg.u64("kernel.tlb_flush")),
      fork_base_(cfg.u64("kernel.fork_base")),
      fork_per_pte_(cfg.u64("kernel.fork_per_pte")),
      context_switch_(cfg.u64("kernel.context_switch")),
      syscall_(cfg.u64("kernel.syscall")),
      copy_bytes_per_cycle_(cfg.u64("mem.copy_bytes_per_cycle")) {
  // Frame 0 stays unused so that a zero PPN never names a real page; the
  // zero frame backs first-touch loads of private pages.
  frames_.reserve();
  zero_frame_ = frames_.reserve();
}

Kernel::~Kernel() = default;

// ---------------------------------------------------------------- processes

ProcState Kernel::state(Pid pid) const {
  if (procs_.count(pid)) return ProcState::Alive;
  return dead_.count(pid) ? ProcState::Dead : ProcState::Unseen;
}

Process* Kernel::process(Pid pid) {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : it->second.get();
}

Process* Kernel::switch_to(Pid pid, Cycles& cost) {
  Process* p = process(pid);
  if (!p) {
    // A pid never seen starts as a new process with an empty address space.
    Cost c;
    auto root = alloc_frame(FrameUse::PageTable, c);
    if (!root) {
      ++stats_.oom_kills;
      dead_[pid] = ProcState::Dead;
      return nullptr;
    }
    auto owned = std::make_unique<Process>();
    owned->pid = pid;
    owned->mm.root = *root;
    p = owned.get();
    procs_.emplace(pid, std::move(owned));
    dead_.erase(pid);
    ++stats_.processes_created;
    cost += c.total();
  }
  if (p != current_) {
    if (last_pid_ != 0) {
      cost += context_switch_;
      ++stats_.context_switches;
    }
    if (asid_bits_ == 0) {
      // Without ASIDs the TLB only ever holds the running process's entries.
      if (last_pid_ != 0) {
        mmu_.sfence_all();
        cost += tlb_flush_;
      }
    } else if (p->asid_generation != asid_generation_) {
      assign_asid(*p, cost);
    }
    current_ = p;
    last_pid_ = pid;
  }
  return p;
}

void Kernel::assign_asid(Process& p, Cycles& cost) {
  const uint64_t ids = uint64_t{1} << asid_bits_;
  if (next_asid_ == ids) {
    // Out of ids: start a new generation. Every process gets a fresh id when it
    // next runs, and nothing tagged with an old id may survive in the TLB.
    ++asid_generation_;
    ++stats_.asid_rollovers;
    next_asid_ = 0;
    mmu_.sfence_all();
    cost += tlb_flush_;
  }
  p.asid = Asid(next_asid_++);
  p.asid_generation = asid_generation_;
}

void Kernel::shootdown_page(const Process& p, Vpn vpn, Cycles& cost) {
  if (asid_bits_ == 0) {
    if (&p != current_) return;  // flushed when it was switched out
    mmu_.sfence_page(vpn, 0);
  } else {
    if (p.asid_generation != asid_generation_) return;  // flushed at rollover
    mmu_.sfence_page(vpn, p.asid);
  }
  cost += tlb_flush_;
}

void Kernel::shootdown_all(const Process& p, Cycles& cost) {
  if (asid_bits_ == 0) {
    if (&p != current_) return;
    mmu_.sfence_all();
  } else {
    if (p.asid_generation != asid_generation_) return;
    mmu_.sfence_asid(p.asid);
  }
  cost += tlb_flush_;
}

// ---------------------------------------------------------------- page tables

std::optional<Ppn> Kernel::alloc_frame(FrameUse use, Cost& c) {
  auto f = frames_.alloc(use);
  if (!f) return std::nullopt;
  c.alloc += frame_alloc_;
  if (use == FrameUse::PageTable) c.alloc += mem_.zero_frame(*f);  // a new table starts empty
  return f;
}

void Kernel::release_frame(Ppn f, Cycles& cost) {
  if (frames_.reserved(f)) return;  // the zero frame is not reference-counted
  if (frames_.put(f)) {
    mem_.discard(f);
    cost += frame_free_;
  }
}

PAddr Kernel::leaf_slot(const AddressSpace& mm, Vpn vpn, bool create, Cost& c, bool& oom) {
  Ppn table = mm.root;
  for (unsigned level = levels_ - 1; level > 0; --level) {
    const PAddr slot = frame_addr(table) + vpn_index(vpn, level) * kPteBytes;
    Pte pte{mem_.read64(slot)};
    c.handler += mem_latency_;
    if (!pte.valid()) {
      if (!create) return 0;
      auto next = alloc_frame(FrameUse::PageTable, c);
      if (!next) {
        oom = true;
        return 0;
      }
      pte = Pte::make(*next, Pte::V);
      mem_.write64(slot, pte.raw);
      c.pte_update += pte_update_ + mem_latency_;
      ++frames_.table_entries(table);
    }
    table = pte.ppn();
  }
  return frame_addr(table) + vpn_index(vpn, 0) * kPteBytes;
}

PAddr Kernel::find_leaf_slot(const AddressSpace& mm, Vpn vpn) const {
  Ppn table = mm.root;
  for (unsigned level = levels_ - 1; level > 0; --level) {
    const Pte pte{mem_.read64(frame_addr(table) + vpn_index(vpn, level) * kPteBytes)};
    if (!pte.valid()) return 0;
    table = pte.ppn();
  }
  return frame_addr(table) + vpn_index(vpn, 0) * kPteBytes;
}

void Kernel::write_leaf(PAddr slot, Pte old_pte, Pte new_pte, Cost& c) {
  mem_.write64(slot, new_pte.raw);
  c.pte_update += pte_update_ + mem_latency_;
  if (old_pte.valid() != new_pte.valid()) {
    uint16_t& n = frames_.table_entries(slot >> kPageShift);
    n = uint16_t(new_pte.valid() ? n + 1 : n - 1);
  }
}

Pte Kernel::pte_of(const Process& p, VAddr va) const {
  const PAddr slot = find_leaf_slot(p.mm, vpn_of(va));
  return slot ? Pte{mem_.read64(slot)} : Pte{};
}

template <class Fn>
bool Kernel::visit_table(Ppn table, unsigned level, Vpn base, Vpn lo, Vpn hi, Fn& fn) const {
  const unsigned shift = level * kVpnBitsPerLevel;
  const uint64_t first = lo > base ? (lo - base) >> shift : 0;
  const uint64_t last = std::min<uint64_t>(kPtesPerTable - 1, (hi - 1 - base) >> shift);
  for (uint64_t i = first; i <= last; ++i) {
    const PAddr slot = frame_addr(table) + i * kPteBytes;
    const Pte pte{mem_.read64(slot)};
    if (!pte.valid()) continue;
    const Vpn vbase = base + (i << shift);
    if (level == 0) {
      if (!fn(slot, pte, vbase)) return false;
    } else if (!visit_table(pte.ppn(), level - 1, vbase, lo, hi, fn)) {
      return false;
    }
  }
  return true;
}

template <class Fn>
bool Kernel::for_each_leaf(const AddressSpace& mm, Vpn lo, Vpn hi, Fn&& fn) const {
  if (lo >= hi) return true;
  return visit_table(mm.root, levels_ - 1, 0, lo, hi, fn);
}

void Kernel::prune_tables(AddressSpace& mm, Vpn vpn, Cycles& cost) {
  // Slots of the non-leaf PTEs on the way down to vpn's leaf table.
  std::array<PAddr, 4> slots{};
  Ppn table = mm.root;
  for (unsigned level = levels_ - 1; level > 0; --level) {
    slots[level] = frame_addr(table) + vpn_index(vpn, level) * kPteBytes;
    const Pte pte{mem_.read64(slots[level])};
    if (!pte.valid()) return;
    table = pte.ppn();
  }
  // Free empty tables bottom-up; the root stays while the process lives.
  for (unsigned level = 1; level < levels_; ++level) {
    if (frames_.table_entries(table) != 0) return;
    const PAddr parent_slot = slots[level];
    mem_.write64(parent_slot, 0);
    cost += pte_update_ + mem_latency_;
    --frames_.table_entries(parent_slot >> kPageShift);
    release_frame(table, cost);
    mmu_.flush_walk_cache();
    table = parent_slot >> kPageShift;
  }
}

void Kernel::free_tables(Ppn table, unsigned level, Cycles& cost) {
  if (level > 0) {
    for (unsigned i = 0; i < kPtesPerTable; ++i) {
      const Pte pte{mem_.read64(frame_addr(table) + i * kPteBytes)};
      if (pte.valid()) free_tables(pte.ppn(), level - 1, cost);
    }
  }
  frames_.table_entries(table) = 0;
  release_frame(table, cost);
}

// ---------------------------------------------------------------- mappings

void Kernel::check_range(VAddr va, uint64_t len, const char* op) const {
  if (page_offset(va)) throw UserError(fmt::format("{}: address {:#x} is not page-aligned", op, va));
  if (len == 0) throw UserError(fmt::format("{}: length must not be zero", op));
  if (page_offset(len)) throw UserError(fmt::format("{}: length {:#x} is not page-aligned", op, len));
  const uint64_t limit = user_va_limit(mode_);
  if (va >= limit || len > limit - va)
    throw UserError(fmt::format("{}: range {:#x}+{:#x} is beyond the user address space ({:#x} with {})",
                                op, va, len, limit, mode_ == PagingMode::Sv39 ? "sv39" : "sv48"));
}

Pte Kernel::leaf_flags_for(const Vma& v, Ppn frame, bool writable, bool dirty) const {
  uint64_t f = Pte::V | Pte::U | Pte::A;
  if (v.perms.r) f |= Pte::R;
  if (v.perms.x) f |= Pte::X;
  if (writable) f |= Pte::W;
  if (dirty) f |= Pte::D;
  return Pte::make(frame, f);
}

Cycles Kernel::mmap(Process& p, VAddr va, uint64_t len, Perms perms, bool shared) {
  check_range(va, len, "mmap");
  const VAddr end = va + len;
  auto it = p.mm.vmas.lower_bound(va);
  if (it != p.mm.vmas.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > va)
      throw UserError(fmt::format("mmap: {:#x}+{:#x} overlaps the mapping at {:#x}-{:#x}", va, len,
                                  prev->second.start, prev->second.end));
  }
  if (it != p.mm.vmas.end() && it->second.start < end)
    throw UserError(fmt::format("mmap: {:#x}+{:#x} overlaps the mapping at {:#x}-{:#x}", va, len,
                                it->second.start, it->second.end));
  Vma v;
  v.start = va;
  v.end = end;
  v.perms = perms;
  if (shared) {
    v.shared = std::make_shared<SharedObject>(len >> kPageShift);
    std::fill(v.shared->mappers.begin(), v.shared->mappers.end(), 1);
  }
  p.mm.vmas.emplace(va, std::move(v));
  ++stats_.syscalls;
  return syscall_;
}

void Kernel::drop_shared_page(SharedObject& obj, uint64_t page, Cycles& cost) {
  if (--obj.mappers[page] == 0 && obj.frames[page] != SharedObject::kNoFrame) {
    const Ppn f = obj.frames[page];
    obj.frames[page] = SharedObject::kNoFrame;
    release_frame(f, cost);
  }
}

Cycles Kernel::unmap_range(Process& p, VAddr lo, VAddr hi, bool per_page_flush) {
  Cycles cost = 0;
  p.mm.split_at(lo);
  p.mm.split_at(hi);
  std::vector<Vpn> leaf_tables;
  for (auto it = p.mm.vmas.lower_bound(lo); it != p.mm.vmas.end() && it->second.start < hi;) {
    Vma& v = it->second;
    Cost c;
    for_each_leaf(p.mm, vpn_of(v.start), vpn_of(v.end), [&](PAddr slot, Pte pte, Vpn vpn) {
      write_leaf(slot, pte, Pte{}, c);
      release_frame(pte.ppn(), cost);
      if (per_page_flush) shootdown_page(p, vpn, cost);
      if (leaf_tables.empty() || leaf_tables.back() != (vpn >> kVpnBitsPerLevel))
        leaf_tables.push_back(vpn >> kVpnBitsPerLevel);
      return true;
    });
    cost += c.total();
    if (v.shared)
      for (VAddr a = v.start; a < v.end; a += kPageSize) drop_shared_page(*v.shared, v.page_in_object(a), cost);
    it = p.mm.vmas.erase(it);
  }
  for (Vpn t : leaf_tables) prune_tables(p.mm, t << kVpnBitsPerLevel, cost);
  return cost;
}

Cycles Kernel::munmap(Process& p, VAddr va, uint64_t len) {
  check_range(va, len, "munmap");
  ++stats_.syscalls;
  return syscall_ + unmap_range(p, va, va + len, true);
}

Cycles Kernel::mprotect(Process& p, VAddr va, uint64_t len, Perms perms) {
  check_range(va, len, "mprotect");
  const VAddr end = va + len;
  for (VAddr a = va; a < end;) {
    const Vma* v = p.mm.find(a);
    if (!v) throw UserError(fmt::format("mprotect: {:#x}+{:#x} is not fully mapped (nothing at {:#x})", va, len, a));
    a = v->end;
  }
  p.mm.split_at(va);
  p.mm.split_at(end);
  Cycles cost = syscall_;
  ++stats_.syscalls;
  for (auto it = p.mm.vmas.lower_bound(va); it != p.mm.vmas.end() && it->second.start < end; ++it) {
    Vma& v = it->second;
    v.perms = perms;
    Cost c;
    for_each_leaf(p.mm, vpn_of(v.start), vpn_of(v.end), [&](PAddr slot, Pte pte, Vpn vpn) {
      const Ppn f = pte.ppn();
      // A private page becomes writable only if it is anon-exclusive; any other
      // page keeps its write protection and the next write faults (COW).
      const bool writable =
          perms.w && (v.shared || (f != zero_frame_ && frames_.exclusive(f) && frames_.refcount(f) == 1));
      const Pte updated = leaf_flags_for(v, f, writable, pte.dirty());
      if (updated != pte) {
        write_leaf(slot, pte, updated, c);
        shootdown_page(p, vpn, cost);
      }
      return true;
    });
    cost += c.total();
  }
  return cost;
}

Cycles Kernel::teardown(Process& p, bool keep_root) {
  Cycles cost = 0;
  Cost c;
  for (auto& [start, v] : p.mm.vmas) {
    for_each_leaf(p.mm, vpn_of(v.start), vpn_of(v.end), [&](PAddr, Pte pte, Vpn) {
      c.pte_update += pte_update_;  // cleared with the table, one store each
      release_frame(pte.ppn(), cost);
      return true;
    });
    if (v.shared)
      for (VAddr a = v.start; a < v.end; a += kPageSize) drop_shared_page(*v.shared, v.page_in_object(a), cost);
  }
  p.mm.vmas.clear();
  cost += c.total();
  // Free every table below the root, then the root itself unless exec keeps it.
  for (unsigned i = 0; i < kPtesPerTable; ++i) {
    const PAddr slot = frame_addr(p.mm.root) + i * kPteBytes;
    const Pte pte{mem_.read64(slot)};
    if (pte.valid()) {
      free_tables(pte.ppn(), levels_ - 2, cost);
      mem_.write64(slot, 0);
    }
  }
  frames_.table_entries(p.mm.root) = 0;
  if (!keep_root) release_frame(p.mm.root, cost);
  mmu_.flush_walk_cache();
  shootdown_all(p, cost);
  return cost;
}

Cycles Kernel::exec(Process& p) {
  ++stats_.syscalls;
  ++stats_.execs;
  return syscall_ + teardown(p, true);
}

Cycles Kernel::kill(Process& p) {
  const Pid pid = p.pid;
  const Cycles cost = teardown(p, false);
  if (current_ == &p) current_ = nullptr;
  procs_.erase(pid);
  dead_[pid] = ProcState::Dead;
  return cost;
}

Cycles Kernel::exit(Process& p) {
  ++stats_.syscalls;
  ++stats_.exits;
  return syscall_ + kill(p);
}

// ---------------------------------------------------------------- fork

Kernel::ForkResult Kernel::fork(Process& parent, Pid child_pid) {
  if (state(child_pid) == ProcState::Alive)
    throw UserError(fmt::format("fork: child pid {} is alive", child_pid));
  ++stats_.syscalls;
  Cost c;
  c.handler = syscall_ + fork_base_;
  auto fail = [&](Process* child) {
    Cycles cost = c.total();
    if (child) cost += kill(*child);
    dead_[child_pid] = ProcState::Dead;  // its lines are skipped
    ++stats_.forks_failed;
    stats_.fork_cycles += cost;
    return ForkResult{false, cost};
  };

  auto root = alloc_frame(FrameUse::PageTable, c);
  if (!root) return fail(nullptr);
  auto owned = std::make_unique<Process>();
  owned->pid = child_pid;
  owned->mm.root = *root;
  Process& child = *owned;
  procs_.emplace(child_pid, std::move(owned));
  dead_.erase(child_pid);

  uint64_t ptes = 0, copied = 0, write_protected = 0;
  bool ok = true;
  Cycles free_cost = 0;
  for (auto& [start, pv] : parent.mm.vmas) {
    Vma& cv = child.mm.vmas.emplace(start, pv).first->second;
    if (cv.shared)
      for (VAddr a = cv.start; a < cv.end; a += kPageSize) ++cv.shared->mappers[cv.page_in_object(a)];
    ok = for_each_leaf(parent.mm, vpn_of(pv.start), vpn_of(pv.end), [&](PAddr slot, Pte pte, Vpn vpn) {
      const Ppn f = pte.ppn();
      Pte child_pte = pte;
      if (pv.shared) {
        frames_.get(f);  // shared for real: both write the same frame
      } else if (f == zero_frame_) {
        // the zero frame is shared by everyone already
      } else if (!cow_fork_) {
        auto copy = alloc_frame(FrameUse::Data, c);
        if (!copy) return false;
        c.copy += mem_.copy_frame(*copy, f);
        frames_.set_exclusive(*copy, true);
        child_pte = leaf_flags_for(pv, *copy, pv.perms.w, pte.dirty());
        ++copied;
      } else {
        frames_.get(f);
        frames_.set_exclusive(f, false);
        if (pte.writable()) {
          mem_.write64(slot, pte.without(Pte::W).raw);  // write-protect the parent too
          ++write_protected;
        }
        child_pte = pte.without(Pte::W);
      }
      bool oom = false;
      Cost walk;  // building the child's tables: only allocations are charged here
      const PAddr cslot = leaf_slot(child.mm, vpn, true, walk, oom);
      c.alloc += walk.alloc;
      if (!cslot) {
        if (child_pte.ppn() != zero_frame_) release_frame(child_pte.ppn(), free_cost);
        return false;
      }
      mem_.write64(cslot, child_pte.raw);
      ++frames_.table_entries(cslot >> kPageShift);
      ++ptes;
      return true;
    });
    if (!ok) break;
  }
  // The parent lost write permission on pages its TLB may still hold as writable.
  if (write_protected) shootdown_all(parent, c.tlb_flush);
  // Per-PTE kernel work, and the memory traffic of writing the child's PTEs
  // and the parent's write-protected ones.
  c.pte_update += fork_per_pte_ * ptes +
                  ((ptes + write_protected) * kPteBytes + copy_bytes_per_cycle_ - 1) / copy_bytes_per_cycle_;
  c.handler += free_cost;
  if (!ok) return fail(&child);

  ++stats_.forks;
  stats_.fork_ptes_copied += ptes;
  stats_.bytes_copied += copied * kPageSize;
  stats_.eager_bytes_copied += copied * kPageSize;
  const Cycles cost = c.total();
  stats_.fork_cycles += cost;
  return ForkResult{true, cost};
}

// ---------------------------------------------------------------- faults

Kernel::FaultResult Kernel::handle_fault(Process& p, VAddr va, AccessType access, Cycles walk_cycles,
                                         Cycles now) {
  Cost c;
  c.trap_entry = trap_entry_;
  c.walk = walk_cycles;
  c.handler = fault_base_;

  // Step 1: identify the page and whether the access is legal at all.
  Vma* v = p.mm.find(va);
  const bool allowed = v && (access == AccessType::Store  ? v->perms.w
                             : access == AccessType::Load ? v->perms.r
                                                          : v->perms.x);
  auto die = [&](FaultOutcome why) {
    if (why == FaultOutcome::Segv) ++stats_.segv;
    else ++stats_.oom_kills;
    Cycles cost = c.total() + kill(p);
    return FaultResult{why, cost};
  };
  if (!allowed) return die(FaultOutcome::Segv);

  const Vpn vpn = vpn_of(va);
  bool oom = false;
  const PAddr slot = leaf_slot(p.mm, vpn, true, c, oom);
  if (!slot) return die(FaultOutcome::OomKilled);
  const Pte pte{mem_.read64(slot)};
  c.handler += mem_latency_;
  const bool store = access == AccessType::Store;

  FaultKind kind;
  Pte updated;
  if (!pte.valid()) {
    // Demand paging: the page is absent.
    if (v->shared) {
      SharedObject& obj = *v->shared;
      const uint64_t page = v->page_in_object(va);
      if (obj.frames[page] == SharedObject::kNoFrame) {
        auto f = alloc_frame(FrameUse::Data, c);
        if (!f) return die(FaultOutcome::OomKilled);
        c.copy += mem_.zero_frame(*f);
        obj.frames[page] = uint32_t(*f);  // the object's own reference
        kind = FaultKind::DemandZero;
      } else {
        kind = FaultKind::SharedMap;
      }
      frames_.get(obj.frames[page]);
      updated = leaf_flags_for(*v, obj.frames[page], v->perms.w, store);
    } else if (!store && use_zero_page_) {
      kind = FaultKind::DemandZero;
      updated = leaf_flags_for(*v, zero_frame_, false, false);
    } else {
      auto f = alloc_frame(FrameUse::Data, c);
      if (!f) return die(FaultOutcome::OomKilled);
      c.copy += mem_.zero_frame(*f);
      frames_.set_exclusive(*f, true);
      kind = FaultKind::DemandZero;
      updated = leaf_flags_for(*v, *f, v->perms.w, store);
    }
    write_leaf(slot, pte, updated, c);
  } else if (store && !pte.writable()) {
    // The intentional fault: a write to a present, write-protected page of a
    // writable mapping.
    if (v->shared) {
      // Shared pages are always mapped writable in a writable VMA; repair and retry.
      ++stats_.spurious_faults;
      write_leaf(slot, pte, pte.with(Pte::W | Pte::D), c);
      shootdown_page(p, vpn, c.tlb_flush);
      c.trap_exit = trap_exit_;
      return FaultResult{FaultOutcome::Retry, c.total()};
    } else {
      const Ppn old = pte.ppn();
      Ppn target = old;
      if (old == zero_frame_) {
        auto f = alloc_frame(FrameUse::Data, c);  // step 2
        if (!f) return die(FaultOutcome::OomKilled);
        c.copy += mem_.zero_frame(*f);
        target = *f;
        kind = FaultKind::CowZero;
      } else if (frames_.refcount(old) == 1) {
        kind = FaultKind::CowReuse;  // nobody else maps it: no copy
      } else {
        auto f = alloc_frame(FrameUse::Data, c);  // step 2: a new free frame
        if (!f) return die(FaultOutcome::OomKilled);
        c.copy += mem_.copy_frame(*f, old);       // step 3: copy the old page
        release_frame(old, c.handler);            // the sharers lose one reference
        stats_.bytes_copied += kPageSize;
        stats_.cow_bytes_copied += kPageSize;
        target = *f;
        kind = FaultKind::CowCopy;
      }
      frames_.set_exclusive(target, true);
      updated = leaf_flags_for(*v, target, true, true);  // steps 4 and 5: remap, writable
    }
    write_leaf(slot, pte, updated, c);
    shootdown_page(p, vpn, c.tlb_flush);  // the read-only translation is stale now
  } else {
    // The PTE already allows the access: a stale TLB entry. Flush and retry.
    ++stats_.spurious_faults;
    shootdown_page(p, vpn, c.tlb_flush);
    c.trap_exit = trap_exit_;
    return FaultResult{FaultOutcome::Retry, c.total()};
  }
  c.trap_exit = trap_exit_;  // step 6: return, the CPU restarts the access

  ++stats_.faults[size_t(kind)];
  stats_.latency[size_t(kind)].add(c.total());
  if (observer_) observer_(FaultRecord{now, p.pid, va, kind, c});
  return FaultResult{FaultOutcome::Retry, c.total()};
}

// ---------------------------------------------------------------- checks

void Kernel::check_invariants() const {
  auto fail = [](const std::string& what) { throw std::logic_error("kernel invariant: " + what); };
  std::unordered_map<Ppn, uint64_t> mapped;  // references found per frame
  std::unordered_map<Ppn, Pid> tables;
  std::set<const SharedObject*> objects;
  std::unordered_map<const SharedObject*, std::vector<uint32_t>> coverers;

  std::function<void(Pid, Ppn, unsigned)> walk_tables = [&](Pid pid, Ppn table, unsigned level) {
    if (!tables.emplace(table, pid).second) fail(fmt::format("table frame {:#x} used twice", table));
    if (frames_.use(table) != FrameUse::PageTable || frames_.refcount(table) != 1)
      fail(fmt::format("frame {:#x} of pid {} is not a page table with one reference", table, pid));
    unsigned valid = 0;
    for (unsigned i = 0; i < kPtesPerTable; ++i) {
      const Pte pte{mem_.read64(frame_addr(table) + i * kPteBytes)};
      if (!pte.valid()) continue;
      ++valid;
      if (level > 0) walk_tables(pid, pte.ppn(), level - 1);
    }
    if (valid != frames_.table_entries(table))
      fail(fmt::format("table {:#x} of pid {} has {} valid entries, counted {}", table, pid, valid,
                       frames_.table_entries(table)));
  };

  for (const auto& [pid, proc] : procs_) {
    const Process& p = *proc;
    walk_tables(pid, p.mm.root, levels_ - 1);
    // Every leaf lies in a VMA and agrees with it.
    uint64_t leaves_in_vmas = 0;
    for (const auto& [start, v] : p.mm.vmas) {
      if (v.shared) {
        auto& cov = coverers[v.shared.get()];
        cov.resize(v.shared->mappers.size());
        for (VAddr a = v.start; a < v.end; a += kPageSize) ++cov[v.page_in_object(a)];
        objects.insert(v.shared.get());
      }
      for_each_leaf(p.mm, vpn_of(v.start), vpn_of(v.end), [&](PAddr, Pte pte, Vpn vpn) {
        ++leaves_in_vmas;
        const Ppn f = pte.ppn();
        if (f == zero_frame_) {
          if (pte.writable()) fail(fmt::format("pid {} maps the zero frame writable at {:#x}", pid, vpn << kPageShift));
          return true;
        }
        if (frames_.use(f) != FrameUse::Data)
          fail(fmt::format("pid {} maps frame {:#x} at {:#x}, which is not a data frame", pid, f, vpn << kPageShift));
        ++mapped[f];
        if (pte.writable() && !v.perms.w) fail(fmt::format("pid {}: writable PTE in a read-only VMA", pid));
        if (v.shared) {
          if (v.shared->frames[v.page_in_object(vpn << kPageShift)] != f)
            fail(fmt::format("pid {}: shared page at {:#x} does not map its object's frame", pid, vpn << kPageShift));
        } else if (pte.writable() && frames_.refcount(f) != 1) {
          fail(fmt::format("pid {}: writable private page at {:#x} maps frame {:#x} with {} references", pid,
                           vpn << kPageShift, f, frames_.refcount(f)));
        }
        return true;
      });
    }
    uint64_t all_leaves = 0;
    for_each_leaf(p.mm, 0, user_va_limit(mode_) >> kPageShift, [&](PAddr, Pte, Vpn) {
      ++all_leaves;
      return true;
    });
    if (all_leaves != leaves_in_vmas) fail(fmt::format("pid {} has PTEs outside its VMAs", pid));
  }
  for (const SharedObject* obj : objects) {
    const auto& cov = coverers[obj];
    for (size_t i = 0; i < obj->frames.size(); ++i) {
      if (obj->mappers[i] != cov[i]) fail("shared object mapper count differs from the VMAs covering it");
      if (obj->frames[i] != SharedObject::kNoFrame) {
        if (cov[i] == 0) fail("shared object holds a frame no VMA covers");
        ++mapped[obj->frames[i]];
      }
    }
  }
  uint64_t data = 0;
  for (Ppn f = 0; f < frames_.high_water(); ++f) {
    switch (frames_.use(f)) {
      case FrameUse::Free:
        if (mapped.count(f) || tables.count(f)) fail(fmt::format("free frame {:#x} is mapped", f));
        break;
      case FrameUse::Data: {
        ++data;
        auto it = mapped.find(f);
        const uint64_t refs = it == mapped.end() ? 0 : it->second;
        if (refs != frames_.refcount(f))
          fail(fmt::format("frame {:#x} has reference count {} but {} mappings", f, frames_.refcount(f), refs));
        break;
      }
      case FrameUse::PageTable:
        if (!tables.count(f)) fail(fmt::format("page-table frame {:#x} belongs to no process", f));
        break;
      case FrameUse::Reserved:
        break;
    }
  }
  if (frames_.stats().in_use != data + tables.size())
    fail(fmt::format("{} frames counted in use, {} found", frames_.stats().in_use, data + tables.size()));
}

void Kernel::report(StatsJson& out) const {
  for (size_t k = 0; k < kFaultKinds; ++k) out[std::string("faults.") + to_string(FaultKind(k))] = stats_.faults[k];
  out["faults.segv"] = stats_.segv;
  out["faults.spurious"] = stats_.spurious_faults;
  Cycles fault_cycles = 0;
  for (const auto& l : stats_.latency) fault_cycles += l.sum();
  out["faults.cycles"] = fault_cycles;
  for (size_t k = 0; k < kFaultKinds; ++k)
    report_latency(out, std::string("faults.latency.") + to_string(FaultKind(k)), stats_.latency[k]);
  out["memory.bytes_copied"] = stats_.bytes_copied;
  out["memory.bytes_copied_eager"] = stats_.eager_bytes_copied;
  out["memory.bytes_copied_cow"] = stats_.cow_bytes_copied;
  out["fork.count"] = stats_.forks;
  out["fork.failed"] = stats_.forks_failed;
  out["fork.cycles"] = stats_.fork_cycles;
  out["fork.ptes_copied"] = stats_.fork_ptes_copied;
  out["kernel.oom_kills"] = stats_.oom_kills;
  out["kernel.context_switches"] = stats_.context_switches;
  out["kernel.syscalls"] = stats_.syscalls;
  out["kernel.asid_rollovers"] = stats_.asid_rollovers;
  out["kernel.processes_created"] = stats_.processes_created;
  out["kernel.execs"] = stats_.execs;
  out["kernel.exits"] = stats_.exits;
  frames_.report(out);
}

}  // namespace mmusim
