#include "memory/phys_mem.h"

#include <cstring>

#include "common/config.h"

namespace mmusim {

namespace {
constexpr size_t kHostChunkFrames = 256;  // host pages are carved 1 MiB at a time
}

PhysMem::PhysMem(sc_core::sc_module_name name, const Config& cfg, const Clock& clock)
    : sc_core::sc_module(name),
      socket("socket"),
      clock_(clock),
      size_(cfg.u64("mem.size")),
      latency_(cfg.u64("mem.latency")),
      copy_bytes_per_cycle_(cfg.u64("mem.copy_bytes_per_cycle")),
      zero_bytes_per_cycle_(cfg.u64("mem.zero_bytes_per_cycle") ? cfg.u64("mem.zero_bytes_per_cycle")
                                                                  : copy_bytes_per_cycle_),
      frames_(size_ >> kPageShift, nullptr) {
  socket.register_b_transport(this, &PhysMem::b_transport);
  socket.register_transport_dbg(this, &PhysMem::transport_dbg);
}

PhysMem::~PhysMem() = default;

uint8_t* PhysMem::backing(Ppn p) {
  uint8_t* f = frames_[p];
  if (f) return f;
  if (host_free_.empty()) {
    host_chunks_.emplace_back(new uint8_t[kHostChunkFrames * kPageSize]);
    uint8_t* base = host_chunks_.back().get();
    for (size_t i = kHostChunkFrames; i-- > 0;) host_free_.push_back(base + i * kPageSize);
  }
  f = host_free_.back();
  host_free_.pop_back();
  std::memset(f, 0, kPageSize);
  frames_[p] = f;
  stats_.host_frames_peak = std::max(stats_.host_frames_peak, ++host_frames_);
  return f;
}

void PhysMem::release(Ppn p) {
  if (uint8_t* f = frames_[p]) {
    host_free_.push_back(f);
    frames_[p] = nullptr;
    --host_frames_;
  }
}

void PhysMem::read(PAddr pa, void* dst, uint64_t len) const {
  auto* out = static_cast<uint8_t*>(dst);
  while (len) {
    const uint64_t off = page_offset(pa);
    const uint64_t n = std::min(len, kPageSize - off);
    const uint8_t* f = frames_[pa >> kPageShift];
    if (f) std::memcpy(out, f + off, n);
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
  if (frames_[src]) std::memcpy(backing(dst), frames_[src], kPageSize);
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
  uint8_t* frame = frames_[pa >> kPageShift];
  if (frame && len <= 8 && page_offset(pa) + len <= kPageSize) {
    // The common case: a CPU access of a few bytes to a frame in use.
    if (trans.is_read()) {
      std::memcpy(trans.get_data_ptr(), frame + page_offset(pa), len);
      ++stats_.reads;
    } else if (trans.is_write()) {
      std::memcpy(frame + page_offset(pa), trans.get_data_ptr(), len);
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
    auto p = std::make_unique<tlm_utils::simple_target_socket<PhysMem>>(
        sc_core::sc_gen_unique_name("port"));
    p->register_b_transport(this, &PhysMem::b_transport);
    p->register_transport_dbg(this, &PhysMem::transport_dbg);
    more_ports_.push_back(std::move(p));
  }
  return *more_ports_[k - 1];
}

void PhysMem::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (!check(trans)) return;
  access(trans);
  delay += clock_.to_time(latency_);
}

unsigned int PhysMem::transport_dbg(tlm::tlm_generic_payload& trans) {
  if (!check(trans)) return 0;
  access(trans);
  return trans.get_data_length();
}

}  // namespace mmusim
