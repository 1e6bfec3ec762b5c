#include "flusher.h"
#include "release.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <unordered_map>

#include "errors.h"

namespace rl {

namespace {

constexpr uint64_t kPrefaultStep = 4u << 20;  // flushes never wait behind more than this

uint64_t PageSize() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

int FsyncRetry(int fd) {
  int rc;
  do rc = fsync(fd);
  while (rc != 0 && errno == EINTR);
  return rc;
}

}  // namespace

napi_value ResolvedPromise(napi_env env) {
  napi_deferred d;
  napi_value promise, undef;
  napi_create_promise(env, &d, &promise);
  napi_get_undefined(env, &undef);
  napi_resolve_deferred(env, d, undef);
  return promise;
}

napi_value RejectedPromise(napi_env env, napi_value error) {
  napi_deferred d;
  napi_value promise;
  napi_create_promise(env, &d, &promise);
  napi_reject_deferred(env, d, error);
  return promise;
}

Flusher* Flusher::Create(napi_env env) {
  std::unique_ptr<Flusher> f(new Flusher());
  napi_value name;
  napi_create_string_utf8(env, "raftledger.flusher", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, f.get(), CallJs,
                                      &f->tsfn_) != napi_ok) {
    napi_throw_error(env, "ERR_IO", "raftledger: cannot create the flusher's threadsafe function");
    return nullptr;
  }
  napi_unref_threadsafe_function(env, f->tsfn_);  // idle: never keeps the loop alive
  try {
    f->thread_ = std::thread([p = f.get()] { p->Run(); });
  } catch (const std::exception&) {
    napi_throw_error(env, "ERR_IO", "raftledger: cannot start the flusher thread");
    return nullptr;
  }
  return f.release();
}

Flusher::~Flusher() { Stop(); }

void Flusher::Stop() {
  if (joined_) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  joined_ = true;
  // Completions that could not be delivered: drop them (their promises die with the env).
  std::lock_guard<std::mutex> lk(doneMu_);
  done_.clear();
}

napi_value Flusher::Enqueue(napi_env env, Job&& job) {
  napi_value promise;
  if (napi_create_promise(env, &job.deferred, &promise) != napi_ok) return nullptr;
  if (joined_) {
    napi_value err = CodeError(Napi::Env(env), "ERR_CLOSED", "raftledger: the flusher has stopped").Value();
    napi_reject_deferred(env, job.deferred, err);
    return promise;
  }
  if (job.map) job.map->inflight++;
  if (jsPending_++ == 0) napi_ref_threadsafe_function(env, tsfn_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return promise;
}

napi_value Flusher::EnqueueRange(napi_env env, Kind kind, std::shared_ptr<Mapping> map, uint64_t offset, uint64_t length) {
  Job j;
  j.kind = kind;
  j.map = std::move(map);
  j.offset = offset;
  j.length = length;
  return Enqueue(env, std::move(j));
}

napi_value Flusher::Flush(napi_env env, std::shared_ptr<Mapping> map, uint64_t offset, uint64_t length) {
  return EnqueueRange(env, Kind::Flush, std::move(map), offset, length);
}

napi_value Flusher::Prefault(napi_env env, std::shared_ptr<Mapping> map, uint64_t offset, uint64_t length) {
  return EnqueueRange(env, Kind::Prefault, std::move(map), offset, length);
}

napi_value Flusher::AtomicWriteFile(napi_env env, std::string path, std::vector<uint8_t> data) {
  Job j;
  j.kind = Kind::AtomicWrite;
  j.path = std::move(path);
  j.data = std::move(data);
  return Enqueue(env, std::move(j));
}

napi_value Flusher::SyncDirectory(napi_env env, std::string path) {
  Job j;
  j.kind = Kind::SyncDir;
  j.path = std::move(path);
  return Enqueue(env, std::move(j));
}

// ------------------------------------------------------------------ background thread

void Flusher::Run() {
#ifdef __linux__
  pthread_setname_np(pthread_self(), "rl-flusher");  // seen in top -H, /proc/<pid>/task/*/comm
#endif
  std::deque<Job> prefaults;  // running prefault jobs, one step at a time
  for (;;) {
    std::deque<Job> batch;
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (prefaults.empty()) cv_.wait(lk, [this] { return stop_ || !queue_.empty(); });
      if (stop_ && queue_.empty()) break;
      batch.swap(queue_);
    }
    std::vector<Done> done;
    // Group commit: every flush queued so far, one msync per mapping.
    std::vector<Job*> flushes;
    for (Job& j : batch)
      if (j.kind == Kind::Flush) flushes.push_back(&j);
    if (!flushes.empty()) RunFlushes(flushes, done);
    for (Job& j : batch) {
      switch (j.kind) {
        case Kind::Flush:
          break;
        case Kind::AtomicWrite:
          done.emplace_back();
          RunAtomicWrite(j, done.back());
          break;
        case Kind::SyncDir:
          done.emplace_back();
          RunSyncDir(j, done.back());
          break;
        case Kind::Prefault:
          prefaults.push_back(std::move(j));
          break;
      }
    }
    if (!done.empty()) Post(done);
    bool stopping;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping = stop_;
    }
    if (stopping) continue;  // drain what is queued, abandon prefaults
    if (!prefaults.empty()) {
      Done d;
      if (PrefaultStep(prefaults.front(), d)) {
        prefaults.pop_front();
        std::vector<Done> one;
        one.push_back(std::move(d));
        Post(one);
      }
    }
  }
}

void Flusher::RunFlushes(std::vector<Job*>& flushes, std::vector<Done>& done) {
  // One entry per mapping, in first-seen order: the union of its requested ranges, and the
  // outcome of its one msync.
  struct Group {
    Mapping* map = nullptr;
    uint64_t lo = UINT64_MAX, hi = 0;
    std::vector<Job*> jobs;
    int err = 0;
    const char* code = nullptr;
  };
  std::vector<Group> groups;
  std::unordered_map<Mapping*, size_t> slotOf;
  for (Job* j : flushes) {
    auto [it, added] = slotOf.emplace(j->map.get(), groups.size());
    if (added) {
      groups.emplace_back();
      groups.back().map = j->map.get();
    }
    Group& g = groups[it->second];
    if (j->length) {
      g.lo = std::min(g.lo, j->offset);
      g.hi = std::max(g.hi, j->offset + j->length);
    }
    g.jobs.push_back(j);
  }
  const uint64_t page = PageSize();
  // All the msyncs at once (see sync-pool.h); each call touches its own Group only.
  syncers_.RunAll(groups.size(), [&](size_t k) {
    Group& g = groups[k];
    Mapping* m = g.map;
    if (m->failed.load()) {
      g.err = m->failErrno.load();
      g.code = "ERR_IO";
    } else if (g.hi > g.lo) {
      const uint64_t a = g.lo & ~(page - 1);
      const uint64_t b = std::min<uint64_t>((g.hi + page - 1) & ~(page - 1), m->size);
      if (msync(m->base + a, b - a, MS_SYNC) != 0) {
        g.err = errno;
        m->failErrno.store(g.err);
        m->failed.store(true);
      }
    }
  });
  for (Group& g : groups) {
    for (Job* j : g.jobs) {
      done.emplace_back();
      Done& d = done.back();
      d.deferred = j->deferred;
      d.map = std::move(j->map);
      d.err = g.err;
      d.code = g.code;
      d.syscall = "msync";
      d.path = g.map->path;
    }
  }
}

void Flusher::RunAtomicWrite(Job& j, Done& d) {
  d.deferred = j.deferred;
  const std::string tmp = j.path + ".tmp";
  auto fail = [&](const char* syscall, const std::string& path) {
    d.err = errno;
    d.syscall = syscall;
    d.path = path;
  };
  int fd;
  do fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail("open", tmp);
  size_t off = 0;
  while (off < j.data.size()) {
    const ssize_t n = write(fd, j.data.data() + off, j.data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", tmp);
      close(fd);
      unlink(tmp.c_str());
      return;
    }
    off += static_cast<size_t>(n);
  }
  if (FsyncRetry(fd) != 0) {
    fail("fsync", tmp);
    close(fd);
    unlink(tmp.c_str());
    return;
  }
  if (close(fd) != 0 && errno != EINTR) {
    fail("close", tmp);
    unlink(tmp.c_str());
    return;
  }
  if (rename(tmp.c_str(), j.path.c_str()) != 0) {
    fail("rename", j.path);
    unlink(tmp.c_str());
    return;
  }
  const std::string dir = DirName(j.path);
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail("open", dir);
  if (FsyncRetry(dfd) != 0) fail("fsync", dir);
  close(dfd);
}

void Flusher::RunSyncDir(Job& j, Done& d) {
  d.deferred = j.deferred;
  const int dfd = open(j.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    d.err = errno;
    d.syscall = "open";
    d.path = j.path;
    return;
  }
  if (FsyncRetry(dfd) != 0) {
    d.err = errno;
    d.syscall = "fsync";
    d.path = j.path;
  }
  close(dfd);
}

bool Flusher::PrefaultStep(Job& j, Done& d) {
  Mapping& m = *j.map;
  const uint64_t page = PageSize();
  bool finished = j.progress >= j.length || m.cancel.load();
  if (!finished) {
    const uint64_t from = j.offset + j.progress;
    const uint64_t to = std::min(j.offset + j.length, from + kPrefaultStep);
    const uint64_t a = from & ~(page - 1);
    int rc;
    // Bring the pages into the page cache (zero pages for unwritten extents, no I/O) so
    // that the writer's pwrite finds them there. The mapping is read-only: populate for reading.
#ifdef MADV_POPULATE_READ
    do rc = madvise(m.base + a, to - a, MADV_POPULATE_READ);
    while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != EINVAL) {
      d.err = errno;
      d.syscall = "madvise";
      d.path = m.path;
      finished = true;
    }
#else
    rc = -1;
#endif
    if (rc != 0 && !finished) {
      // Kernels before 5.14: fault each page in by reading one byte of it.
      for (uint64_t p = a; p < to; p += page) {
        (void)*reinterpret_cast<volatile const uint8_t*>(m.base + p);
      }
    }
    j.progress = to - j.offset;
    if (j.progress >= j.length) finished = true;
  }
  if (finished) {
    d.deferred = j.deferred;
    d.map = std::move(j.map);
    if (d.err == 0) d.syscall = "madvise";
  }
  return finished;
}

// The threadsafe call happens outside doneMu_: it wakes the JS thread, whose Settle takes
// doneMu_ at once, and holding the lock across the call made the JS thread block on it
// (a contended futex on both threads per completion, seen with strace at C=1). A Settle
// that runs between the unlock and the call finds the new completions itself; the call
// then only schedules one Settle with nothing to do.
void Flusher::Post(std::vector<Done>& done) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lk(doneMu_);
    for (Done& d : done) done_.push_back(std::move(d));
    if (!notified_) notified_ = notify = true;
  }
  done.clear();
  if (notify && napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking) != napi_ok) {
    std::lock_guard<std::mutex> lk(doneMu_);
    notified_ = false;
  }
}

// ------------------------------------------------------------------ JS thread

void Flusher::CallJs(napi_env env, napi_value /*jsCb*/, void* context, void* /*data*/) {
  if (env == nullptr) return;  // the environment is being torn down
  static_cast<Flusher*>(context)->Settle(env);
}

void Flusher::ResolveCloseWaiters(napi_env env, Mapping& map) {
  if (map.inflight != 0 || map.closeWaiters.empty()) return;
  std::vector<napi_deferred> waiters;
  waiters.swap(map.closeWaiters);
  napi_value undef;
  napi_get_undefined(env, &undef);
  for (napi_deferred w : waiters) napi_resolve_deferred(env, w, undef);
}

void Flusher::Settle(napi_env env) {
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lk(doneMu_);
    done.swap(done_);
    notified_ = false;
  }
  napi_value undef;
  napi_get_undefined(env, &undef);
  for (Done& d : done) {
    if (d.err == 0) {
      napi_resolve_deferred(env, d.deferred, undef);
    } else {
      napi_value err = nullptr;
      try {
        err = SysError(Napi::Env(env), d.err, d.syscall, d.path, d.code).Value();
      } catch (...) {
        napi_value msg;
        napi_create_string_utf8(env, "raftledger: I/O error", NAPI_AUTO_LENGTH, &msg);
        napi_create_error(env, nullptr, msg, &err);
      }
      napi_reject_deferred(env, d.deferred, err);
    }
    if (d.map) {
      d.map->inflight--;
      ResolveCloseWaiters(env, *d.map);
      // The JS handle closed while this job ran and this is the last reference: munmap
      // off the JS thread.
      if (d.map.use_count() == 1) ReleaseMappingOffThread(env, std::move(d.map), nullptr);
    }
    if (--jsPending_ == 0) napi_unref_threadsafe_function(env, tsfn_);
  }
}

}  // namespace rl
