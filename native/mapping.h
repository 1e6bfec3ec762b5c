// A mapped segment file, shared (std::shared_ptr) by the JS handle, zero-copy views and
// background jobs: munmap happens when the last of them lets go.
#pragma once

#include <node_api.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace rl {

struct Mapping {
  uint8_t* base = nullptr;
  size_t size = 0;
  bool readOnly = false;
  std::string path;

  // Serializes protection changes (seal/unseal) with the flusher thread touching pages
  // (prefault), so that a page is never written while it is read-only.
  std::mutex protMu;
  bool protReadOnly = false;  // guarded by protMu

  // Set by the flusher thread after a failed msync; writes and flushes refuse from then on.
  std::atomic<bool> failed{false};
  std::atomic<int> failErrno{0};
  // Set by close(): a running prefault stops at its next step.
  std::atomic<bool> cancel{false};
  // Zero-copy views alive (decremented by their finalizers).
  std::atomic<int> liveViews{0};

  // JS-thread only: background jobs not yet settled, and close() promises waiting for them.
  int inflight = 0;
  std::vector<napi_deferred> closeWaiters;

  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (base) munmap(base, size);
  }
};

}  // namespace rl
