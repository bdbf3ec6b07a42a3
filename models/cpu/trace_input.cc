// The input layer of the trace reader; see trace_input.h.
#include "cpu/trace_input.h"

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
#include "common/interrupt.h"

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
      if (errno == EINTR) {
        // A read blocked on a pipe or terminal: stop reading if SIGINT or
        // SIGTERM asked the run to stop (the run then ends as interrupted).
        if (interrupt_signal() != 0) return 0;
        continue;
      }
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

}  // namespace

TraceInput open_trace_input(const std::string& path) {
  TraceInput t;
  int fd = 0;
  bool owned = false;
  if (path == "-") {
    t.name = "<stdin>";
  } else {
    t.name = path;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw UserError(path + ": " + std::strerror(errno));
    owned = true;
  }
  auto in = std::make_unique<FdInput>(fd, owned, t.name);  // closes fd from here on
  struct stat st;
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw UserError(t.name + ": " + std::strerror(EISDIR));
    if (S_ISREG(st.st_mode)) {
      t.size = static_cast<uint64_t>(st.st_size);
      (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
  }
  t.text = open_source(std::move(in), t.name, t.plain);
  return t;
}

TraceInput trace_input_from_string(std::string data, std::string name) {
  TraceInput t;
  t.name = std::move(name);
  t.size = data.size();
  t.text = open_source(std::make_unique<MemInput>(std::move(data)), t.name, t.plain);
  return t;
}

}  // namespace mmusim
