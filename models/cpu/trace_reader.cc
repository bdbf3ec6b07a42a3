// Streaming reader of trace v1 (spec/trace-format.md).
//
// Layers: a RawInput (file descriptor or memory) gives the bytes as stored; a
// ByteSource turns them into text (copy for plain text, zlib inflate for gzip,
// ZSTD_decompressStream for zstd, chosen by the first bytes); TraceReader cuts the
// text into lines in one fixed buffer and parses each line in place. Memory use is
// constant whatever the length of the trace, and nothing is allocated per line
// (only on the error path).
#include "cpu/trace_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "common/error.h"

namespace mmusim {
namespace {

constexpr size_t kInBufSize = 256 * 1024;  // chunk of compressed input

// ---------------------------------------------------------------------------------
// Raw input: the bytes as stored.

class RawInput {
 public:
  virtual ~RawInput() = default;
  // Up to n bytes; 0 at end of input. Throws UserError on an I/O error.
  virtual size_t read(char* buf, size_t n) = 0;
};

class FdInput final : public RawInput {
 public:
  FdInput(int fd, bool owned, std::string name) : fd_(fd), owned_(owned), name_(std::move(name)) {}
  ~FdInput() override {
    if (owned_) ::close(fd_);
  }
  FdInput(const FdInput&) = delete;
  FdInput& operator=(const FdInput&) = delete;

  size_t read(char* buf, size_t n) override {
    if (n > (size_t{1} << 30)) n = size_t{1} << 30;
    for (;;) {
      ssize_t k = ::read(fd_, buf, n);
      if (k >= 0) return static_cast<size_t>(k);
      if (errno == EINTR) continue;
      throw UserError(name_ + ": " + std::strerror(errno));
    }
  }

 private:
  int fd_;
  bool owned_;
  std::string name_;
};

class MemInput final : public RawInput {
 public:
  explicit MemInput(std::string data) : data_(std::move(data)) {}
  size_t read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Reads until `want` bytes or end of input (a pipe may return fewer bytes than asked).
size_t read_full(RawInput& in, char* buf, size_t want) {
  size_t got = 0;
  while (got < want) {
    size_t k = in.read(buf + got, want - got);
    if (k == 0) break;
    got += k;
  }
  return got;
}

// ---------------------------------------------------------------------------------
// Byte sources: the text.

constexpr size_t kSniff = 6;  // bytes looked at to recognise the format

class PlainSource final : public ByteSource {
 public:
  PlainSource(std::unique_ptr<RawInput> in, const char* prefix, size_t k) : in_(std::move(in)) {
    std::memcpy(pre_, prefix, k);
    pre_len_ = k;
  }
  size_t read(char* buf, size_t n) override {
    if (pre_pos_ < pre_len_) {  // the bytes read to recognise the format come first
      size_t k = std::min(n, pre_len_ - pre_pos_);
      std::memcpy(buf, pre_ + pre_pos_, k);
      pre_pos_ += k;
      raw_ += k;
      return k;
    }
    size_t k = in_->read(buf, n);
    raw_ += k;
    return k;
  }
  uint64_t raw_consumed() const override { return raw_; }

 private:
  std::unique_ptr<RawInput> in_;
  char pre_[kSniff];
  size_t pre_len_ = 0, pre_pos_ = 0;
  uint64_t raw_ = 0;
};

// gzip, one member or several concatenated (as `cat a.gz b.gz` or pigz make).
class GzipSource final : public ByteSource {
 public:
  GzipSource(std::unique_ptr<RawInput> in, const char* prefix, size_t k, std::string name)
      : in_(std::move(in)), buf_(new char[kInBufSize]), name_(std::move(name)) {
    std::memset(&zs_, 0, sizeof zs_);
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK)
      throw UserError(name_ + ": cannot initialise gzip decompression");
    std::memcpy(buf_.get(), prefix, k);
    zs_.next_in = reinterpret_cast<Bytef*>(buf_.get());
    zs_.avail_in = static_cast<uInt>(k);
    raw_read_ = k;
  }
  ~GzipSource() override { inflateEnd(&zs_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  size_t read(char* out, size_t n) override {
    if (n == 0) return 0;
    if (n > UINT_MAX) n = UINT_MAX;
    zs_.next_out = reinterpret_cast<Bytef*>(out);
    zs_.avail_out = static_cast<uInt>(n);
    for (;;) {
      if (zs_.avail_in == 0 && !eof_) refill();
      if (!in_member_) {
        if (zs_.avail_in == 0) return n - zs_.avail_out;  // end after whole members
        if (members_ > 0) {  // next concatenated member
          if (zs_.next_in[0] != 0x1f || (zs_.avail_in > 1 && zs_.next_in[1] != 0x8b))
            throw UserError(name_ + ": corrupt gzip data (trailing garbage after the data)");
          inflateReset(&zs_);
        }
        in_member_ = true;
        ++members_;
      }
      int ret = inflate(&zs_, Z_NO_FLUSH);
      if (ret == Z_STREAM_END) {
        in_member_ = false;
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        throw UserError(name_ + ": corrupt gzip data" +
                        (zs_.msg ? std::string(" (") + zs_.msg + ")" : std::string()));
      }
      size_t produced = n - zs_.avail_out;
      if (produced > 0) return produced;
      if (in_member_ && zs_.avail_in == 0 && eof_)
        throw UserError(name_ + ": corrupt gzip data (unexpected end of file)");
    }
  }
  uint64_t raw_consumed() const override { return raw_read_ - zs_.avail_in; }

 private:
  void refill() {
    size_t k = in_->read(buf_.get(), kInBufSize);
    if (k == 0) eof_ = true;
    raw_read_ += k;
    zs_.next_in = reinterpret_cast<Bytef*>(buf_.get());
    zs_.avail_in = static_cast<uInt>(k);
  }

  std::unique_ptr<RawInput> in_;
  std::unique_ptr<char[]> buf_;
  std::string name_;
  z_stream zs_;
  bool eof_ = false;
  bool in_member_ = false;
  uint64_t members_ = 0;
  uint64_t raw_read_ = 0;
};

// zstd, one frame or several concatenated (skippable frames are skipped).
class ZstdSource final : public ByteSource {
 public:
  ZstdSource(std::unique_ptr<RawInput> in, const char* prefix, size_t k, std::string name)
      : in_(std::move(in)), buf_(new char[kInBufSize]), name_(std::move(name)) {
    ds_ = ZSTD_createDStream();
    if (!ds_ || ZSTD_isError(ZSTD_initDStream(ds_))) {
      ZSTD_freeDStream(ds_);
      throw UserError(name_ + ": cannot initialise zstd decompression");
    }
    std::memcpy(buf_.get(), prefix, k);
    zin_ = ZSTD_inBuffer{buf_.get(), k, 0};
    raw_read_ = k;
  }
  ~ZstdSource() override { ZSTD_freeDStream(ds_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  size_t read(char* out, size_t n) override {
    if (n == 0) return 0;
    ZSTD_outBuffer zout{out, n, 0};
    for (;;) {
      if (zin_.pos == zin_.size && !eof_) refill();
      size_t in_before = zin_.pos;
      size_t r = ZSTD_decompressStream(ds_, &zout, &zin_);
      if (ZSTD_isError(r))
        throw UserError(name_ + ": corrupt zstd data (" + ZSTD_getErrorName(r) + ")");
      // r == 0: a frame is complete and flushed. A call that did nothing says
      // nothing about it (between frames it returns the size of the next header).
      if (zin_.pos != in_before || zout.pos != 0) frame_done_ = (r == 0);
      if (zout.pos > 0) return zout.pos;
      if (zin_.pos == zin_.size && eof_) {
        if (!frame_done_) throw UserError(name_ + ": corrupt zstd data (unexpected end of file)");
        return 0;
      }
    }
  }
  uint64_t raw_consumed() const override { return raw_read_ - (zin_.size - zin_.pos); }

 private:
  void refill() {
    size_t k = in_->read(buf_.get(), kInBufSize);
    if (k == 0) eof_ = true;
    raw_read_ += k;
    zin_ = ZSTD_inBuffer{buf_.get(), k, 0};
  }

  std::unique_ptr<RawInput> in_;
  std::unique_ptr<char[]> buf_;
  std::string name_;
  ZSTD_DStream* ds_ = nullptr;
  ZSTD_inBuffer zin_{nullptr, 0, 0};
  bool eof_ = false;
  bool frame_done_ = false;
  uint64_t raw_read_ = 0;
};

// Looks at the first bytes (read, never seeked: stdin may be a pipe) and picks the
// decoder. Sets `plain` when the input is not compressed.
std::unique_ptr<ByteSource> open_source(std::unique_ptr<RawInput> in, const std::string& name,
                                        bool& plain) {
  char pre[kSniff];
  size_t k = read_full(*in, pre, kSniff);
  auto magic = [&](const char* m, size_t len) { return k >= len && std::memcmp(pre, m, len) == 0; };
  plain = false;
  if (magic("\x1f\x8b", 2)) return std::make_unique<GzipSource>(std::move(in), pre, k, name);
  if (magic("\x28\xb5\x2f\xfd", 4)) return std::make_unique<ZstdSource>(std::move(in), pre, k, name);
  if (magic("\xfd" "7zXZ\x00", 6))
    throw UserError(name + ": xz-compressed traces are not supported (use gzip or zstd)");
  if (magic("BZh", 3) && k >= 4 && pre[3] >= '1' && pre[3] <= '9')
    throw UserError(name + ": bzip2-compressed traces are not supported (use gzip or zstd)");
  plain = true;
  return std::make_unique<PlainSource>(std::move(in), pre, k);
}

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

// Unsigned decimal, or hexadecimal after 0x / 0X. Bad wins over Overflow.
inline Num parse_u64(std::string_view s, uint64_t& out) {
  const char* p = s.data();
  const char* e = p + s.size();
  if (p == e) return Num::Bad;
  uint64_t v = 0;
  bool over = false;
  if (s.size() > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    for (p += 2; p < e; ++p) {
      unsigned c = static_cast<unsigned char>(*p);
      unsigned d;
      if (c - '0' < 10u) {
        d = c - '0';
      } else if ((c | 0x20u) - 'a' < 6u) {
        d = (c | 0x20u) - 'a' + 10;
      } else {
        return Num::Bad;
      }
      if (v >> 60) over = true;
      v = (v << 4) | d;
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
  if (tok.find('=') != std::string_view::npos || (op == TraceOp::Mmap && tok == "shared"))
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

TraceReader::TraceReader(const std::string& path) {
  int fd = 0;
  bool owned = false;
  if (path == "-") {
    name_ = "<stdin>";
  } else {
    name_ = path;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw UserError(path + ": " + std::strerror(errno));
    owned = true;
  }
  auto in = std::make_unique<FdInput>(fd, owned, name_);  // closes fd from here on
  struct stat st;
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw UserError(name_ + ": " + std::strerror(EISDIR));
    if (S_ISREG(st.st_mode)) {
      input_size_ = static_cast<uint64_t>(st.st_size);
      (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
  }
  src_ = open_source(std::move(in), name_, plain_);
  buf_.reset(new char[kBufSize + 1]);  // + 1: room for the sentinel after the last line
  cap_ = kBufSize;
}

TraceReader TraceReader::from_string(std::string text, std::string name) {
  TraceReader r;
  r.name_ = std::move(name);
  r.input_size_ = text.size();
  r.src_ = open_source(std::make_unique<MemInput>(std::move(text)), r.name_, r.plain_);
  r.buf_.reset(new char[kBufSize + 1]);  // + 1: room for the sentinel after the last line
  r.cap_ = kBufSize;
  return r;
}

TraceReader::~TraceReader() = default;
TraceReader::TraceReader(TraceReader&&) noexcept = default;

uint64_t TraceReader::input_bytes_consumed() const {
  if (plain_ || !src_) return consumed_;
  return src_->raw_consumed();
}

std::string TraceReader::where(uint64_t line) const { return name_ + ":" + std::to_string(line); }

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

bool TraceReader::next(TraceRecord& rec) {
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

bool TraceReader::parse_line(std::string_view text, TraceRecord& rec) {
  Tokens tok{text.data()};
  std::string_view t;
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

  // Positional arguments. An option (key=value, or mmap's `shared`) where a
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

  // Options, in any order.
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

}  // namespace mmusim
