// raftledger native addon: entry point. The contract is src/storage/native.ts.
#include "addon.h"

#include <node_api.h>

#include <string>
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
  exports.Set("format", FormatObject(env));
  return exports;
}

}  // namespace rl

static Napi::Object InitRaftledger(Napi::Env env, Napi::Object exports) { return rl::Init(env, exports); }

NODE_API_MODULE(raftledger, InitRaftledger)
