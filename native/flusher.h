// The per-environment background thread (rl-flusher): msync (group commit, one msync per
// segment, run at once on SyncPool helpers), prefault, atomic file
// replace and directory fsync. One per JS environment (main thread or worker); never the
// libuv pool. Completions are delivered to the JS thread with a threadsafe function that
// is referenced only while jobs are in flight, so an idle flusher never keeps a process alive.
#pragma once

#include <node_api.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mapping.h"
#include "sync-pool.h"

namespace rl {

class Flusher {
 public:
  // Creates the threadsafe function and starts the thread. Returns nullptr (with a pending
  // JS exception) on failure.
  static Flusher* Create(napi_env env);
  ~Flusher();

  // Stop the thread after it finishes the jobs already queued (prefaults are abandoned)
  // and join it. Idempotent; JS thread only.
  void Stop();

  // All on the JS thread; each returns a promise.
  napi_value Flush(napi_env env, std::shared_ptr<Mapping> map, uint64_t offset, uint64_t length);
  napi_value Prefault(napi_env env, std::shared_ptr<Mapping> map, uint64_t offset, uint64_t length);
  napi_value AtomicWriteFile(napi_env env, std::string path, std::vector<uint8_t> data);
  napi_value SyncDirectory(napi_env env, std::string path);

  // Resolve close() waiters of a mapping with no job in flight (JS thread).
  static void ResolveCloseWaiters(napi_env env, Mapping& map);

 private:
  enum class Kind { Flush, Prefault, AtomicWrite, SyncDir };
  struct Job {
    Kind kind;
    napi_deferred deferred = nullptr;
    std::shared_ptr<Mapping> map;
    uint64_t offset = 0, length = 0;
    uint64_t progress = 0;  // prefault: bytes done
    std::string path;
    std::vector<uint8_t> data;
  };
  struct Done {
    napi_deferred deferred = nullptr;
    std::shared_ptr<Mapping> map;
    int err = 0;
    const char* syscall = "";
    const char* code = nullptr;  // overrides the errno mapping
    std::string path;
  };

  Flusher() = default;
  napi_value Enqueue(napi_env env, Job&& job);
  // A job over [offset, offset+length) of a mapping (flush, prefault).
  napi_value EnqueueRange(napi_env env, Kind kind, std::shared_ptr<Mapping> map, uint64_t offset, uint64_t length);
  void Run();
  void RunFlushes(std::vector<Job*>& flushes, std::vector<Done>& done);
  void RunAtomicWrite(Job& job, Done& d);
  void RunSyncDir(Job& job, Done& d);
  bool PrefaultStep(Job& job, Done& d);  // true when the job is finished
  void Post(std::vector<Done>& done);
  static void CallJs(napi_env env, napi_value jsCb, void* context, void* data);
  void Settle(napi_env env);

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stop_ = false;      // guarded by mu_
  bool joined_ = false;    // JS thread

  std::mutex doneMu_;
  std::vector<Done> done_;  // guarded by doneMu_
  bool notified_ = false;   // guarded by doneMu_

  napi_threadsafe_function tsfn_ = nullptr;
  int jsPending_ = 0;  // JS thread: jobs enqueued and not yet settled

  // The msyncs of one group commit, one per mapping, run concurrently (flusher thread only).
  SyncPool syncers_{15};
};

// Promise helpers (JS thread).
napi_value ResolvedPromise(napi_env env);
napi_value RejectedPromise(napi_env env, napi_value error);

}  // namespace rl
