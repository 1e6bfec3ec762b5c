// Per-environment state of the addon (napi instance data): one per main thread / worker.
#pragma once

#include <napi.h>

#include "flusher.h"

namespace rl {

struct AddonData {
  Flusher* flusher = nullptr;
  Napi::FunctionReference segmentCtor;
};

AddonData* GetAddonData(napi_env env);

// segment.cc
Napi::Function DefineSegmentClass(Napi::Env env);
Napi::Value JsCreateSegment(const Napi::CallbackInfo& info);
Napi::Value JsOpenSegment(const Napi::CallbackInfo& info);

}  // namespace rl
