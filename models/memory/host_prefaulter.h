// Backs host memory ahead of the model's first writes, on a helper thread.
//
// Fresh host memory costs a page fault and the zeroing of the page (2 MiB
// with transparent huge pages) and, in a virtual machine, the hypervisor's
// backing of it as well: on this project's VMs from about 0.1 to 7 ms a huge page.
// PhysMem's frames are first written mostly in ascending order (the frame
// allocator's bump pointer), so a helper that populates the next few blocks
// (madvise MADV_POPULATE_WRITE, Linux 5.14) while the simulation runs takes
// that cost off the simulation's thread, as the JVM's AlwaysPreTouch does
// for its heap. Host speed only: populating changes no contents (fresh
// memory reads as zeroes either way), so no statistic or cycle depends on it.
//
// How far ahead: the window after the block last written first, as large as
// what has been first written so far (a small run stays small) and at most
// `ahead` bytes, so the host memory held beyond the model's is bounded.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace mmusim {

class HostPrefaulter {
 public:
  // Populates within [base, base + size) (base aligned to `block`), `block`
  // bytes at a time, at most `ahead` bytes (rounded up to a block) ahead.
  HostPrefaulter(uint8_t* base, uint64_t size, uint64_t block, uint64_t ahead);
  ~HostPrefaulter();  // stops the helper and waits for it
  HostPrefaulter(const HostPrefaulter&) = delete;
  HostPrefaulter& operator=(const HostPrefaulter&) = delete;

  // The model is about to write the host byte at `offset` for the first
  // time. Costs a compare unless the byte starts a block not seen yet.
  void first_write(uint64_t offset) {
    const uint64_t b = offset / block_;
    if (b != last_block_) new_block(b);
  }

  // Whether this process may run on two CPUs or more (taskset, cpusets). On
  // one, the helper's work only takes turns with the simulation's: measured
  // on the memory-savings trace, about 10% slower than without it.
  static bool host_has_spare_cpu();

  // For tests: blocks the helper has populated, and whether it gave up (the
  // host refused MADV_POPULATE_WRITE, an older kernel, or a thread).
  uint64_t blocks_populated() const;
  bool failed() const;

 private:
  void new_block(uint64_t b);  // moves the window; starts the helper the first time
  void run();                  // the helper thread

  uint8_t* const base_;
  const uint64_t size_, block_, blocks_, ahead_blocks_;
  // The simulation's thread only.
  uint64_t last_block_ = UINT64_MAX;
  uint64_t blocks_seen_ = 0;  // distinct new_block() calls: what was first written, in blocks
  // Shared, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t next_ = 0, end_ = 0;  // the window still to populate: blocks [next_, end_)
  uint64_t populated_ = 0;
  bool stop_ = false, failed_ = false;
  std::vector<bool> done_;  // block populated (by the helper; the helper's own)
  std::thread helper_;
};

}  // namespace mmusim
