// Shared by the walkers' tests (the C++ walker, the RTL walker against it): a
// sparse PTE memory with fixed delays that logs every access, and page-table
// addresses built by index.
#pragma once
#include <map>
#include <utility>
#include <vector>

#include "common/pte.h"
#include "mmu/page_table_walker.h"

namespace mmusim::test {

constexpr uint64_t V = Pte::V, R = Pte::R, W = Pte::W, X = Pte::X, U = Pte::U, A = Pte::A, D = Pte::D,
                   WP = Pte::WP;

// The address of entry `index` of the page table in frame `table`.
constexpr PAddr slot_addr(Ppn table, unsigned index) { return table * 4096 + index * 8; }
// A VPN from its four 9-bit indices, the root's first (i3 = 0 under Sv39).
constexpr Vpn vpn_of_indices(unsigned i3, unsigned i2, unsigned i1, unsigned i0) {
  return (Vpn{i3} << 27) | (Vpn{i2} << 18) | (Vpn{i1} << 9) | i0;
}

// Unwritten PTEs read as 0 (invalid). Every read adds `read_delay` cycles and
// every write `write_delay`; both are logged in order.
class PteMemoryLog final : public PteMemory {
 public:
  PteMemoryLog(Cycles read_delay, Cycles write_delay) : read_delay_(read_delay), write_delay_(write_delay) {}

  uint64_t read_pte(PAddr pa, Cycles& delay) override {
    reads.push_back(pa);
    delay += read_delay_;
    auto it = mem.find(pa);
    return it == mem.end() ? 0 : it->second;
  }
  void write_pte(PAddr pa, uint64_t value, Cycles& delay) override {
    writes.push_back({pa, value});
    delay += write_delay_;
    mem[pa] = value;
  }

  void set(PAddr pa, Pte pte) { mem[pa] = pte.raw; }
  Pte at(PAddr pa) const { return Pte{mem.at(pa)}; }
  std::vector<PAddr> write_addresses() const {
    std::vector<PAddr> out;
    for (const auto& w : writes) out.push_back(w.first);
    return out;
  }
  void clear_log() {
    reads.clear();
    writes.clear();
  }

  std::map<PAddr, uint64_t> mem;
  std::vector<PAddr> reads;
  std::vector<std::pair<PAddr, uint64_t>> writes;  // (address, value)

 private:
  Cycles read_delay_, write_delay_;
};

}  // namespace mmusim::test
