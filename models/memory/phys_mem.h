// Physical memory: a TLM-2.0 target of mem.size bytes, held in one host
// address range reserved up front (frame p at base + p * 4 KiB) and backed by
// the host kernel on first touch, with transparent huge pages where the host
// has them: one host fault per 2 MiB, not per simulated page, and no
// allocation per frame. A frame costs host memory only once something is
// written to it; a zeroed frame is only marked so (it reads as zeroes) until
// it is written again. A helper thread backs the host memory of the next
// frames before they are first written (HostPrefaulter, mem.host_prefault).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>

#include "common/clock.h"
#include "common/lt_target.h"
#include "common/types.h"
#include "memory/host_prefaulter.h"

namespace mmusim {

class Config;

struct PhysMemStats {
  uint64_t reads = 0, writes = 0, copies = 0, zeroes = 0;
  uint64_t host_frames_peak = 0;
};

class PhysMem : public sc_core::sc_module, public LooselyTimedTarget {
 public:
  tlm::tlm_target_socket<> socket;  // port 0: the first CPU's MMU
  // Port k for CPU k's MMU (socket for k = 0), created on first use during
  // elaboration: every port reaches the same memory with the same timing.
  tlm::tlm_target_socket<>& port(unsigned k);

  PhysMem(sc_core::sc_module_name name, const Config& cfg, const Clock& clock);
  ~PhysMem() override;

  uint64_t size() const { return size_; }
  uint64_t frames() const { return size_ >> kPageShift; }

  // Cycles of one access (CPU data, walker or kernel PTE access).
  Cycles access_latency() const { return latency_; }
  // Cycles to move `bytes` at mem.copy_bytes_per_cycle (bandwidth only).
  Cycles transfer_cycles(uint64_t bytes) const { return (bytes + copy_bytes_per_cycle_ - 1) / copy_bytes_per_cycle_; }
  // Cycles to copy `bytes` at mem.copy_bytes_per_cycle, plus one access latency.
  Cycles bulk_cycles(uint64_t bytes) const {
    return latency_ + transfer_cycles(bytes);
  }
  // Cycles to zero `bytes` at mem.zero_bytes_per_cycle, plus one access latency.
  Cycles zero_cycles(uint64_t bytes) const {
    return latency_ + (bytes + zero_bytes_per_cycle_ - 1) / zero_bytes_per_cycle_;
  }

  // Functional access (no timing; callers charge access_latency()). The range
  // must lie inside memory; accesses may cross frames.
  void read(PAddr pa, void* dst, uint64_t len) const;
  void write(PAddr pa, const void* src, uint64_t len);
  uint64_t read64(PAddr pa) const;
  void write64(PAddr pa, uint64_t v);
  // Bulk page operations; return their cost in cycles.
  Cycles copy_frame(Ppn dst, Ppn src);
  Cycles zero_frame(Ppn dst);
  bool frame_is_zero_backed(Ppn p) const { return !has(live_, p); }
  // A freed frame's contents are dead: it reads as zeroes from now on (no timing).
  void discard(Ppn p) { release(p); }

  // The direct path of an initiator that caches translations (the Mmu's hit
  // cache). It stands in for TLM's DMI, which would bypass the statistics and
  // the zero-backed frames: frame p's host bytes, or nullptr while p reads as
  // zeroes. The answer holds while epoch() is unchanged: it changes whenever
  // a frame starts or stops holding contents. Every access made through it
  // is counted with count_direct() and costs access_delay(), as through a port.
  uint64_t epoch() const { return epoch_; }
  uint8_t* direct_frame(Ppn p) const { return has(live_, p) ? host(p) : nullptr; }
  void count_direct(bool write) { ++(write ? stats_.writes : stats_.reads); }
  const sc_core::sc_time& access_delay() const { return access_delay_; }

  // Frames whose host page was ever written (the host memory the model holds).
  uint64_t host_frames() const { return host_frames_; }
  // Whether a HostPrefaulter backs host memory ahead of the model (mem.host_prefault).
  bool host_prefaulting() const { return prefaulter_ != nullptr; }
  const PhysMemStats& stats() const { return stats_; }

  // The TLM-2.0 forward interface every port is bound to.
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) override;
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans) override;

 private:
  // Checks the payload once; sets the response status and returns false if bad.
  bool check(tlm::tlm_generic_payload& trans) const;
  void access(tlm::tlm_generic_payload& trans);

  uint8_t* host(Ppn p) const { return base_ + (p << kPageShift); }
  // Frame p's host page, holding its contents (zeroed first if it held dead
  // ones); with `overwrite` the caller writes all of it, so it is not zeroed.
  uint8_t* backing(Ppn p, bool overwrite = false);
  void release(Ppn p);
  static bool has(const std::vector<uint64_t>& bits, Ppn p) { return bits[p >> 6] >> (p & 63) & 1; }

  uint64_t size_;
  Cycles latency_;
  sc_core::sc_time access_delay_;  // latency_ as a time, added per access
  std::vector<std::unique_ptr<tlm::tlm_target_socket<>>> more_ports_;
  uint64_t copy_bytes_per_cycle_;
  uint64_t zero_bytes_per_cycle_;  // mem.zero_bytes_per_cycle, or the copy rate when 0
  uint8_t* base_ = nullptr;       // the reserved range: size_ bytes, 2 MiB aligned
  uint64_t reserved_ = 0;         // bytes mapped (with the alignment slack)
  uint8_t* mapping_ = nullptr;    // what mmap returned
  std::vector<uint64_t> live_;     // bit per frame: holds contents (else reads as zeroes)
  std::vector<uint64_t> touched_;  // bit per frame: its host page was ever written
  std::unique_ptr<HostPrefaulter> prefaulter_;  // null: mem.host_prefault = 0, or one CPU
  uint64_t host_frames_ = 0;
  uint64_t epoch_ = 1;             // see epoch(); 0 is never current
  PhysMemStats stats_;
};

}  // namespace mmusim
