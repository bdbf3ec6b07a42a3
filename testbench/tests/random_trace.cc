#include "random_trace.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace mmusim::test {

namespace {

constexpr uint64_t kPage = 4096;
constexpr unsigned kShift = 12;

using Page = std::array<uint8_t, kPage>;
using PagePtr = std::shared_ptr<Page>;

// The memory behind one `shared` mmap: its pages by index, never copied.
struct SharedObj {
  std::unordered_map<uint64_t, PagePtr> pages;
  uint64_t id = 0;  // names the object in FrameModel (a pointer could be reused)
};

enum : uint8_t { kR = 1, kW = 2, kX = 4 };

const char* perms_name(uint8_t p) {
  switch (p) {
    case kR: return "r";
    case kR | kW: return "rw";
    case kR | kX: return "rx";
    case kR | kW | kX: return "rwx";
  }
  throw std::logic_error("random_trace: bad perms");
}

struct Mapping {
  uint8_t perms = 0;
  std::shared_ptr<SharedObj> obj;  // null: private
  uint64_t idx = 0;                // page index within obj
};

struct Proc {
  std::map<uint64_t, Mapping> pages;          // mapped pages by page number
  std::unordered_map<uint64_t, PagePtr> priv;  // private pages written so far (copy-on-write)
  uint32_t parent = 0;                        // 0: none, or the parent died
  unsigned depth = 0;                         // 0 spawned, 1 child, 2 grandchild, ...
};

// The generator's own model of what the kernel does with frames, written from
// Linux's semantics of anonymous memory (mm/memory.c: do_anonymous_page,
// do_wp_page's copy or reuse, copy_present_pte at fork, mprotect's
// can_change_pte_writable) and not from the simulator's code: per process the
// present PTEs (frame, writable), per frame its references and the
// anon-exclusive flag, per shared page its frame and how many mappings hold it.
// It counts what the simulator must count under one fork policy.
class FrameModel {
 public:
  FrameModel(bool cow, bool zero_page) : cow_(cow), zero_page_(zero_page) {}

  // A load or store of page vpn of pid, mapped as m, that the permissions allow.
  void access(uint32_t pid, uint64_t vpn, const Mapping& m, bool store) {
    auto& ptes = ptes_[pid];
    auto it = ptes.find(vpn);
    if (it == ptes.end()) {  // absent: demand paging
      Pte pte;
      if (m.obj) {
        ObjPage& op = objs_[{m.obj->id, m.idx}];
        if (!op.frame) {
          op.frame = alloc(false);  // the object's own reference
          ++demand_zero_;
        } else {
          ++shared_map_;
        }
        ++frames_.at(op.frame).refs;
        pte = {op.frame, bool(m.perms & kW)};
      } else if (!store && zero_page_) {
        ++demand_zero_;
        pte = {kZero, false};
      } else {
        ++demand_zero_;
        pte = {alloc(true), bool(m.perms & kW)};
      }
      ptes.emplace(vpn, pte);
      return;
    }
    Pte& pte = it->second;
    if (!store || pte.writable || m.obj) return;  // no fault (a shared page: at most a spurious one)
    if (pte.frame == kZero) {
      ++cow_zero_;
      pte.frame = alloc(true);
    } else if (frames_.at(pte.frame).refs == 1) {
      ++cow_reuse_;
      frames_.at(pte.frame).exclusive = true;
    } else {
      const uint64_t old = pte.frame;
      pte.frame = alloc(true);
      ++cow_copy_;
      cow_bytes_ += kPage;
      release(old);
    }
    pte.writable = true;
  }

  // pid's page vpn (mapped as m) goes: munmap, exit, exec, a kill.
  void unmap(uint32_t pid, uint64_t vpn, const Mapping& m) {
    auto& ptes = ptes_[pid];
    auto it = ptes.find(vpn);
    if (it != ptes.end()) {
      release(it->second.frame);
      ptes.erase(it);
    }
    if (m.obj) {
      auto o = objs_.find({m.obj->id, m.idx});
      if (o != objs_.end() && --o->second.mappers == 0) {
        if (o->second.frame) release(o->second.frame);
        objs_.erase(o);
      }
    }
  }

  // A new shared mapping's page: one mapping holds it, no frame yet.
  void map_shared(const Mapping& m) { objs_[{m.obj->id, m.idx}].mappers = 1; }

  // mprotect of a mapped page to perms.
  void protect(uint32_t pid, uint64_t vpn, const Mapping& m, uint8_t perms) {
    auto& ptes = ptes_[pid];
    auto it = ptes.find(vpn);
    if (it == ptes.end()) return;
    Pte& pte = it->second;
    const bool w = perms & kW;
    // A private page becomes writable only if no one else may see the write.
    pte.writable = w && (m.obj || (pte.frame != kZero && frames_.at(pte.frame).exclusive &&
                                   frames_.at(pte.frame).refs == 1));
  }

  // fork: the child gets every page of the parent (pages: vpn -> mapping).
  void fork(uint32_t parent, uint32_t child, const std::map<uint64_t, Mapping>& pages) {
    auto& pp = ptes_[parent];
    auto& cp = ptes_[child];
    cp.clear();
    for (const auto& [vpn, m] : pages) {
      if (m.obj) ++objs_.at({m.obj->id, m.idx}).mappers;
      auto it = pp.find(vpn);
      if (it == pp.end()) continue;
      Pte& pte = it->second;
      Pte c = pte;
      ++ptes_copied_;
      if (m.obj) {
        ++frames_.at(pte.frame).refs;
      } else if (pte.frame == kZero) {
      } else if (!cow_) {
        c = {alloc(true), bool(m.perms & kW)};
        eager_bytes_ += kPage;
      } else {
        Frame& f = frames_.at(pte.frame);
        ++f.refs;
        f.exclusive = false;
        pte.writable = c.writable = false;
      }
      cp.emplace(vpn, c);
    }
  }

  void forget(uint32_t pid) { ptes_.erase(pid); }

  void report(std::map<std::string, uint64_t>& e) const {
    e["faults.demand_zero"] = demand_zero_;
    e["faults.shared_map"] = shared_map_;
    e["faults.cow_zero"] = cow_zero_;
    e["faults.cow_copy"] = cow_copy_;
    e["faults.cow_reuse"] = cow_reuse_;
    e["memory.bytes_copied"] = cow_bytes_ + eager_bytes_;
    e["memory.bytes_copied_cow"] = cow_bytes_;
    e["memory.bytes_copied_eager"] = eager_bytes_;
    e["memory.data_frames_peak"] = peak_;
    e["memory.data_frames_in_use"] = frames_.size();
    e["fork.ptes_copied"] = ptes_copied_;
  }

 private:
  static constexpr uint64_t kZero = 0;  // the shared zero frame (the kernel's own: not counted)
  struct Frame {
    uint64_t refs = 0;
    bool exclusive = false;
  };
  struct Pte {
    uint64_t frame = kZero;
    bool writable = false;
  };
  struct ObjPage {
    uint64_t frame = 0;  // 0: none yet
    uint64_t mappers = 0;
  };

  uint64_t alloc(bool private_page) {
    const uint64_t id = next_frame_++;
    frames_[id] = Frame{1, private_page};
    peak_ = std::max<uint64_t>(peak_, frames_.size());
    return id;
  }
  void release(uint64_t f) {
    if (f == kZero) return;
    auto it = frames_.find(f);
    if (--it->second.refs == 0) frames_.erase(it);
  }

  const bool cow_, zero_page_;
  std::unordered_map<uint64_t, Frame> frames_;  // data frames in use
  std::map<uint32_t, std::map<uint64_t, Pte>> ptes_;
  std::map<std::pair<uint64_t, uint64_t>, ObjPage> objs_;
  uint64_t next_frame_ = 1, peak_ = 0;
  uint64_t demand_zero_ = 0, shared_map_ = 0, cow_zero_ = 0, cow_copy_ = 0, cow_reuse_ = 0;
  uint64_t cow_bytes_ = 0, eager_bytes_ = 0, ptes_copied_ = 0;
};

enum class State : uint8_t { Unseen, Alive, Dead };

// Ranges of virtual pages that mmap uses: a main window that straddles a 2 MiB
// boundary (two leaf page tables), one at 1 GiB (another level-1 table) and the
// top pages of the sv39 user space (valid with sv48 too).
struct Region {
  uint64_t base_vpn, pages;
};

constexpr uint64_t kWindowBase = 0x200000 - 32 * kPage;
constexpr uint64_t kSv39Limit = uint64_t{1} << 38;
constexpr uint64_t kHugeWindowBase = 0x60000000;  // 2 MiB-aligned

const std::vector<std::string> kKinds = {
    "spawn",           "spawn_max_pid",     "fork",          "fork_grandchild",   "fork_pid_reuse",
    "exit",            "exit_before_child", "exec",          "mmap_private",      "mmap_shared",
    "mmap_far",        "munmap_whole",      "munmap_partial", "munmap_holes",     "munmap_empty",
    "mprotect_r",      "mprotect_rw",       "mprotect_rx",   "mprotect_rwx",      "load",
    "store",           "load_expect",       "load_cross_page", "store_cross_page", "size_1",
    "size_2",          "size_4",            "size_8",        "segv_unmapped",     "segv_store_readonly",
    "segv_cross_page", "compute",           "dead_pid_line", "final_exit",        "sweep",
    "mmap_huge"};

class Generator {
 public:
  explicit Generator(const RandomTraceOptions& o) : opts_(o), rng_(o.seed) {
    if (!o.memory_pressure) {
      models_.emplace("cow", FrameModel(true, o.zero_page));
      models_.emplace("eager", FrameModel(false, o.zero_page));
    }
    if (o.window_pages < 16) throw std::invalid_argument("random_trace: window_pages must be at least 16");
    if (o.max_alive < 2) throw std::invalid_argument("random_trace: max_alive must be at least 2");
    regions_ = {{kWindowBase >> kShift, o.window_pages}, {0x40000000 >> kShift, 8}, {(kSv39Limit >> kShift) - 8, 8}};
    // With huge: one 2 MiB-aligned block and the 64 pages below it, so that
    // a mapping may cover the block wholly (a huge page) or only in part.
    if (o.huge) regions_.push_back({(kHugeWindowBase >> kShift) - 64, 64 + 512});
    for (uint32_t p = 2; p < 2 + 2 * o.max_alive; ++p) pool_.push_back(p);
    for (const auto& k : kKinds) out_.kinds[k] = 0;
  }

  RandomTrace run() {
    line_comment("random trace: seed " + std::to_string(opts_.seed) + ", " + std::to_string(opts_.ops) +
                 " ops" + (opts_.memory_pressure ? ", memory pressure" : ""));
    if (opts_.memory_pressure) {
      // Every pid a fork may create is dead from here on (see RandomTraceOptions).
      line_comment("prologue: each pid a fork may create is spawned and exits");
      for (uint32_t p : pool_) {
        emit(p, {"exit"});
        ++processes_created_;
        ++exits_;
        state_[p] = State::Dead;
      }
    }
    spawn();
    while (records_ < opts_.ops) step();
    line_comment("epilogue: every live process exits");
    std::vector<uint32_t> left(alive_.begin(), alive_.end());
    shuffle(left);
    for (uint32_t p : left) {
      note_exit_before_child(p);
      exit_threads(p);
      emit(p, {"exit"});
      ++exits_;
      kill(p);
      ++out_.kinds["final_exit"];
    }
    out_.records = records_;
    if (!opts_.memory_pressure) {
      auto& e = out_.expected_stats;
      e["trace.records"] = records_;
      e["trace.skipped_lines"] = skipped_;
      e["sim.accesses"] = loads_ + stores_;
      e["sim.loads"] = loads_;
      e["sim.stores"] = stores_;
      e["sim.page_crossings"] = crossings_;
      e["verify.loads_checked"] = loads_;
      e["faults.segv"] = segv_;
      e["fork.count"] = forks_;
      e["fork.failed"] = 0;
      e["kernel.oom_kills"] = 0;
      e["kernel.execs"] = execs_;
      e["kernel.exits"] = exits_;
      e["kernel.processes_created"] = processes_created_;
      e["memory.frames_in_use"] = 0;
      // With THP on, faults come in 2 MiB kinds this model does not know.
      if (!opts_.thp)
        for (const auto& [policy, model] : models_) model.report(out_.per_policy_stats[policy]);
      // One CPU: cow and eager flush every stale translation where they make
      // it stale, so no store takes a spurious fault. (odf, not predicted,
      // lifts a reused table's write protection without flushing the
      // read-only entries cached under it, as x86 upgrades permissions: a
      // later store to another page of that table may fault spuriously.)
      if (opts_.cpus == 1)
        for (const auto& [policy, model] : models_) out_.per_policy_stats[policy]["faults.spurious"] = 0;
    }
    return std::move(out_);
  }

 private:
  // ------------------------------------------------------------ randomness
  uint64_t below(uint64_t n) { return n <= 1 ? 0 : rng_() % n; }
  bool chance(double p) { return double(rng_() >> 11) * 0x1.0p-53 < p; }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
  template <class T>
  T pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

  // ------------------------------------------------------------ output
  static std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
  }
  std::string addr(uint64_t v) {
    if (chance(0.05)) return std::to_string(v);
    std::string s = hex(v);
    if (chance(0.03)) s[1] = 'X';
    return s;
  }
  std::string len(uint64_t bytes) {
    const double r = double(rng_() >> 11) * 0x1.0p-53;
    if (bytes % (uint64_t{1} << 20) == 0 && r < 0.5) return std::to_string(bytes >> 20) + "M";
    if (r < 0.45) return std::to_string(bytes >> 10) + "K";
    if (r < 0.75) return hex(bytes);
    return std::to_string(bytes);
  }
  std::string value(uint64_t v) { return chance(0.7) ? hex(v) : std::to_string(v); }

  void line_comment(const std::string& s) { out_.text += "# " + s + "\n"; }

  // A line of process pid; with several CPUs one of its threads may run it.
  void emit(uint32_t pid, std::vector<std::string> fields) {
    if (opts_.cpus > 1 && state(pid) == State::Alive &&
        (fields[0] == "load" || fields[0] == "store" || fields[0] == "compute")) {
      std::vector<uint32_t>& mine = threads_[pid];
      if (mine.size() < 3 && chance(0.05)) {
        const uint32_t tid = next_tid_++;
        std::vector<std::string> t{"thread", std::to_string(tid)};
        if (chance(0.5)) t.push_back("cpu=" + std::to_string(below(opts_.cpus)));
        emit_line(pid, t);
        mine.push_back(tid);
      }
      if (!mine.empty() && chance(0.03)) emit_line(pick(mine), {"migrate", std::to_string(below(opts_.cpus))});
      if (!mine.empty() && chance(0.5)) return emit_line(pick(mine), std::move(fields));
    }
    emit_line(pid, std::move(fields));
  }

  // Threads of pid exit (before its main task does).
  void exit_threads(uint32_t pid) {
    auto it = threads_.find(pid);
    if (it == threads_.end()) return;
    for (uint32_t tid : it->second) {
      emit_line(tid, {"exit"});
      ++exits_;
    }
    threads_.erase(it);
  }

  void emit_line(uint32_t pid, std::vector<std::string> fields) {
    if (chance(0.01)) out_.text += chance(0.5) ? "\n" : "# a comment line\n";
    const char* sep = chance(0.04) ? "\t" : chance(0.03) ? "  " : " ";
    std::string line = std::to_string(pid);
    for (const auto& f : fields) {
      line += sep;
      line += f;
    }
    if (chance(0.02)) line += "   # comment";
    if (chance(0.005)) line += "\r";
    out_.text += line;
    out_.text += '\n';
    ++records_;
  }

  // ------------------------------------------------------------ processes
  State state(uint32_t pid) const {
    auto it = state_.find(pid);
    return it == state_.end() ? State::Unseen : it->second;
  }

  void kill(uint32_t pid) {
    drop_pages(pid);
    for (auto& [policy, model] : models_) model.forget(pid);
    threads_.erase(pid);  // exec, a segfault or the exit end them with the process
    procs_.erase(pid);
    alive_.erase(pid);
    state_[pid] = State::Dead;
    for (auto& [q, proc] : procs_)
      if (proc.parent == pid) proc.parent = 0;
    if (cur_ == pid) cur_ = 0;
  }

  // Every page of pid goes (exit, exec, a kill): the models release them.
  void drop_pages(uint32_t pid) {
    auto it = procs_.find(pid);
    if (it == procs_.end()) return;
    for (const auto& [vpn, m] : it->second.pages)
      for (auto& [policy, model] : models_) model.unmap(pid, vpn, m);
  }

  void note_exit_before_child(uint32_t pid) {
    for (const auto& [q, proc] : procs_)
      if (proc.parent == pid) {
        ++out_.kinds["exit_before_child"];
        return;
      }
  }

  // A new process, by its first line (an mmap).
  void spawn() {
    uint32_t pid;
    if (!spawned_any_) {
      pid = 1;
    } else if (!used_max_pid_) {
      pid = 2147483647u;  // the largest pid
      used_max_pid_ = true;
      ++out_.kinds["spawn_max_pid"];
    } else {
      pid = next_fresh_++;
    }
    spawned_any_ = true;
    procs_[pid] = Proc{};
    alive_.insert(pid);
    state_[pid] = State::Alive;
    ++processes_created_;
    ++out_.kinds["spawn"];
    cur_ = pid;
    if (!gen_mmap(pid)) throw std::logic_error("random_trace: a new process cannot mmap");
  }

  // ------------------------------------------------------------ memory model
  const Mapping* mapping(const Proc& p, uint64_t va) const {
    auto it = p.pages.find(va >> kShift);
    return it == p.pages.end() ? nullptr : &it->second;
  }

  uint8_t read_byte(const Proc& p, uint64_t va) const {
    const Mapping* m = mapping(p, va);
    const Page* page = nullptr;
    if (m->obj) {
      auto it = m->obj->pages.find(m->idx);
      if (it != m->obj->pages.end()) page = it->second.get();
    } else {
      auto it = p.priv.find(va >> kShift);
      if (it != p.priv.end()) page = it->second.get();
    }
    return page ? (*page)[va & (kPage - 1)] : 0;
  }

  void write_byte(Proc& p, uint64_t va, uint8_t v) {
    auto it = p.pages.find(va >> kShift);
    const Mapping& m = it->second;
    PagePtr& ref = m.obj ? m.obj->pages[m.idx] : p.priv[va >> kShift];
    if (!ref) {
      ref = std::make_shared<Page>();
      ref->fill(0);
    } else if (!m.obj && ref.use_count() > 1) {
      ref = std::make_shared<Page>(*ref);  // the other holders keep the old bytes
    }
    (*ref)[va & (kPage - 1)] = v;
  }

  bool page_free(const Proc& p, uint64_t vpn) const { return !p.pages.count(vpn); }

  // The maximal run of mapped pages around vpn: [lo, hi).
  std::pair<uint64_t, uint64_t> run_of(const Proc& p, uint64_t vpn) const {
    uint64_t lo = vpn, hi = vpn + 1;
    while (p.pages.count(lo - 1)) --lo;
    while (p.pages.count(hi)) ++hi;
    return {lo, hi};
  }

  uint64_t random_mapped_vpn(const Proc& p) {
    auto it = p.pages.begin();
    std::advance(it, below(p.pages.size()));
    return it->first;
  }

  // ------------------------------------------------------------ operations
  void step() {
    if (alive_.empty()) {
      spawn();
      return;
    }
    if (!cur_ || !alive_.count(cur_) || chance(0.2)) {
      std::vector<uint32_t> a(alive_.begin(), alive_.end());
      cur_ = pick(a);
    }
    const uint32_t pid = cur_;
    Proc& p = procs_.at(pid);
    if (p.pages.empty() && chance(0.8)) {
      gen_mmap(pid);
      return;
    }
    std::vector<uint32_t> dead;
    for (const auto& [q, s] : state_)
      if (s == State::Dead) dead.push_back(q);
    const bool can_fork = alive_.size() < opts_.max_alive;
    const bool can_spawn = !opts_.memory_pressure && alive_.size() < opts_.max_alive;

    struct Choice {
      double weight;
      int op;
    };
    enum { kLoad, kStore, kSweep, kMmap, kMunmap, kMprotect, kFork, kExit, kExec, kCompute, kSpawn, kDeadLine };
    const Choice choices[] = {
        {30, kLoad},  {30, kStore},  {opts_.memory_pressure ? 4.0 : 1.0, kSweep},
        {7, kMmap},   {3, kMunmap},  {4, kMprotect},  {can_fork ? 3.5 : 0.0, kFork},
        {1.3, kExit}, {0.6, kExec},  {2.5, kCompute}, {can_spawn ? 0.4 : 0.0, kSpawn},
        {dead.empty() ? 0.0 : 0.8, kDeadLine}};
    double total = 0;
    for (const auto& c : choices) total += c.weight;
    double r = double(rng_() >> 11) * 0x1.0p-53 * total;
    int op = kLoad;
    for (const auto& c : choices) {
      if (r < c.weight) {
        op = c.op;
        break;
      }
      r -= c.weight;
    }
    switch (op) {
      case kLoad: gen_access(pid, false); break;
      case kStore: gen_access(pid, true); break;
      case kSweep: gen_sweep(pid); break;
      case kMmap:
        if (!gen_mmap(pid)) gen_compute(pid);
        break;
      case kMunmap: gen_munmap(pid); break;
      case kMprotect: gen_mprotect(pid); break;
      case kFork:
        if (!gen_fork(pid)) gen_compute(pid);
        break;
      case kExit:
        note_exit_before_child(pid);
        exit_threads(pid);
        emit(pid, {"exit"});
        ++exits_;
        ++out_.kinds["exit"];
        kill(pid);
        break;
      case kExec:
        emit(pid, {"exec"});
        threads_.erase(pid);  // exec ends them
        ++execs_;
        ++out_.kinds["exec"];
        drop_pages(pid);
        p.pages.clear();
        p.priv.clear();
        break;
      case kCompute: gen_compute(pid); break;
      case kSpawn: spawn(); break;
      case kDeadLine: gen_dead_line(pick(dead)); break;
    }
  }

  // A store (or load) to every page of a run of mapped pages, as a memset or
  // a scan would: many faults at once, and memory pressure.
  void gen_sweep(uint32_t pid) {
    Proc& p = procs_.at(pid);
    if (p.pages.empty()) return gen_compute(pid);
    const bool store = chance(0.75);
    auto [lo, hi] = run_of(p, random_mapped_vpn(p));
    const uint64_t off = below(kPage / 8) * 8;
    const uint64_t v = rng_();
    for (uint64_t vpn = lo; vpn < hi; ++vpn) {
      if (store && !(p.pages.at(vpn).perms & kW)) continue;
      if (!gen_access_at(pid, store, (vpn << kShift) + off, 8, v + vpn)) return;
    }
    ++out_.kinds["sweep"];
  }

  void gen_compute(uint32_t pid) {
    const uint64_t c = chance(0.05) ? 0 : 1 + below(chance(0.1) ? 100000 : 2000);
    emit(pid, {"compute", std::to_string(c)});
    ++out_.kinds["compute"];
  }

  // A line of a dead process: the simulator skips it, whatever it says.
  void gen_dead_line(uint32_t pid) {
    switch (below(5)) {
      case 0: emit(pid, {"load", hex(kWindowBase + below(opts_.window_pages) * kPage)}); break;
      case 1: emit(pid, {"store", hex(kWindowBase), "7", "size=4"}); break;
      case 2: emit(pid, {"mprotect", hex(0x7000000), "4K", "rw"}); break;  // never mapped: only fine as skipped
      case 3: emit(pid, {"exit"}); break;
      default: emit(pid, {"compute", "10"}); break;
    }
    ++skipped_;
    ++out_.kinds["dead_pid_line"];
  }

  bool gen_mmap(uint32_t pid) {
    if (opts_.huge && chance(0.15) && gen_mmap_huge(pid)) return true;
    Proc& p = procs_.at(pid);
    const double r = double(rng_() >> 11) * 0x1.0p-53;
    const Region& reg = r < 0.9 ? regions_[0] : r < 0.95 ? regions_[1] : regions_[2];
    const uint64_t max_len = &reg == &regions_[0] ? reg.pages / (chance(0.1) ? 4 : 8) : reg.pages;
    for (int attempt = 0; attempt < 12; ++attempt) {
      const uint64_t n = 1 + below(std::min<uint64_t>(max_len, reg.pages));
      const uint64_t start = reg.base_vpn + below(reg.pages - n + 1);
      bool free = true;
      for (uint64_t v = start; v < start + n && free; ++v) free = page_free(p, v);
      if (!free) continue;
      const double pr = double(rng_() >> 11) * 0x1.0p-53;
      const uint8_t perms = pr < 0.5 ? kR | kW : pr < 0.65 ? kR : pr < 0.75 ? kR | kX : kR | kW | kX;
      const bool shared = chance(0.3);
      std::vector<std::string> f = {"mmap", addr(start << kShift), len(n << kShift), perms_name(perms)};
      if (shared) f.push_back("shared");
      emit(pid, f);
      auto obj = shared ? std::make_shared<SharedObj>() : nullptr;
      if (obj) obj->id = ++shared_objs_;
      for (uint64_t i = 0; i < n; ++i) {
        p.pages[start + i] = Mapping{perms, obj, i};
        if (obj)
          for (auto& [policy, model] : models_) model.map_shared(p.pages[start + i]);
      }
      ++out_.kinds[shared ? "mmap_shared" : "mmap_private"];
      if (&reg != &regions_[0]) ++out_.kinds["mmap_far"];
      return true;
    }
    return false;
  }

  // With opts.huge: a private mapping in the huge window, usually the whole
  // 2 MiB block, mostly with the `huge` flag (without it only kernel.thp =
  // always makes it eligible). The rest of the generator treats its pages as
  // any others: munmap and mprotect of part of it split a huge page.
  bool gen_mmap_huge(uint32_t pid) {
    Proc& p = procs_.at(pid);
    const Region& reg = regions_.back();
    const uint64_t block = kHugeWindowBase >> kShift;
    for (int attempt = 0; attempt < 6; ++attempt) {
      uint64_t start = block, n = 512;
      const double r = double(rng_() >> 11) * 0x1.0p-53;
      if (r >= 0.6) {
        n = 1 + below(reg.pages);
        start = reg.base_vpn + below(reg.pages - n + 1);
      } else if (r >= 0.45) {
        start = reg.base_vpn, n = reg.pages;  // the block and the pages below it
      }
      bool free = true;
      for (uint64_t v = start; v < start + n && free; ++v) free = page_free(p, v);
      if (!free) continue;
      const double pr = double(rng_() >> 11) * 0x1.0p-53;
      const uint8_t perms = pr < 0.8 ? kR | kW : pr < 0.9 ? kR : kR | kW | kX;
      std::vector<std::string> f = {"mmap", addr(start << kShift), len(n << kShift), perms_name(perms)};
      if (chance(0.85)) f.push_back("huge");
      emit(pid, f);
      for (uint64_t i = 0; i < n; ++i) p.pages[start + i] = Mapping{perms, nullptr, i};
      ++out_.kinds["mmap_huge"];
      return true;
    }
    return false;
  }

  void gen_munmap(uint32_t pid) {
    Proc& p = procs_.at(pid);
    uint64_t lo, hi;
    const double r = double(rng_() >> 11) * 0x1.0p-53;
    if (!p.pages.empty() && r < 0.7) {
      auto [rlo, rhi] = run_of(p, random_mapped_vpn(p));
      lo = rlo, hi = rhi;
      if (r < 0.35 && hi - lo > 1) {  // a strict part of the run
        do {
          lo = rlo + below(rhi - rlo);
          hi = lo + 1 + below(rhi - lo);
        } while (lo == rlo && hi == rhi);
      }
    } else {
      // Anywhere in the window: usually holes, sometimes nothing mapped.
      const uint64_t n = 2 + below(12);
      lo = regions_[0].base_vpn + below(regions_[0].pages - n + 1);
      hi = lo + n;
    }
    uint64_t mapped = 0;
    for (uint64_t v = lo; v < hi; ++v) mapped += p.pages.count(v);
    const char* kind = mapped == 0               ? "munmap_empty"
                       : mapped < hi - lo         ? "munmap_holes"
                       : run_of(p, lo) == std::make_pair(lo, hi) ? "munmap_whole"
                                                                 : "munmap_partial";
    emit(pid, {"munmap", addr(lo << kShift), len((hi - lo) << kShift)});
    for (uint64_t v = lo; v < hi; ++v) {
      if (const Mapping* m = mapping(p, v << kShift))
        for (auto& [policy, model] : models_) model.unmap(pid, v, *m);
      p.pages.erase(v);
      p.priv.erase(v);
    }
    ++out_.kinds[kind];
  }

  void gen_mprotect(uint32_t pid) {
    Proc& p = procs_.at(pid);
    if (p.pages.empty()) return gen_compute(pid);
    auto [rlo, rhi] = run_of(p, random_mapped_vpn(p));
    uint64_t lo = rlo, hi = rhi;
    if (chance(0.5)) {
      lo = rlo + below(rhi - rlo);
      hi = lo + 1 + below(rhi - lo);
    }
    static const uint8_t kPerms[] = {kR, kR | kW, kR | kX, kR | kW | kX};
    const uint8_t perms = kPerms[below(4)];
    emit(pid, {"mprotect", addr(lo << kShift), len((hi - lo) << kShift), perms_name(perms)});
    for (uint64_t v = lo; v < hi; ++v) {
      p.pages.at(v).perms = perms;
      for (auto& [policy, model] : models_) model.protect(pid, v, p.pages.at(v), perms);
    }
    ++out_.kinds[std::string("mprotect_") + perms_name(perms)];
  }

  bool gen_fork(uint32_t pid) {
    std::vector<uint32_t> dead, unseen;
    for (uint32_t c : pool_) {
      const State s = state(c);
      if (s == State::Dead) dead.push_back(c);
      else if (s == State::Unseen) unseen.push_back(c);
    }
    if (dead.empty() && unseen.empty()) return false;
    const bool reuse = !dead.empty() && (unseen.empty() || chance(0.6));
    const uint32_t child = reuse ? pick(dead) : pick(unseen);
    emit(pid, {"fork", std::to_string(child)});
    for (auto& [policy, model] : models_) model.fork(pid, child, procs_.at(pid).pages);
    Proc copy = procs_.at(pid);
    copy.parent = pid;
    copy.depth = procs_.at(pid).depth + 1;
    procs_[child] = std::move(copy);
    alive_.insert(child);
    state_[child] = State::Alive;
    ++forks_;
    ++out_.kinds["fork"];
    if (reuse) ++out_.kinds["fork_pid_reuse"];
    if (procs_.at(pid).depth >= 1) ++out_.kinds["fork_grandchild"];
    if (chance(0.5)) cur_ = child;
    return true;
  }

  // An address that no mapping of p covers (some beyond the user address space).
  uint64_t unmapped_address(const Proc& p, unsigned size) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      uint64_t va;
      switch (below(6)) {
        case 0: va = below(3 * kPage); break;                                          // near 0
        case 1: va = kSv39Limit + below(kPage); break;                                 // beyond sv39
        case 2: va = ~uint64_t{0} - kPage + 1 + below(kPage - size + 1); break;        // top of 2^64
        case 3: va = ~uint64_t{0} - below(size); break;                                // may wrap around
        default: {                                                                     // a hole
          const Region& reg = regions_[below(5) == 0 ? 1 + below(2) : 0];
          const uint64_t vpn = reg.base_vpn + below(reg.pages);
          va = (vpn << kShift) + below(kPage);  // (one draw a statement: a fixed order)
        }
      }
      if (!mapping(p, va)) return va;
    }
    return kSv39Limit + 8 * kPage;
  }

  void gen_access(uint32_t pid, bool store) {
    Proc& p = procs_.at(pid);
    static const unsigned kSizes[] = {1, 2, 4, 8};
    const unsigned size = kSizes[below(4)];
    uint64_t va;
    // Deliberate segfaults are rarer under memory pressure: processes must live
    // long enough to fill memory.
    const double rare = opts_.memory_pressure ? 0.25 : 1.0;
    if (p.pages.empty() || chance(0.01 * rare)) {
      va = unmapped_address(p, size);
    } else {
      uint64_t vpn = random_mapped_vpn(p);
      if (store && !(p.pages.at(vpn).perms & kW) && chance(1 - 0.05 * rare)) {
        std::vector<uint64_t> writable;
        for (const auto& [v, m] : p.pages)
          if (m.perms & kW) writable.push_back(v);
        if (!writable.empty()) vpn = pick(writable);
      }
      uint64_t off;
      if (size > 1 && chance(0.1)) {
        off = kPage - 1 - below(size - 1);  // crosses into the next page
        // Mostly where the next page allows the access too: fewer deaths.
        const Mapping* next = mapping(p, (vpn + 1) << kShift);
        if (!(next && (next->perms & (store ? kW : kR))) && chance(1 - 0.4 * rare)) off = 0;
      } else if (chance(0.5)) {
        off = below(kPage / size) * size;
      } else {
        off = below(kPage - size + 1);
      }
      va = (vpn << kShift) + off;
    }
    uint64_t v = 0;
    if (store) {
      v = rng_();
      if (chance(0.3)) v &= size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
      if (chance(0.1)) v = below(256);
    }
    gen_access_at(pid, store, va, size, v);
  }

  // One load or store; false if it segfaults (the process is dead then).
  bool gen_access_at(uint32_t pid, bool store, uint64_t va, unsigned size, uint64_t v) {
    Proc& p = procs_.at(pid);
    const uint64_t last = va + size - 1;  // may wrap around to 0
    const bool crossing = (va >> kShift) != (last >> kShift);
    const uint8_t need = store ? kW : kR;
    const Mapping* m0 = mapping(p, va);
    const Mapping* m1 = mapping(p, last);
    const bool ok0 = m0 && (m0->perms & need);
    const bool ok1 = m1 && (m1->perms & need);
    const bool ok = ok0 && ok1;

    std::vector<std::string> f = {store ? "store" : "load", addr(va)};
    if (store) f.push_back(value(v));
    std::vector<std::string> opt;
    if (size != 8 || chance(0.5)) opt.push_back("size=" + std::to_string(size));
    if (!store && ok && !opts_.memory_pressure && opts_.expect_values && chance(0.5)) {
      uint64_t want = 0;
      for (unsigned i = size; i-- > 0;) want = want << 8 | read_byte(p, va + i);
      opt.push_back("expect=" + value(want));
      ++out_.kinds["load_expect"];
    }
    if (opt.size() == 2 && chance(0.5)) std::swap(opt[0], opt[1]);
    for (auto& o : opt) f.push_back(o);
    emit(pid, f);

    // The faults the access takes, page by page in the CPU's order: a load
    // its first page, then its second; a store probes its second page (all
    // or nothing) before its first. The process dies at the first page it
    // may not access, after the faults of the pages before it.
    auto touch = [&](uint64_t a) {
      for (auto& [policy, model] : models_) model.access(pid, a >> kShift, *mapping(p, a), store);
    };
    if (store && crossing) {
      if (ok1) touch(last);
      if (ok1 && ok0) touch(va);
    } else {
      if (ok0) touch(va);
      if (ok0 && crossing && ok1) touch(last);
    }

    // The simulator counts the completed accesses that crossed a page.
    if (crossing && ok) ++crossings_;
    if (!ok) {
      ++segv_;
      ++out_.kinds[!m0 ? "segv_unmapped" : !ok0 ? "segv_store_readonly" : "segv_cross_page"];
      kill(pid);
      return false;
    }
    ++out_.kinds["size_" + std::to_string(size)];
    if (crossing) ++out_.kinds[store ? "store_cross_page" : "load_cross_page"];
    if (store) {
      for (unsigned i = 0; i < size; ++i) write_byte(p, va + i, uint8_t(v >> (8 * i)));
      ++stores_;
      ++out_.kinds["store"];
    } else {
      ++loads_;
      ++out_.kinds["load"];
    }
    return true;
  }

  const RandomTraceOptions opts_;
  std::mt19937_64 rng_;
  std::map<uint32_t, std::vector<uint32_t>> threads_;  // live threads per process
  uint32_t next_tid_ = 1'000'000'000;                   // thread ids: far from every pid
  std::vector<Region> regions_;
  std::vector<uint32_t> pool_;  // pids that forks create
  std::map<uint32_t, Proc> procs_;
  std::set<uint32_t> alive_;
  std::map<uint32_t, State> state_;
  uint32_t cur_ = 0;
  bool spawned_any_ = false, used_max_pid_ = false;
  uint32_t next_fresh_ = 1000;
  RandomTrace out_;
  std::map<std::string, FrameModel> models_;  // by fork policy; none under memory pressure
  uint64_t shared_objs_ = 0;
  uint64_t records_ = 0, skipped_ = 0, loads_ = 0, stores_ = 0, crossings_ = 0, segv_ = 0, forks_ = 0,
           execs_ = 0, exits_ = 0, processes_created_ = 0;
};

}  // namespace

const std::vector<std::string>& random_trace_kinds() { return kKinds; }

RandomTrace generate_random_trace(const RandomTraceOptions& opts) { return Generator(opts).run(); }

}  // namespace mmusim::test
