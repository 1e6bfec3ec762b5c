// NativeSegment: one preallocated, mmap'd segment file (see src/storage/native.ts).
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "addon.h"
#include "release.h"
#include "errors.h"
#include "format.h"
#include "mapping.h"
#include "scan.h"

namespace rl {

namespace {

constexpr uint64_t kMaxSegmentSize = uint64_t{1} << 46;

struct SegmentInit {
  std::shared_ptr<Mapping> map;
  uint64_t originalSize = 0;
};

// Segment files are named by the 20-digit absolute position of their first byte.
bool ParseBaseFromName(const std::string& path, uint64_t* out) {
  const size_t slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.size() != 20) return false;
  uint64_t v = 0;
  for (char ch : name) {
    if (ch < '0' || ch > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (v > fmt::kMaxSafeInteger) return false;
  *out = v;
  return true;
}

int OpenRetry(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do fd = open(path, flags, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

uint64_t GetSegmentSize(Napi::Env env, Napi::Value v) {
  const uint64_t size = GetUint(env, v, "sizeBytes");
  if (size == 0 || size > kMaxSegmentSize) ThrowRangeError(env, "sizeBytes must be between 1 and 2^46");
  return size;
}

// pwrite until done; 0 or an errno. A short write that makes no progress is ENOSPC.
int PwriteAll(int fd, const uint8_t* data, uint64_t length, uint64_t offset) {
  while (length > 0) {
    const ssize_t n = pwrite(fd, data, length, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return ENOSPC;
    data += n;
    length -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

}  // namespace

class Segment : public Napi::ObjectWrap<Segment> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeSegment",
                       {
                           InstanceAccessor<&Segment::GetPath>("path"),
                           InstanceAccessor<&Segment::GetSize>("sizeBytes"),
                           InstanceAccessor<&Segment::GetOriginalSize>("originalSizeBytes"),
                           InstanceAccessor<&Segment::GetClosed>("closed"),
                           InstanceMethod<&Segment::Write>("write"),
                           InstanceMethod<&Segment::Read>("read"),
                           InstanceMethod<&Segment::ReadInto>("readInto"),
                           InstanceMethod<&Segment::Zero>("zero"),
                           InstanceMethod<&Segment::Flush>("flush"),
                           InstanceMethod<&Segment::Prefault>("prefault"),
                           InstanceMethod<&Segment::Scan>("scan"),
                           InstanceMethod<&Segment::FindValidRecord>("findValidRecord"),
                           InstanceMethod<&Segment::Close>("close"),
                       });
  }

  explicit Segment(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Segment>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsExternal()) {
      ThrowTypeError(env, "NativeSegment cannot be constructed directly; use createSegment/openSegment");
    }
    auto* init = info[0].As<Napi::External<SegmentInit>>().Data();
    map_ = std::move(init->map);
    weak_ = map_;
    path_ = map_->path;
    size_ = map_->size;
    originalSize_ = init->originalSize;
    readOnly_ = map_->readOnly;
    hasNameBase_ = ParseBaseFromName(path_, &nameBase_);
  }

 private:
  Mapping& Open(Napi::Env env, const char* what) {
    if (closed_ || !map_) ThrowCode(env, "ERR_CLOSED", std::string(what) + ": the segment is closed: " + path_);
    return *map_;
  }

  void CheckWritable(Napi::Env env, Mapping& m, const char* what) {
    if (readOnly_) ThrowCode(env, "ERR_SEALED", std::string(what) + ": the segment is read-only: " + path_);
    if (m.failed.load()) ThrowSys(env, m.failErrno.load(), "msync", path_, "ERR_IO");
  }

  Napi::Value GetPath(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), path_); }
  Napi::Value GetSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(size_));
  }
  Napi::Value GetOriginalSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(originalSize_));
  }
  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Mapping& m = Open(env, "write");
      const uint64_t offset = GetUint(env, info[0], "offset");
      const Bytes data = GetBytes(env, info[1], "data");
      CheckRange(env, offset, data.length, size_, "write");
      CheckWritable(env, m, "write");
      const int err = PwriteAll(m.fd, data.data, data.length, offset);
      if (err != 0) ThrowSys(env, err, "pwrite", path_);
      return env.Undefined();
    });
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Mapping& m = Open(env, "read");
      const uint64_t offset = GetUint(env, info[0], "offset");
      const uint64_t length = GetUint(env, info[1], "length");
      CheckRange(env, offset, length, size_, "read");
      return Napi::Buffer<uint8_t>::Copy(env, m.base + offset, length);
    });
  }

  Napi::Value ReadInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Mapping& m = Open(env, "readInto");
      const uint64_t offset = GetUint(env, info[0], "offset");
      const uint64_t length = GetUint(env, info[1], "length");
      const Bytes target = GetBytes(env, info[2], "target");
      const uint64_t targetOffset = GetUint(env, info[3], "targetOffset");
      CheckRange(env, offset, length, size_, "readInto (segment)");
      CheckRange(env, targetOffset, length, target.length, "readInto (target)");
      if (length == 0) return env.Undefined();
      uint8_t* dst = target.data + targetOffset;
      // Defensive: a target inside this (always PROT_READ) mapping would fault. No JS
      // buffer aliases the mapping today (the addon hands out copies only).
      if (dst < m.base + size_ && m.base < dst + length) {
        ThrowCode(env, "ERR_SEALED", "readInto: the target lies inside this segment's read-only mapping");
      }
      std::memmove(dst, m.base + offset, length);
      return env.Undefined();
    });
  }

  Napi::Value Zero(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Mapping& m = Open(env, "zero");
      const uint64_t offset = GetUint(env, info[0], "offset");
      const uint64_t length = GetUint(env, info[1], "length");
      CheckRange(env, offset, length, size_, "zero");
      CheckWritable(env, m, "zero");
      static const uint8_t kZeros[64 * 1024] = {};
      for (uint64_t done = 0; done < length;) {
        const uint64_t n = std::min<uint64_t>(length - done, sizeof kZeros);
        const int err = PwriteAll(m.fd, kZeros, n, offset + done);
        if (err != 0) ThrowSys(env, err, "pwrite", path_);
        done += n;
      }
      return env.Undefined();
    });
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Mapping& m = Open(env, "flush");
      const uint64_t offset = GetUint(env, info[0], "offset");
      const uint64_t length = GetUint(env, info[1], "length");
      CheckRange(env, offset, length, size_, "flush");
      if (m.failed.load()) {
        return Napi::Value(env, RejectedPromise(env, SysError(env, m.failErrno.load(), "msync", path_, "ERR_IO").Value()));
      }
      return Napi::Value(env, GetFlusher(env).Flush(env, map_, offset, length));
    });
  }

  Napi::Value Prefault(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Open(env, "prefault");
      uint64_t offset = 0, length = size_;
      if (info.Length() > 0 && !info[0].IsUndefined()) {
        offset = GetUint(env, info[0], "offset");
        length = size_ - std::min(offset, size_);
      }
      if (info.Length() > 1 && !info[1].IsUndefined()) length = GetUint(env, info[1], "length");
      CheckRange(env, offset, length, size_, "prefault");
      if (readOnly_ || length == 0) return Napi::Value(env, ResolvedPromise(env));
      return Napi::Value(env, GetFlusher(env).Prefault(env, map_, offset, length));
    });
  }

  Napi::Value Scan(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Mapping& m = Open(env, "scan");
      const uint64_t start = GetUint(env, info[0], "start");
      const uint64_t end = GetUint(env, info[1], "end");
      if (start > end || end > size_) {
        ThrowRangeError(env, "scan: [start, end) must lie within the segment (start " + std::to_string(start) +
                                 ", end " + std::to_string(end) + ", size " + std::to_string(size_) + ")");
      }
      ScanParams p = ParseScanOptions(env, info[2]);
      p.segment = true;
      if (!p.hasBasePos && hasNameBase_) {
        p.hasBasePos = true;
        p.basePos = nameBase_ + start;
      }
      if (!p.hasSegmentSize) {
        p.hasSegmentSize = true;
        p.segmentSize = size_;
      }
      return ScanOutcomeToJs(env, ScanRecords(m.base, size_, start, end, p));
    });
  }

  Napi::Value FindValidRecord(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      Mapping& m = Open(env, "findValidRecord");
      const uint64_t start = GetUint(env, info[0], "start");
      const uint64_t end = GetUint(env, info[1], "end");
      const uint64_t basePos = GetUint(env, info[2], "basePos");
      if (start > end || end > size_) ThrowRangeError(env, "findValidRecord: [start, end) must lie within the segment");
      const int64_t at = rl::FindValidRecord(m.base, size_, start, end, basePos);
      return Napi::Number::New(env, static_cast<double>(at));
    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guard(env, [&]() -> Napi::Value {
      std::shared_ptr<Mapping> m = closed_ ? weak_.lock() : std::move(map_);
      closed_ = true;
      map_.reset();
      if (!m) return Napi::Value(env, ResolvedPromise(env));
      if (m->inflight == 0) {
        // munmap and close(fd) on a pool thread; the promise resolves once they ran.
        napi_value promise = nullptr;
        rl::ReleaseMappingOffThread(env, std::move(m), &promise);
        return promise != nullptr ? Napi::Value(env, promise) : Napi::Value(env, ResolvedPromise(env));
      }
      m->cancel.store(true);  // a running prefault stops at its next step
      napi_deferred d;
      napi_value promise;
      NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &d, &promise), Napi::Value());
      m->closeWaiters.push_back(d);
      return Napi::Value(env, promise);
    });
  }

  static rl::Flusher& GetFlusher(Napi::Env env) {
    AddonData* data = GetAddonData(env);
    if (!data || !data->flusher) ThrowCode(env, "ERR_CLOSED", "raftledger: the addon's flusher is not running");
    return *data->flusher;
  }

  std::shared_ptr<Mapping> map_;
  std::weak_ptr<Mapping> weak_;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t originalSize_ = 0;
  bool readOnly_ = false;
  bool closed_ = false;
  bool hasNameBase_ = false;
  uint64_t nameBase_ = 0;
};

Napi::Function DefineSegmentClass(Napi::Env env) { return Segment::Define(env); }

namespace {

Napi::Value NewSegment(Napi::Env env, SegmentInit& init) {
  AddonData* data = GetAddonData(env);
  if (!data || data->segmentCtor.IsEmpty()) ThrowCode(env, "ERR_IO", "raftledger: addon not initialized");
  return data->segmentCtor.New({Napi::External<SegmentInit>::New(env, &init)});
}

}  // namespace

Napi::Value JsCreateSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const std::string path = GetString(env, info[0], "path");
    const uint64_t size = GetSegmentSize(env, info[1]);
    const int fd = OpenRetry(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) ThrowSys(env, errno, "open", path);
    auto failAndUnlink = [&](int err, const char* syscall) {
      close(fd);
      unlink(path.c_str());
      ThrowSys(env, err, syscall, path);
    };
    int rc;
    do rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
    while (rc == EINTR);
    if (rc != 0) failAndUnlink(rc, "fallocate");
    void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) failAndUnlink(errno, "mmap");
    SegmentInit init;
    init.map = std::make_shared<Mapping>();
    init.map->fd = fd;  // owned by the mapping from here
    init.map->base = static_cast<uint8_t*>(p);
    init.map->size = size;
    init.map->path = path;
    init.originalSize = size;
    return NewSegment(env, init);
  });
}

Napi::Value JsOpenSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const std::string path = GetString(env, info[0], "path");
    const uint64_t size = GetSegmentSize(env, info[1]);
    bool readOnly = false;
    if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
      if (!info[2].IsObject()) ThrowTypeError(env, "options must be an object");
      Napi::Value ro = info[2].As<Napi::Object>().Get("readOnly");
      if (!ro.IsUndefined()) {
        if (!ro.IsBoolean()) ThrowTypeError(env, "options.readOnly must be a boolean");
        readOnly = ro.As<Napi::Boolean>().Value();
      }
    }
    const int fd = OpenRetry(path.c_str(), (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) ThrowSys(env, errno, "open", path);
    struct FdCloser {
      int fd;
      ~FdCloser() {
        if (fd >= 0) close(fd);
      }
    } closer{fd};
    struct stat st;
    if (fstat(fd, &st) != 0) ThrowSys(env, errno, "fstat", path);
    if (!S_ISREG(st.st_mode)) ThrowSys(env, EINVAL, "open", path, "ERR_IO");
    const uint64_t original = static_cast<uint64_t>(st.st_size);
    if (original > size) {
      Napi::Error e = CodeError(env, "ERR_SEGMENT_SIZE",
                                "openSegment: " + path + " is " + std::to_string(original) +
                                    " bytes, larger than the segment size " + std::to_string(size));
      e.Value().Set("path", Napi::String::New(env, path));
      throw e;
    }
    void* p;
    if (readOnly) {
      // A short file reads as if extended with zeros: anonymous zero pages behind the file.
      p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) ThrowSys(env, errno, "mmap", path);
      if (original > 0 &&
          mmap(p, original, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
        const int err = errno;
        munmap(p, size);
        ThrowSys(env, err, "mmap", path);
      }
    } else {
      // Extends a short file with zeros and allocates any holes so that stores never fault.
      int rc;
      do rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
      while (rc == EINTR);
      if (rc != 0) ThrowSys(env, rc, "fallocate", path);
      p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) ThrowSys(env, errno, "mmap", path);
    }
    SegmentInit init;
    init.map = std::make_shared<Mapping>();
    if (!readOnly) {
      init.map->fd = closer.fd;  // owned by the mapping from here
      closer.fd = -1;
    }
    init.map->base = static_cast<uint8_t*>(p);
    init.map->size = size;
    init.map->path = path;
    init.map->readOnly = readOnly;
    init.originalSize = original;
    return NewSegment(env, init);
  });
}

}  // namespace rl
