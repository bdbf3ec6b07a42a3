#include "memory/phys_mem.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/access_copy.h"
#include "common/config.h"
#include "common/error.h"

namespace mmusim {

namespace {
constexpr uint64_t kHostHuge = uint64_t{2} << 20;  // a host transparent huge page

// A whole frame's copy with streaming stores: the destination's lines are
// written without first being read into the cache (ordinary stores read
// each one in from DRAM first, and a frame just allocated is seldom cached),
// and the copy does not evict the simulation's own working set. Copying
// 1 GiB a frame at a time on this project's VM: 1.3x faster than memcpy.
// No fence: only this thread reads simulated memory, and a thread always sees
// its own streaming stores in program order.
void copy_page_streaming(uint8_t* dst, const uint8_t* src) {
#if defined(__SSE2__)
  auto* to = reinterpret_cast<__m128i*>(dst);  // frames are page-aligned
  const auto* from = reinterpret_cast<const __m128i*>(src);
  for (uint64_t i = 0; i < kPageSize / sizeof(__m128i); i += 4) {
    const __m128i a = _mm_load_si128(from + i), b = _mm_load_si128(from + i + 1);
    const __m128i c = _mm_load_si128(from + i + 2), d = _mm_load_si128(from + i + 3);
    _mm_stream_si128(to + i, a);
    _mm_stream_si128(to + i + 1, b);
    _mm_stream_si128(to + i + 2, c);
    _mm_stream_si128(to + i + 3, d);
  }
#else
  std::memcpy(dst, src, kPageSize);
#endif
}
}  // namespace

PhysMem::PhysMem(sc_core::sc_module_name name, const Config& cfg, const Clock& clock)
    : sc_core::sc_module(name),
      socket("socket"),
      size_(cfg.u64("mem.size")),
      latency_(cfg.u64("mem.latency")),
      access_delay_(clock.to_time(latency_)),
      copy_bytes_per_cycle_(cfg.u64("mem.copy_bytes_per_cycle")),
      zero_bytes_per_cycle_(cfg.u64("mem.zero_bytes_per_cycle") ? cfg.u64("mem.zero_bytes_per_cycle")
                                                                  : copy_bytes_per_cycle_),
      live_((frames() + 63) / 64),
      touched_((frames() + 63) / 64) {
  socket.bind(*this);
  // Address space only: the host backs a page when it is first written
  // (MAP_NORESERVE: mem.size may exceed the host's memory).
  reserved_ = size_ + kHostHuge;
  void* m = mmap(nullptr, reserved_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED)
    throw UserError(fmt::format("mem.size = {}: cannot reserve that much host address space: {}", format_size(size_),
                                std::strerror(errno)));
  mapping_ = static_cast<uint8_t*>(m);
  base_ = mapping_ + (kHostHuge - reinterpret_cast<uintptr_t>(mapping_) % kHostHuge) % kHostHuge;
  // Where the host has transparent huge pages, one fault maps 2 MiB.
  // Advice only: without it (THP off) the model works the same, slower.
  madvise(base_, size_, MADV_HUGEPAGE);
  if (const uint64_t ahead = cfg.u64("mem.host_prefault"); ahead > 0 && HostPrefaulter::host_has_spare_cpu())
    prefaulter_ = std::make_unique<HostPrefaulter>(base_, size_, kHostHuge, ahead);
}

PhysMem::~PhysMem() {
  prefaulter_.reset();  // its helper may be populating the range
  munmap(mapping_, reserved_);
}

uint8_t* PhysMem::backing(Ppn p, bool overwrite) {
  uint8_t* f = host(p);
  uint64_t& live = live_[p >> 6];
  const uint64_t bit = uint64_t{1} << (p & 63);
  if (live & bit) return f;
  uint64_t& touched = touched_[p >> 6];
  if (touched & bit) {
    if (!overwrite) std::memset(f, 0, kPageSize);  // dead contents of an earlier use
  } else {
    touched |= bit;  // fresh host memory reads as zeroes already
    if (prefaulter_) prefaulter_->first_write(p << kPageShift);
    stats_.host_frames_peak = ++host_frames_;
  }
  live |= bit;
  ++epoch_;
  return f;
}

void PhysMem::release(Ppn p) {
  live_[p >> 6] &= ~(uint64_t{1} << (p & 63));
  ++epoch_;
}

void PhysMem::read(PAddr pa, void* dst, uint64_t len) const {
  auto* out = static_cast<uint8_t*>(dst);
  while (len) {
    const uint64_t off = page_offset(pa);
    const uint64_t n = std::min(len, kPageSize - off);
    if (has(live_, pa >> kPageShift)) std::memcpy(out, base_ + pa, n);
    else std::memset(out, 0, n);
    out += n, pa += n, len -= n;
  }
}

void PhysMem::write(PAddr pa, const void* src, uint64_t len) {
  auto* in = static_cast<const uint8_t*>(src);
  while (len) {
    const uint64_t off = page_offset(pa);
    const uint64_t n = std::min(len, kPageSize - off);
    std::memcpy(backing(pa >> kPageShift) + off, in, n);
    in += n, pa += n, len -= n;
  }
}

uint64_t PhysMem::read64(PAddr pa) const {
  uint64_t v;
  read(pa, &v, sizeof v);
  return v;
}

void PhysMem::write64(PAddr pa, uint64_t v) { write(pa, &v, sizeof v); }

Cycles PhysMem::copy_frame(Ppn dst, Ppn src) {
  ++stats_.copies;
  if (has(live_, src)) copy_page_streaming(backing(dst, true), host(src));
  else release(dst);
  return bulk_cycles(kPageSize);
}

Cycles PhysMem::zero_frame(Ppn dst) {
  ++stats_.zeroes;
  release(dst);
  return zero_cycles(kPageSize);
}

bool PhysMem::check(tlm::tlm_generic_payload& trans) const {
  const uint64_t addr = trans.get_address();
  const uint64_t len = trans.get_data_length();
  if (trans.get_byte_enable_ptr()) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  if (trans.get_streaming_width() < len) {
    trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  if (addr >= size_ || len > size_ - addr) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  const auto cmd = trans.get_command();
  if (cmd != tlm::TLM_READ_COMMAND && cmd != tlm::TLM_WRITE_COMMAND && cmd != tlm::TLM_IGNORE_COMMAND) {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return false;
  }
  return true;
}

void PhysMem::access(tlm::tlm_generic_payload& trans) {
  const PAddr pa = trans.get_address();
  const unsigned len = trans.get_data_length();
  if (has(live_, pa >> kPageShift) && len <= 8 && page_offset(pa) + len <= kPageSize) {
    // The common case: a CPU access of a few bytes to a frame in use.
    if (trans.is_read()) {
      copy_access_bytes(trans.get_data_ptr(), base_ + pa, len);
      ++stats_.reads;
    } else if (trans.is_write()) {
      copy_access_bytes(base_ + pa, trans.get_data_ptr(), len);
      ++stats_.writes;
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  switch (trans.get_command()) {
    case tlm::TLM_READ_COMMAND:
      read(trans.get_address(), trans.get_data_ptr(), trans.get_data_length());
      ++stats_.reads;
      break;
    case tlm::TLM_WRITE_COMMAND:
      write(trans.get_address(), trans.get_data_ptr(), trans.get_data_length());
      ++stats_.writes;
      break;
    default:
      break;
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

tlm::tlm_target_socket<>& PhysMem::port(unsigned k) {
  if (k == 0) return socket;
  while (more_ports_.size() < k) {
    auto p = std::make_unique<tlm::tlm_target_socket<>>(sc_core::sc_gen_unique_name("port"));
    p->bind(*this);
    more_ports_.push_back(std::move(p));
  }
  return *more_ports_[k - 1];
}

void PhysMem::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (!check(trans)) return;
  access(trans);
  delay += access_delay_;
}

unsigned int PhysMem::transport_dbg(tlm::tlm_generic_payload& trans) {
  if (!check(trans)) return 0;
  access(trans);
  return trans.get_data_length();
}

}  // namespace mmusim
