// Dropping the last reference to a Mapping off the JS thread: munmap of a large mapping
// whose pages are in the page cache, and close of its descriptor, take milliseconds, which
// retention would otherwise spend on the event loop once per deleted segment.
#pragma once

#include <node_api.h>

#include <memory>

#include "mapping.h"

namespace rl {

// Releases `map` (this caller's reference) on a libuv pool thread. With `promise` non-null,
// *promise becomes a promise that resolves once the release ran (immediately resolved when
// `map` is empty). Falls back to releasing on the calling thread if the work cannot be queued.
void ReleaseMappingOffThread(napi_env env, std::shared_ptr<Mapping> map, napi_value* promise);

}  // namespace rl
