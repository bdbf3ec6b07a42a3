// The line parser of trace v1 (spec/trace-format.md).
//
// The text comes from the input layer (trace_input.h: file, standard input or
// memory; plain, gzip or zstd). TraceReader cuts it into lines in one fixed
// buffer and parses each line in place. Memory use is constant whatever the
// length of the trace, and nothing is allocated per line (only on the error
// path).
#include "cpu/trace_reader.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "common/error.h"
#include "cpu/binary_trace_format.h"
#include "cpu/binary_trace_reader.h"

namespace mmusim {
namespace {

// ---------------------------------------------------------------------------------
// Line parsing helpers.

constexpr uint64_t kMaxPid = 2147483647;  // 2^31 - 1
constexpr uint64_t kMaxCpu = 1u << 20;       // far beyond cpu.count; the kernel checks the range

// Character classes of the tokenizer.
enum : uint8_t { kTokChar = 0, kBlank = 1, kLineEnd = 2 };
struct CharClasses {
  uint8_t c[256];
  constexpr CharClasses() : c{} {
    c[static_cast<unsigned char>(' ')] = kBlank;
    c[static_cast<unsigned char>('\t')] = kBlank;
    c[static_cast<unsigned char>('\n')] = kLineEnd;  // the sentinel after every line
    c[static_cast<unsigned char>('#')] = kLineEnd;    // a comment runs to the end of the line
  }
};
constexpr CharClasses kClasses;
inline uint8_t char_class(const char* p) { return kClasses.c[static_cast<unsigned char>(*p)]; }

// Splits a line into blank-separated tokens; '#' ends the line (also inside a token).
// The line must be followed by a '\n' sentinel, so no bounds checks are needed.
struct Tokens {
  const char* p;
  bool next(std::string_view& tok) {
    while (char_class(p) == kBlank) ++p;
    if (char_class(p) == kLineEnd) return false;
    const char* s = p;
    do ++p;
    while (char_class(p) == kTokChar);
    tok = std::string_view(s, static_cast<size_t>(p - s));
    return true;
  }
};

enum class Num { Ok, Bad, Overflow };

// Hexadecimal digit values; 0xff: not a digit.
struct HexDigits {
  uint8_t d[256];
  constexpr HexDigits() : d{} {
    for (unsigned i = 0; i < 256; ++i) d[i] = 0xff;
    for (unsigned i = 0; i < 10; ++i) d['0' + i] = static_cast<uint8_t>(i);
    for (unsigned i = 0; i < 6; ++i) d['a' + i] = d['A' + i] = static_cast<uint8_t>(10 + i);
  }
};
constexpr HexDigits kHexDigits;

// Unsigned decimal, or hexadecimal after 0x / 0X. Bad wins over Overflow.
// Numbers short enough not to overflow (the usual case) skip the checks.
inline Num parse_u64(std::string_view s, uint64_t& out) {
  const char* p = s.data();
  const char* e = p + s.size();
  if (p == e) return Num::Bad;
  uint64_t v = 0;
  bool over = false;
  if (s.size() > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    p += 2;
    const bool may_overflow = e - p > 16;
    for (; p < e; ++p) {
      const unsigned d = kHexDigits.d[static_cast<unsigned char>(*p)];
      if (d > 15) return Num::Bad;
      if (may_overflow && (v >> 60)) over = true;
      v = (v << 4) | d;
    }
  } else if (e - p <= 19) {  // below 10^19 < 2^64
    for (; p < e; ++p) {
      const unsigned d = static_cast<unsigned char>(*p) - unsigned{'0'};
      if (d > 9) return Num::Bad;
      v = v * 10 + d;
    }
  } else {
    for (; p < e; ++p) {
      unsigned d = static_cast<unsigned char>(*p) - unsigned{'0'};
      if (d > 9) return Num::Bad;
      if (__builtin_mul_overflow(v, uint64_t{10}, &v) || __builtin_add_overflow(v, uint64_t{d}, &v))
        over = true;
    }
  }
  if (over) return Num::Overflow;
  out = v;
  return Num::Ok;
}

// A <len>: a number with an optional binary suffix K, M or G.
inline Num parse_len(std::string_view s, uint64_t& out) {
  unsigned shift = 0;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      default: break;
    }
  }
  if (shift) s.remove_suffix(1);
  uint64_t v;
  Num r = parse_u64(s, v);
  if (r != Num::Ok) return r;
  if (shift && (v >> (64 - shift)) != 0) return Num::Overflow;
  out = v << shift;
  return Num::Ok;
}

inline bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (static_cast<unsigned>(static_cast<unsigned char>(c) - '0') > 9u) return false;
  return true;
}

inline bool lookup_op(std::string_view s, TraceOp& op) {
  switch (s.size()) {
    case 4:
      if (s == "load") return op = TraceOp::Load, true;
      if (s == "mmap") return op = TraceOp::Mmap, true;
      if (s == "fork") return op = TraceOp::Fork, true;
      if (s == "exit") return op = TraceOp::Exit, true;
      if (s == "exec") return op = TraceOp::Exec, true;
      return false;
    case 5:
      if (s == "store") return op = TraceOp::Store, true;
      return false;
    case 6:
      if (s == "munmap") return op = TraceOp::Munmap, true;
      if (s == "thread") return op = TraceOp::Thread, true;
      return false;
    case 7:
      if (s == "compute") return op = TraceOp::Compute, true;
      if (s == "migrate") return op = TraceOp::Migrate, true;
      return false;
    case 8:
      if (s == "mprotect") return op = TraceOp::Mprotect, true;
      return false;
    default:
      return false;
  }
}

// The hexadecimal digits at the start of 8 bytes (the first byte the most
// significant digit): how many there are (0 to 8) and their value. Eight
// bytes at a time, without a branch per character (SWAR: every byte a lane).
struct HexRun {
  unsigned digits;
  uint64_t value;
};
[[gnu::always_inline]] inline HexRun hex_run8(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  uint64_t w;
  std::memcpy(&w, p, 8);
  // Range tests per lane on the low 7 bits (adding c sets a lane's high bit
  // iff the lane's value is >= 0x80 - c; no carry leaves a lane); a byte of
  // 0x80 or more is never a digit.
  const uint64_t x = w & ~kHigh;
  const uint64_t y = x | 0x20 * kOnes;  // 'A'-'F' -> 'a'-'f'
  const uint64_t digit = (x + 0x50 * kOnes) & ~(x + 0x46 * kOnes);  // '0' <= x <= '9'
  const uint64_t alpha = (y + 0x1f * kOnes) & ~(y + 0x19 * kOnes);  // 'a' <= y <= 'f'
  const uint64_t not_hex = ~((digit | alpha) & ~w) & kHigh;
  const unsigned n = not_hex ? unsigned(__builtin_ctzll(not_hex)) / 8 : 8;
  if (n == 0) return {0, 0};
  // Nibble values per lane, the first digit moved to the top lane, the
  // lanes after the last digit shifted out, then nibbles packed pairwise.
  uint64_t v = (w & 0x0f * kOnes) + ((alpha & kHigh) >> 7) * 9;
  v = __builtin_bswap64(v) >> (8 * (8 - n));
  v = (v | v >> 4) & 0x00ff00ff00ff00ffull;
  v = (v | v >> 8) & 0x0000ffff0000ffffull;
  v = (v | v >> 16) & 0x00000000ffffffffull;
  return {n, v};
}

// One number of an access line, converted while it is scanned: hexadecimal
// after 0x / 0X (1 to 16 digits), else decimal (1 to 19 digits), ending where
// a token ends (a blank, '#' or the line's end). Anything else (no digits, a
// bad character, a number that might overflow) returns nullptr and leaves the
// line to the general parser, which reports it. May read up to 17 bytes past
// the number's first digit (the buffer's slack covers that).
[[gnu::always_inline]] inline const char* scan_number(const char* p, uint64_t& out) {
  uint64_t v = 0;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    p += 2;
    const HexRun hi = hex_run8(p);
    if (hi.digits == 0) return nullptr;
    v = hi.value;
    p += hi.digits;
    if (hi.digits == 8 && kHexDigits.d[static_cast<unsigned char>(*p)] <= 15) {  // more than 8 digits
      const HexRun lo = hex_run8(p);
      v = v << (4 * lo.digits) | lo.value;
      p += lo.digits;
      if (lo.digits == 8 && kHexDigits.d[static_cast<unsigned char>(*p)] <= 15) return nullptr;  // 17 digits or more
    }
  } else {
    const char* s = p;
    for (unsigned d; (d = static_cast<unsigned char>(*p) - unsigned{'0'}) <= 9; ++p) v = v * 10 + d;
    if (p == s || p - s > 19) return nullptr;
  }
  if (char_class(p) == kTokChar) return nullptr;
  out = v;
  return p;
}

inline const char* skip_blanks(const char* p) {
  while (char_class(p) == kBlank) ++p;
  return p;
}

// The line most traces are made of, "<pid> load <va>" or "<pid> store <va>
// <value>", with each character looked at once (tokenizing and converting in
// one pass: a third of the instructions of a TLB-hit access went to parsing).
// On success rec holds the record so far and the returned pointer is where
// the options start; nullptr means "not such a line, or not well formed": the
// general parser then parses it from the start and reports any error.
inline const char* parse_access_fast(const char* p, TraceRecord& rec) {
  uint64_t pid = 0;
  const char* s = p;
  for (unsigned d; (d = static_cast<unsigned char>(*p) - unsigned{'0'}) <= 9; ++p) pid = pid * 10 + d;
  if (p == s || p - s > 10 || pid < 1 || pid > kMaxPid || char_class(p) != kBlank) return nullptr;
  p = skip_blanks(p);
  TraceOp op;
  if (p[0] == 'l' && p[1] == 'o' && p[2] == 'a' && p[3] == 'd' && char_class(p + 4) == kBlank) {
    op = TraceOp::Load;
    p += 4;
  } else if (p[0] == 's' && p[1] == 't' && p[2] == 'o' && p[3] == 'r' && p[4] == 'e' && char_class(p + 5) == kBlank) {
    op = TraceOp::Store;
    p += 5;
  } else {
    return nullptr;
  }
  uint64_t va = 0, value = 0;
  if (!(p = scan_number(skip_blanks(p), va))) return nullptr;
  if (op == TraceOp::Store && !(p = scan_number(skip_blanks(p), value))) return nullptr;
  rec = TraceRecord{};
  rec.pid = static_cast<Pid>(pid);
  rec.op = op;
  rec.va = va;
  rec.value = value;
  return p;
}

inline bool parse_perms(std::string_view s, Perms& p) {
  if (s.empty() || s[0] != 'r' || s.size() > 3) return false;
  if (s == "r") return p = Perms{true, false, false}, true;
  if (s == "rw") return p = Perms{true, true, false}, true;
  if (s == "rx") return p = Perms{true, false, true}, true;
  if (s == "rwx") return p = Perms{true, true, true}, true;
  return false;
}

// A token for a message: control characters escaped, very long tokens cut.
std::string shown(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string q;
  bool cut = s.size() > kMax;
  if (cut) s = s.substr(0, kMax);
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      q += "\\x";
      q += hex[u >> 4];
      q += hex[u & 15];
    } else {
      q += c;
    }
  }
  if (cut) q += "...";
  return q;
}

std::string quote(std::string_view s) { return "'" + shown(s) + "'"; }


// Error paths, kept out of line so that the parser's hot path stays small. Each
// throws UserError("FILE:LINE: message") for the line being read.
#define MMUSIM_COLD [[noreturn]] __attribute__((cold, noinline))

MMUSIM_COLD void fail_at(const TraceReader& r, const std::string& msg) {
  throw UserError(r.where(r.lines_read()) + ": " + msg);
}
// before + tok (escaped, unquoted) + after
MMUSIM_COLD void fail_plain(const TraceReader& r, const char* before, std::string_view tok,
                            const char* after) {
  fail_at(r, before + shown(tok) + after);
}
// before + 'tok' + after
MMUSIM_COLD void fail_quoted(const TraceReader& r, const char* before, std::string_view tok,
                             const char* after) {
  fail_at(r, before + quote(tok) + after);
}
MMUSIM_COLD void fail_number(const TraceReader& r, Num res, std::string_view tok, const char* what) {
  if (res == Num::Overflow) fail_quoted(r, "number ", tok, " does not fit in 64 bits");
  bool hex = tok.size() > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X');
  bool pid = std::strcmp(what, "<pid>") == 0 || std::strcmp(what, "<child-pid>") == 0;
  fail_at(r, "bad number " + quote(tok) + " for " + what +
                 (pid && hex ? " (pids are decimal)" : ""));
}
MMUSIM_COLD void fail_pid_token(const TraceReader& r, std::string_view tok) {
  TraceOp op;
  if (lookup_op(tok, op)) fail_quoted(r, "missing <pid> before ", tok, "");
  fail_number(r, Num::Bad, tok, "<pid>");
}
MMUSIM_COLD void fail_no_op(const TraceReader& r, uint64_t pid) {
  fail_at(r, "missing operation after pid " + std::to_string(pid));
}
MMUSIM_COLD void fail_missing(const TraceReader& r, const char* what, TraceOp op) {
  fail_at(r, std::string("missing ") + what + " for " + to_string(op));
}
// A positional argument `what` of `op` that did not parse (res says how).
MMUSIM_COLD void fail_positional(const TraceReader& r, Num res, std::string_view tok,
                                 const char* what, TraceOp op) {
  // An option where a positional argument is due: that argument is missing.
  if (tok.find('=') != std::string_view::npos ||
      (op == TraceOp::Mmap && (tok == "shared" || tok == "huge")))
    fail_missing(r, what, op);
  if (std::strcmp(what, "<perms>") == 0)
    fail_quoted(r, "bad permissions ", tok, " for <perms> (expected r, rw, rx or rwx)");
  fail_number(r, res, tok, what);
}
MMUSIM_COLD void fail_unknown_option(const TraceReader& r, std::string_view key, TraceOp op) {
  fail_at(r, "unknown option " + quote(key) + " for " + to_string(op));
}
MMUSIM_COLD void fail_expect_size(const TraceReader& r, std::string_view val, unsigned size) {
  fail_at(r, "expect value " + quote(val) + " does not fit in " + std::to_string(size) +
                 (size == 1 ? " byte" : " bytes") + " (size=" + std::to_string(size) + ")");
}
MMUSIM_COLD void fail_line_too_long(const TraceReader& r) {
  fail_at(r, "line too long (more than " + std::to_string(TraceReader::kMaxLine) + " bytes)");
}

}  // namespace

// ---------------------------------------------------------------------------------

TraceReader::TraceReader(const std::string& path) : TraceReader(open_trace_input(path)) {}

TraceReader::TraceReader(TraceInput in)
    : name_(std::move(in.name)),
      src_(std::move(in.text)),
      buf_(new char[kBufSize + 1 + kSlack]()),  // + 1: the sentinel after the last line
      cap_(kBufSize),
      plain_(in.plain),
      input_size_(in.size) {
  // The first bytes of the text say whether it is a binary trace (a pipe may
  // give them a few at a time). Those of a text trace stay in the buffer.
  while (end_ < binary_trace::kMagicSize) {
    const size_t k = src_->read(buf_.get() + end_, binary_trace::kMagicSize - end_);
    if (k == 0) break;
    end_ += k;
  }
  if (BinaryTraceReader::has_magic(buf_.get(), end_)) {
    binary_ = std::make_unique<BinaryTraceReader>(name_, *src_, buf_.get(), end_);
    buf_.reset();
    begin_ = end_ = cap_ = 0;
  }
}

TraceReader TraceReader::from_string(std::string text, std::string name) {
  return TraceReader(trace_input_from_string(std::move(text), std::move(name)));
}

TraceReader::~TraceReader() = default;
TraceReader::TraceReader(TraceReader&&) noexcept = default;

uint64_t TraceReader::lines_read() const { return binary_ ? binary_->lines_read() : line_; }

uint64_t TraceReader::bytes_consumed() const { return binary_ ? binary_->bytes_consumed() : consumed_; }

uint64_t TraceReader::input_bytes_consumed() const {
  if (plain_ || !src_) return bytes_consumed();
  return src_->raw_consumed();
}

std::string TraceReader::where(uint64_t line) const {
  if (binary_) return binary_->where(line);
  return name_ + ":" + std::to_string(line);
}

// Called when [begin_, end_) holds no complete line. Makes room (moving the partial
// line to the front when the free tail gets short) and reads more; false at end.
bool TraceReader::fill() {
  if (begin_ > 0 && cap_ - end_ < cap_ / 4) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  size_t k = src_->read(buf_.get() + end_, cap_ - end_);
  if (k == 0) {
    eof_ = true;
    return false;
  }
  end_ += k;
  return true;
}

bool TraceReader::next_text(TraceRecord& rec) {
  for (;;) {
    char* base = buf_.get();
    const char* nl = nullptr;
    if (begin_ + scanned_ < end_)
      nl = static_cast<const char*>(
          std::memchr(base + begin_ + scanned_, '\n', end_ - begin_ - scanned_));
    size_t len;
    if (nl) {
      len = static_cast<size_t>(nl - (base + begin_));
    } else {
      scanned_ = end_ - begin_;
      if (scanned_ > kMaxLine) {
        ++line_;
        fail_line_too_long(*this);
      }
      if (!eof_ && fill()) continue;
      if (begin_ == end_) return false;
      len = end_ - begin_;  // last line, without a newline
    }
    if (len > kMaxLine) {
      ++line_;
      fail_line_too_long(*this);
    }
    char* line = base + begin_;
    std::string_view text(line, len);
    size_t advance = nl ? len + 1 : len;
    begin_ += advance;
    consumed_ += advance;
    scanned_ = 0;
    ++line_;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    line[text.size()] = '\n';  // sentinel for the tokenizer (over '\n', '\r' or the spare byte)
    if (line_ == 1 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
    if (parse_line(text, rec)) {
      rec.line = line_;
      return true;
    }
  }
}

namespace {

// Options, in any order, after a record's positional arguments.
bool parse_options(const TraceReader& self, Tokens& tok, TraceRecord& rec) {
  const TraceOp op = rec.op;
  std::string_view t;
  bool have_size = false;
  std::string_view expect_text;
  while (tok.next(t)) {
    size_t eq = t.find('=');
    if (eq == std::string_view::npos) {
      if (op == TraceOp::Mmap && t == "shared") {
        if (rec.shared) fail_plain(self, "duplicate option 'shared'", {}, "");
        rec.shared = true;
        continue;
      }
      if (op == TraceOp::Mmap && t == "huge") {
        if (rec.huge) fail_plain(self, "duplicate option 'huge'", {}, "");
        rec.huge = true;
        continue;
      }
      fail_quoted(self, "unexpected argument ", t, "");
    }
    std::string_view key = t.substr(0, eq);
    std::string_view val = t.substr(eq + 1);
    if (key.empty()) fail_quoted(self, "bad option ", t, " (expected key=value)");
    if (key == "size" && (op == TraceOp::Load || op == TraceOp::Store)) {
      if (have_size) fail_plain(self, "duplicate option 'size'", {}, "");
      have_size = true;
      if (val.empty()) fail_plain(self, "missing value for option 'size'", {}, "");
      uint64_t n = 0;
      Num r = parse_u64(val, n);
      if (r == Num::Bad) fail_number(self, r, val, "size");
      if (r == Num::Overflow || !(n == 1 || n == 2 || n == 4 || n == 8))
        fail_plain(self, "size must be 1, 2, 4 or 8 (got ", val, ")");
      rec.size = static_cast<uint8_t>(n);
    } else if (key == "cpu" && (op == TraceOp::Fork || op == TraceOp::Thread)) {
      if (rec.cpu >= 0) fail_plain(self, "duplicate option 'cpu'", {}, "");
      if (val.empty()) fail_plain(self, "missing value for option 'cpu'", {}, "");
      uint64_t n = 0;
      Num r = parse_u64(val, n);
      if (r != Num::Ok) fail_number(self, r, val, "cpu");
      if (n > kMaxCpu) fail_plain(self, "CPU number too large (got ", val, ")");
      rec.cpu = static_cast<int32_t>(n);
    } else if (key == "expect" && op == TraceOp::Load) {
      if (rec.has_expect) fail_plain(self, "duplicate option 'expect'", {}, "");
      if (val.empty()) fail_plain(self, "missing value for option 'expect'", {}, "");
      Num r = parse_u64(val, rec.expect);
      if (r != Num::Ok) fail_number(self, r, val, "expect");
      rec.has_expect = true;
      expect_text = val;
    } else {
      fail_unknown_option(self, key, op);
    }
  }
  if (rec.has_expect && rec.size < 8 && (rec.expect >> (8 * rec.size)) != 0)
    fail_expect_size(self, expect_text, rec.size);
  return true;
}

}  // namespace

bool TraceReader::parse_line(std::string_view text, TraceRecord& rec) {
  Tokens tok{text.data()};
  std::string_view t;
  if (const char* options = parse_access_fast(tok.p, rec)) {
    tok.p = skip_blanks(options);
    if (char_class(tok.p) == kLineEnd) return true;  // most lines have no options
    // The next most common: a load whose only option is expect=V (a
    // self-checking trace). Anything else, the general option parser.
    if (rec.op == TraceOp::Load && std::memcmp(tok.p, "expect=", 7) == 0) {
      uint64_t v;
      if (const char* e = scan_number(tok.p + 7, v); e && char_class(skip_blanks(e)) == kLineEnd) {
        rec.has_expect = true;
        rec.expect = v;
        return true;
      }
    }
    return parse_options(*this, tok, rec);
  }
  if (!tok.next(t)) return false;  // blank or comment only
  const TraceReader& self = *this;

  rec = TraceRecord{};

  // <pid>
  uint64_t v = 0;
  if (!all_digits(t)) fail_pid_token(self, t);
  if (parse_u64(t, v) != Num::Ok || v < 1 || v > kMaxPid)
    fail_plain(self, "pid must be 1 to 2147483647 (got ", t, ")");
  rec.pid = static_cast<Pid>(v);

  // <op>
  if (!tok.next(t)) fail_no_op(self, v);
  TraceOp op;
  if (!lookup_op(t, op))
    fail_quoted(self, "unknown operation ", t,
                " (expected one of: mmap munmap mprotect load store fork thread migrate exec exit compute)");
  rec.op = op;

  // Positional arguments. An option (key=value, or mmap's `shared`/`huge`) where a
  // positional argument is due means that argument is missing.
  // (The error paths check that; the hot path only sees well-formed arguments.)
  auto positional = [&](const char* what) -> std::string_view {
    std::string_view a;
    if (!tok.next(a)) fail_missing(self, what, op);
    return a;
  };
  auto number = [&](const char* what, uint64_t& out) {
    std::string_view a = positional(what);
    Num r = parse_u64(a, out);
    if (r != Num::Ok) fail_positional(self, r, a, what, op);
  };
  auto length = [&](uint64_t& out) {
    std::string_view a = positional("<len>");
    Num r = parse_len(a, out);
    if (r != Num::Ok) fail_positional(self, r, a, "<len>", op);
  };
  auto perms = [&]() {
    std::string_view a = positional("<perms>");
    if (!parse_perms(a, rec.perms)) fail_positional(self, Num::Bad, a, "<perms>", op);
  };

  switch (op) {
    case TraceOp::Mmap:
    case TraceOp::Mprotect:
      number("<va>", rec.va);
      length(rec.len);
      perms();
      break;
    case TraceOp::Munmap:
      number("<va>", rec.va);
      length(rec.len);
      break;
    case TraceOp::Load:
      number("<va>", rec.va);
      break;
    case TraceOp::Store:
      number("<va>", rec.va);
      number("<value>", rec.value);
      break;
    case TraceOp::Fork:
    case TraceOp::Thread: {
      const char* what = op == TraceOp::Fork ? "<child-pid>" : "<new-task>";
      std::string_view a = positional(what);
      if (!all_digits(a)) fail_positional(self, Num::Bad, a, what, op);
      uint64_t c = 0;
      if (parse_u64(a, c) != Num::Ok || c < 1 || c > kMaxPid)
        fail_plain(self, op == TraceOp::Fork ? "child pid must be 1 to 2147483647 (got " : "task id must be 1 to 2147483647 (got ", a, ")");
      rec.child = static_cast<Pid>(c);
      break;
    }
    case TraceOp::Migrate: {
      uint64_t c = 0;
      number("<cpu>", c);
      if (c > kMaxCpu) fail_plain(self, "CPU number too large (got ", std::to_string(c), ")");
      rec.cpu = static_cast<int32_t>(c);
      break;
    }
    case TraceOp::Exec:
    case TraceOp::Exit:
      break;
    case TraceOp::Compute:
      number("<cycles>", rec.cycles);
      break;
  }
  return parse_options(*this, tok, rec);
}

}  // namespace mmusim
