// A mapped segment file, shared (std::shared_ptr) by the JS handle and background jobs
// (flush, prefault): munmap (and close of the write descriptor) happens when the last of
// them lets go.
//
// The mapping is always PROT_READ. Writes go through the file descriptor (pwrite), the
// lmdb way: page-cache pages then never have writable page-table entries, so writeback
// (msync, or the kernel's own) never has to write-protect them again, which costs a TLB
// shootdown (an IPI to every CPU running this process) per page. Reads see pwrite's bytes
// at once: both are the same page-cache pages.
#pragma once

#include <node_api.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace rl {

struct Mapping {
  uint8_t* base = nullptr;
  size_t size = 0;
  bool readOnly = false;
  // O_RDWR descriptor for writes; -1 for read-only opens.
  int fd = -1;
  std::string path;

  // Set by the flusher thread after a failed msync; writes and flushes refuse from then on.
  std::atomic<bool> failed{false};
  std::atomic<int> failErrno{0};
  // Set by close(): a running prefault stops at its next step.
  std::atomic<bool> cancel{false};

  // JS-thread only: background jobs not yet settled, and close() promises waiting for them.
  int inflight = 0;
  std::vector<napi_deferred> closeWaiters;

  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (base) munmap(base, size);
    if (fd >= 0) close(fd);
  }
};

}  // namespace rl
