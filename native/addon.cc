// raftledger native addon: entry point. The contract is src/storage/native.ts.
#include "addon.h"

#include <node_api.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "crc32c.h"
#include "errors.h"
#include "format.h"
#include "scan.h"

namespace rl {

AddonData* GetAddonData(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<AddonData*>(data);
}

namespace {

// ------------------------------------------------------------------ crc32c (hot path)
// Plain Node-API (no wrapper objects): the 64-byte call must stay in the tens of ns.

napi_value ThrowInvalid(napi_env env, const char* msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return nullptr;
}

template <uint32_t (*Fn)(const uint8_t*, size_t, uint32_t)>
napi_value CrcCall(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Bytes b;
  if (argc < 1 || !GetBytesRaw(env, argv[0], &b)) return ThrowInvalid(env, "crc32c: data must be a Uint8Array");
  uint32_t seed = 0;
  if (argc >= 2 && napi_get_value_uint32(env, argv[1], &seed) != napi_ok) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined) return ThrowInvalid(env, "crc32c: seed must be a number");
    seed = 0;
  }
  napi_value result;
  napi_create_uint32(env, Fn(b.data, b.length, seed), &result);
  return result;
}

napi_value JsCrc32cHardware(napi_env env, napi_callback_info info) {
  if (!Crc32cHardwareAvailable()) {
    return ThrowInvalid(env, "crc32cHardware: this CPU has no CRC32C instructions");
  }
  return CrcCall<Crc32cHardware>(env, info);
}

napi_value JsCrc32cImplementation(napi_env env, napi_callback_info /*info*/) {
  napi_value s;
  napi_create_string_utf8(env, Crc32cImplementation(), NAPI_AUTO_LENGTH, &s);
  return s;
}

// ------------------------------------------------------------------ files

Napi::Value JsAtomicWriteFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::string path = GetString(env, info[0], "path");
    const Bytes b = GetBytes(env, info[1], "data");
    std::vector<uint8_t> data(b.data, b.data + b.length);
    AddonData* d = GetAddonData(env);
    if (!d || !d->flusher) ThrowCode(env, "ERR_CLOSED", "raftledger: the addon's flusher is not running");
    return Napi::Value(env, d->flusher->AtomicWriteFile(env, std::move(path), std::move(data)));
  });
}

Napi::Value JsSyncDirectory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    std::string path = GetString(env, info[0], "path");
    AddonData* d = GetAddonData(env);
    if (!d || !d->flusher) ThrowCode(env, "ERR_CLOSED", "raftledger: the addon's flusher is not running");
    return Napi::Value(env, d->flusher->SyncDirectory(env, std::move(path)));
  });
}

// ------------------------------------------------------------------ directory locks
// lockFile/unlockFile (src/storage/dir-lock.ts): flock(LOCK_EX|LOCK_NB) on a lock file opened
// O_CLOEXEC (children never inherit it). flock locks belong to the open file description, so
// a second lockFile of the same file fails even in the same process. Each held lock is owned
// by the JS environment (main thread or worker) that took it: an environment cleanup hook
// closes it when that environment goes away, so a worker thread that dies without closing
// its logs does not keep their directories locked for the rest of the process's life.

struct HeldLock {
  napi_env env;
  int fd;
};

std::mutex g_locksMutex;
std::unordered_map<int, HeldLock*> g_locks;  // by fd; fds are process-wide

void CloseHeldLockHook(void* arg) {
  auto* h = static_cast<HeldLock*>(arg);
  {
    std::lock_guard<std::mutex> guard(g_locksMutex);
    g_locks.erase(h->fd);
  }
  ::close(h->fd);
  delete h;
}

// lockFile(path, contents) -> fd, or -1 when another open file description holds the lock.
// On success the file's contents are replaced by `contents` (the holder's description).
Napi::Value JsLockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    const std::string path = GetString(env, info[0], "path");
    const Bytes contents = GetBytes(env, info[1], "contents");
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) ThrowSys(env, errno, "open", path);
    int r;
    do {
      r = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (r != 0 && errno == EINTR);
    if (r != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return Napi::Number::New(env, -1);
      ThrowSys(env, err, "flock", path);
    }
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, contents.data, contents.length, 0) != static_cast<ssize_t>(contents.length)) {
      const int err = errno;
      ::close(fd);
      ThrowSys(env, err, "write", path);
    }
    auto* h = new HeldLock{static_cast<napi_env>(env), fd};
    if (napi_add_env_cleanup_hook(env, CloseHeldLockHook, h) != napi_ok) {
      ::close(fd);
      delete h;
      ThrowCode(env, "ERR_IO", "raftledger: cannot register the lock's cleanup hook");
    }
    {
      std::lock_guard<std::mutex> guard(g_locksMutex);
      g_locks[fd] = h;
    }
    return Napi::Number::New(env, fd);
  });
}

// unlockFile(fd): close a descriptor lockFile returned on this thread (releasing the lock).
Napi::Value JsUnlockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&]() -> Napi::Value {
    if (!info[0].IsNumber()) ThrowTypeError(env, "fd must be a number");
    const int fd = info[0].As<Napi::Number>().Int32Value();
    HeldLock* h = nullptr;
    {
      std::lock_guard<std::mutex> guard(g_locksMutex);
      auto it = g_locks.find(fd);
      if (it != g_locks.end() && it->second->env == static_cast<napi_env>(env)) {
        h = it->second;
        g_locks.erase(it);
      }
    }
    if (h == nullptr) ThrowRangeError(env, "unlockFile: fd " + std::to_string(fd) + " is not a lock held by this thread");
    napi_remove_env_cleanup_hook(env, CloseHeldLockHook, h);
    ::close(fd);
    delete h;
    return env.Undefined();
  });
}

// ------------------------------------------------------------------ format constants

Napi::Object FormatObject(Napi::Env env) {
  using namespace fmt;
  auto num = [&](double v) { return Napi::Number::New(env, v); };
  Napi::Object f = Napi::Object::New(env);
  f.Set("version", num(kVersion));
  f.Set("magic", num(kMagic));
  f.Set("headerSizeBytes", num(kHeaderSize));
  f.Set("crcCoveredHeaderBytes", num(kCrcCoveredHeader));
  Napi::Object types = Napi::Object::New(env);
  types.Set("padding", num(kTypePadding));
  types.Set("normal", num(kTypeNormal));
  types.Set("noop", num(kTypeNoop));
  types.Set("config", num(kTypeConfig));
  f.Set("types", types);
  Napi::Object offsets = Napi::Object::New(env);
  offsets.Set("magic", num(kOffMagic));
  offsets.Set("version", num(kOffVersion));
  offsets.Set("type", num(kOffType));
  offsets.Set("flags", num(kOffFlags));
  offsets.Set("totalSize", num(kOffTotalSize));
  offsets.Set("bodySize", num(kOffBodySize));
  offsets.Set("index", num(kOffIndex));
  offsets.Set("term", num(kOffTerm));
  offsets.Set("pos", num(kOffPos));
  offsets.Set("reserved", num(kOffReserved));
  offsets.Set("crc", num(kOffCrc));
  f.Set("offsets", offsets);
  f.Set("slotSizeBytes", num(kSlotSize));
  Napi::Object slot = Napi::Object::New(env);
  slot.Set("pos", num(kSlotOffPos));
  slot.Set("term", num(kSlotOffTerm));
  slot.Set("size", num(kSlotOffSize));
  slot.Set("crc", num(kSlotOffCrc));
  f.Set("slotOffsets", slot);
  f.Freeze();
  return f;
}

// ------------------------------------------------------------------ lifecycle

void StopFlusherHook(void* arg) { static_cast<Flusher*>(arg)->Stop(); }

void FinalizeAddonData(napi_env env, void* data, void* /*hint*/) {
  auto* d = static_cast<AddonData*>(data);
  if (d->flusher) {
    napi_remove_env_cleanup_hook(env, StopFlusherHook, d->flusher);
    delete d->flusher;  // stops and joins if the hook has not run
    d->flusher = nullptr;
  }
  d->segmentCtor.SuppressDestruct();
  delete d;
}

void SetRaw(Napi::Env env, Napi::Object exports, const char* name, napi_callback cb) {
  napi_value fn;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn));
  exports.Set(name, Napi::Value(env, fn));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  // The threadsafe function is created before our cleanup hook is registered, so the hook
  // (hooks run in reverse order) joins the thread before Node tears the function down.
  data->flusher = Flusher::Create(env);
  if (!data->flusher) {
    delete data;
    throw Napi::Error::New(env);  // from the pending exception
  }
  napi_add_env_cleanup_hook(env, StopFlusherHook, data->flusher);
  data->segmentCtor = Napi::Persistent(DefineSegmentClass(env));
  if (napi_set_instance_data(env, data, FinalizeAddonData, nullptr) != napi_ok) {
    throw Napi::Error::New(env, "raftledger: cannot set instance data");
  }

  SetRaw(env, exports, "crc32c", CrcCall<Crc32c>);
  SetRaw(env, exports, "crc32cPortable", CrcCall<Crc32cPortable>);
  SetRaw(env, exports, "crc32cHardware", JsCrc32cHardware);
  SetRaw(env, exports, "crc32cImplementation", JsCrc32cImplementation);
  exports.Set("sealRecords", Napi::Function::New(env, JsSealRecords, "sealRecords"));
  exports.Set("scanRecords", Napi::Function::New(env, JsScanRecords, "scanRecords"));
  exports.Set("findBadRecordCrc", Napi::Function::New(env, JsFindBadRecordCrc, "findBadRecordCrc"));
  exports.Set("createSegment", Napi::Function::New(env, JsCreateSegment, "createSegment"));
  exports.Set("openSegment", Napi::Function::New(env, JsOpenSegment, "openSegment"));
  exports.Set("atomicWriteFile", Napi::Function::New(env, JsAtomicWriteFile, "atomicWriteFile"));
  exports.Set("syncDirectory", Napi::Function::New(env, JsSyncDirectory, "syncDirectory"));
  exports.Set("lockFile", Napi::Function::New(env, JsLockFile, "lockFile"));
  exports.Set("unlockFile", Napi::Function::New(env, JsUnlockFile, "unlockFile"));
  exports.Set("format", FormatObject(env));
  return exports;
}

}  // namespace rl

static Napi::Object InitRaftledger(Napi::Env env, Napi::Object exports) { return rl::Init(env, exports); }

NODE_API_MODULE(raftledger, InitRaftledger)
