// The trace writers; see trace_writer.h.
#include "cpu/trace_writer.h"

#include <fmt/format.h>

#include "cpu/binary_trace_format.h"

namespace mmusim {

using namespace binary_trace;

TraceWriter::TraceWriter(std::ostream& out) : out_(out) { buf_.reserve(kFlushAt + 256); }

void TraceWriter::flush() {
  out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
  buf_.clear();
}

// ---------------------------------------------------------------------------------
// Text

namespace {

std::string format_len(uint64_t n) {
  for (auto [suffix, shift] : {std::pair{'G', 30}, std::pair{'M', 20}, std::pair{'K', 10}}) {
    const uint64_t mult = uint64_t{1} << shift;
    if (n >= mult && n % mult == 0) return fmt::format("{}{}", n >> shift, suffix);
  }
  return fmt::format("{}", n);
}

const char* perms_text(const Perms& p) { return p.w ? (p.x ? "rwx" : "rw") : (p.x ? "rx" : "r"); }

}  // namespace

void TextTraceWriter::gap(uint64_t lines) {
  buf_.append(lines, '\n');
  flush_if_full();
}

void TextTraceWriter::record(const TraceRecord& r) {
  auto out = std::back_inserter(buf_);
  fmt::format_to(out, "{} {}", r.pid, to_string(r.op));
  switch (r.op) {
    case TraceOp::Mmap:
    case TraceOp::Mprotect:
      fmt::format_to(out, " {:#x} {} {}{}{}", r.va, format_len(r.len), perms_text(r.perms),
                     r.shared ? " shared" : "", get_huge(r) ? " huge" : "");
      break;
    case TraceOp::Munmap:
      fmt::format_to(out, " {:#x} {}", r.va, format_len(r.len));
      break;
    case TraceOp::Load:
      fmt::format_to(out, " {:#x}", r.va);
      if (r.size != 8) fmt::format_to(out, " size={}", r.size);
      if (r.has_expect) fmt::format_to(out, " expect={}", r.expect);
      break;
    case TraceOp::Store:
      fmt::format_to(out, " {:#x} {}", r.va, r.value);
      if (r.size != 8) fmt::format_to(out, " size={}", r.size);
      break;
    case TraceOp::Fork:
    case TraceOp::Thread:
      fmt::format_to(out, " {}", r.child);
      if (r.cpu >= 0) fmt::format_to(out, " cpu={}", r.cpu);
      break;
    case TraceOp::Migrate:
      fmt::format_to(out, " {}", r.cpu);
      break;
    case TraceOp::Compute:
      fmt::format_to(out, " {}", r.cycles);
      break;
    case TraceOp::Exec:
    case TraceOp::Exit:
      break;
  }
  buf_ += '\n';
  flush_if_full();
}

void TextTraceWriter::finish() {
  flush();
  out_.flush();
}

// ---------------------------------------------------------------------------------
// Binary

BinaryTraceWriter::BinaryTraceWriter(std::ostream& out) : TraceWriter(out) {
  buf_.append(kMagic, kMagicSize);
  buf_ += static_cast<char>(kVersionMajor);
  buf_ += static_cast<char>(kVersionMinor);
  buf_.append(2, '\0');
}

void BinaryTraceWriter::put_varint(uint64_t v) {
  while (v >= 0x80) {
    buf_ += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf_ += static_cast<char>(v);
}

void BinaryTraceWriter::gap(uint64_t lines) { pending_gap_ += lines; }

void BinaryTraceWriter::start_record(uint8_t op) {
  if (pending_gap_) {
    buf_ += static_cast<char>(kGap);
    put_varint(pending_gap_);
    pending_gap_ = 0;
    ++records_;
  }
  buf_ += static_cast<char>(op);
  ++records_;
}

void BinaryTraceWriter::record(const TraceRecord& r) {
  const uint8_t log2size = r.size == 1 ? 0 : r.size == 2 ? 1 : r.size == 4 ? 2 : 3;
  if (r.pid != task_) {
    start_record(kTask);
    put_varint(r.pid);
    task_ = r.pid;
  }
  auto flags = [&] {
    return static_cast<char>(kFlagRead | (r.perms.w ? kFlagWrite : 0) | (r.perms.x ? kFlagExec : 0) |
                             (r.shared ? kFlagShared : 0) | (get_huge(r) ? kFlagHuge : 0));
  };
  switch (r.op) {
    case TraceOp::Load:
    case TraceOp::Store:
      start_record(static_cast<uint8_t>((r.op == TraceOp::Store ? kStore : r.has_expect ? kLoadExpect : kLoad) |
                                        log2size));
      put_varint(zigzag(r.va - prev_va_));
      prev_va_ = r.va;
      if (r.op == TraceOp::Store) put_varint(r.value);
      else if (r.has_expect) put_varint(r.expect);
      break;
    case TraceOp::Mmap:
    case TraceOp::Mprotect:
      start_record(r.op == TraceOp::Mmap ? kMmap : kMprotect);
      put_varint(r.va);
      put_varint(r.len);
      buf_ += flags();
      break;
    case TraceOp::Munmap:
      start_record(kMunmap);
      put_varint(r.va);
      put_varint(r.len);
      break;
    case TraceOp::Fork:
    case TraceOp::Thread:
      start_record(r.op == TraceOp::Fork ? kFork : kThread);
      put_varint(r.child);
      put_varint(r.cpu < 0 ? 0 : static_cast<uint64_t>(r.cpu) + 1);
      break;
    case TraceOp::Migrate:
      start_record(kMigrate);
      put_varint(static_cast<uint64_t>(r.cpu));
      break;
    case TraceOp::Exec: start_record(kExec); break;
    case TraceOp::Exit: start_record(kExit); break;
    case TraceOp::Compute:
      start_record(kCompute);
      put_varint(r.cycles);
      break;
  }
  flush_if_full();
}

void BinaryTraceWriter::finish() {
  if (pending_gap_) {
    buf_ += static_cast<char>(kGap);
    put_varint(pending_gap_);
    pending_gap_ = 0;
    ++records_;
  }
  buf_ += static_cast<char>(kEnd);
  put_varint(records_);
  flush();
  out_.flush();
}

}  // namespace mmusim
