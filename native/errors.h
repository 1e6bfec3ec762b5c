// Error helpers: every error the addon throws or rejects with carries a stable `code`
// (see NativeErrorCode in src/storage/native.ts); OS errors also carry errno (the positive
// OS value, e.g. 28 for ENOSPC), syscall and path.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace rl {

inline const char* CodeForErrno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return "ERR_NO_SPACE";
    case EACCES:
    case EPERM:
    case EROFS:
      return "ERR_ACCESS";
    case ENOENT:
      return "ERR_NOT_FOUND";
    case EEXIST:
      return "ERR_EXISTS";
    default:
      return "ERR_IO";
  }
}

inline std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name) return name;
#endif
  return "E" + std::to_string(err);
}

inline std::string StrError(int err) {
  char buf[256];
  // GNU strerror_r returns a char*; the XSI one an int. Handle both.
  auto r = strerror_r(err, buf, sizeof buf);
  if constexpr (std::is_same_v<decltype(r), char*>) {
    return r ? std::string(r) : std::string("unknown error");
  } else {
    return r == 0 ? std::string(buf) : std::string("unknown error");
  }
}

// Build (not throw) an Error for an OS error.
inline Napi::Error SysError(Napi::Env env, int err, const char* syscall, const std::string& path,
                            const char* codeOverride = nullptr) {
  std::string msg = ErrnoName(err) + ": " + StrError(err) + ", " + syscall;
  if (!path.empty()) msg += " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("code", Napi::String::New(env, codeOverride ? codeOverride : CodeForErrno(err)));
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) o.Set("path", Napi::String::New(env, path));
  return e;
}

inline Napi::Error CodeError(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Value().Set("code", Napi::String::New(env, code));
  return e;
}

[[noreturn]] inline void ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& path,
                                  const char* codeOverride = nullptr) {
  throw SysError(env, err, syscall, path, codeOverride);
}

[[noreturn]] inline void ThrowCode(Napi::Env env, const char* code, const std::string& msg) {
  throw CodeError(env, code, msg);
}

[[noreturn]] inline void ThrowTypeError(Napi::Env env, const std::string& msg) {
  Napi::TypeError e = Napi::TypeError::New(env, msg);
  e.Value().Set("code", Napi::String::New(env, "ERR_INVALID_ARG"));
  throw e;
}

[[noreturn]] inline void ThrowRangeError(Napi::Env env, const std::string& msg) {
  Napi::RangeError e = Napi::RangeError::New(env, msg);
  e.Value().Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  throw e;
}

// Runs fn, converting any non-Napi C++ exception into a JS Error so that nothing but
// Napi::Error (which node-addon-api turns into a pending JS exception) leaves a callback.
template <typename Fn>
inline auto Guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    ThrowCode(env, "ERR_IO", "out of memory");
  } catch (const std::exception& e) {
    ThrowCode(env, "ERR_IO", std::string("internal error: ") + e.what());
  } catch (...) {
    ThrowCode(env, "ERR_IO", "internal error");
  }
}

// ------------------------------------------------------------------ argument helpers

// A byte view of any TypedArray or DataView.
struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};

inline bool GetBytesRaw(napi_env env, napi_value v, Bytes* out) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) == napi_ok) {
    size_t elem = 1;
    switch (type) {
      case napi_int8_array:
      case napi_uint8_array:
      case napi_uint8_clamped_array:
        elem = 1;
        break;
      case napi_int16_array:
      case napi_uint16_array:
        elem = 2;
        break;
      case napi_int32_array:
      case napi_uint32_array:
      case napi_float32_array:
        elem = 4;
        break;
      default:
        elem = 8;
        break;
    }
    out->data = static_cast<uint8_t*>(data);
    out->length = length * elem;
    if (out->data == nullptr) out->length = 0;
    return true;
  }
  bool isDv = false;
  if (napi_is_dataview(env, v, &isDv) == napi_ok && isDv) {
    if (napi_get_dataview_info(env, v, &length, &data, nullptr, nullptr) == napi_ok) {
      out->data = static_cast<uint8_t*>(data);
      out->length = data ? length : 0;
      return true;
    }
  }
  return false;
}

inline Bytes GetBytes(Napi::Env env, Napi::Value v, const char* name) {
  Bytes b;
  if (!GetBytesRaw(env, v, &b)) ThrowTypeError(env, std::string(name) + " must be a Uint8Array");
  return b;
}

// A non-negative safe integer (offsets, lengths, positions).
inline uint64_t GetUint(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsNumber()) ThrowTypeError(env, std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
    ThrowRangeError(env, std::string(name) + " must be a non-negative safe integer");
  }
  return static_cast<uint64_t>(d);
}

inline void CheckRange(Napi::Env env, uint64_t offset, uint64_t length, uint64_t size, const char* what) {
  if (offset > size || length > size - offset) {
    ThrowRangeError(env, std::string(what) + ": range [" + std::to_string(offset) + ", " +
                             std::to_string(offset) + " + " + std::to_string(length) + ") is outside [0, " +
                             std::to_string(size) + ")");
  }
}

inline std::string GetString(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsString()) ThrowTypeError(env, std::string(name) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty()) ThrowTypeError(env, std::string(name) + " must not be empty");
  if (s.find('\0') != std::string::npos) ThrowTypeError(env, std::string(name) + " must not contain NUL");
  return s;
}

}  // namespace rl
