#include "release.h"

#include <utility>

namespace rl {

namespace {

struct ReleaseJob {
  std::shared_ptr<Mapping> map;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

void Execute(napi_env /*env*/, void* data) { static_cast<ReleaseJob*>(data)->map.reset(); }

// JS thread. On napi_cancelled (environment teardown) Execute did not run: the reference
// drops here instead.
void Complete(napi_env env, napi_status /*status*/, void* data) {
  auto* job = static_cast<ReleaseJob*>(data);
  job->map.reset();
  if (job->deferred != nullptr) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, job->deferred, undef);
  }
  napi_delete_async_work(env, job->work);
  delete job;
}

}  // namespace

void ReleaseMappingOffThread(napi_env env, std::shared_ptr<Mapping> map, napi_value* promise) {
  auto* job = new ReleaseJob();
  job->map = std::move(map);
  if (promise != nullptr && napi_create_promise(env, &job->deferred, promise) != napi_ok) {
    job->deferred = nullptr;
    *promise = nullptr;
  }
  napi_value name;
  if (job->map && napi_create_string_utf8(env, "raftledger:releaseMapping", NAPI_AUTO_LENGTH, &name) == napi_ok &&
      napi_create_async_work(env, nullptr, name, Execute, Complete, job, &job->work) == napi_ok) {
    if (napi_queue_async_work(env, job->work) == napi_ok) return;
    napi_delete_async_work(env, job->work);
  }
  // Nothing to release off-thread, or the work could not be queued: release here.
  job->map.reset();
  if (job->deferred != nullptr) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, job->deferred, undef);
  }
  delete job;
}

}  // namespace rl
