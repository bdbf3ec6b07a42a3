#include "memory/host_prefaulter.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <system_error>

namespace mmusim {

HostPrefaulter::HostPrefaulter(uint8_t* base, uint64_t size, uint64_t block, uint64_t ahead)
    : base_(base),
      size_(size),
      block_(block),
      blocks_((size + block - 1) / block),
      ahead_blocks_(std::max<uint64_t>(1, (ahead + block - 1) / block)),
      done_(blocks_) {}

HostPrefaulter::~HostPrefaulter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (helper_.joinable()) helper_.join();
}

bool HostPrefaulter::host_has_spare_cpu() {
  cpu_set_t set;
  return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2;
}

uint64_t HostPrefaulter::blocks_populated() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return populated_;
}

bool HostPrefaulter::failed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_;
}

void HostPrefaulter::new_block(uint64_t b) {
  last_block_ = b;
  ++blocks_seen_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_) return;
    next_ = std::min(b + 1, blocks_);
    end_ = std::min(b + 1 + std::min(blocks_seen_, ahead_blocks_), blocks_);
  }
  if (!helper_.joinable()) {
    // The helper takes no signals: SIGINT and SIGTERM stay the simulation's
    // (common/interrupt.h), which may wait for them in a system call.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    try {
      helper_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {  // no thread to be had: the model runs on without help
      std::lock_guard<std::mutex> lock(mutex_);
      failed_ = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  } else {
    wake_.notify_one();
  }
}

void HostPrefaulter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || next_ < end_; });
    if (stop_) return;
    const uint64_t b = next_++;
    if (done_[b]) continue;
    lock.unlock();
    // Faults the block in as a write would (zeroed, huge where the host has
    // THP) without changing a byte, so it may race the model's own writes.
    const uint64_t at = b * block_;
    const bool ok = madvise(base_ + at, std::min(block_, size_ - at), MADV_POPULATE_WRITE) == 0;
    lock.lock();
    if (!ok) {
      failed_ = true;  // EINVAL before Linux 5.14; the model runs on without help
      return;
    }
    done_[b] = true;
    ++populated_;
  }
}

}  // namespace mmusim
