#include "sync-pool.h"

#include <pthread.h>

#include <algorithm>
#include <system_error>

namespace rl {

SyncPool::~SyncPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_.notify_all();
  for (std::thread& t : helpers_) t.join();
}

void SyncPool::RunAll(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (n == 1 || maxHelpers_ == 0) {
    for (size_t i = 0; i < n; i++) fn(i);
    return;
  }
  std::unique_lock<std::mutex> lk(mu_);
  fn_ = &fn;
  n_ = n;
  next_ = 0;
  remaining_ = n;
  const size_t want = std::min(maxHelpers_, n - 1);
  while (helpers_.size() < want) {
    try {
      helpers_.emplace_back([this] { Loop(); });
    } catch (const std::system_error&) {
      break;  // fewer helpers (or none): the calling thread does the rest
    }
  }
  work_.notify_all();
  while (next_ < n_) {
    const size_t i = next_++;
    lk.unlock();
    fn(i);
    lk.lock();
    remaining_--;
  }
  done_.wait(lk, [this] { return remaining_ == 0; });
  fn_ = nullptr;
  n_ = next_ = 0;
}

void SyncPool::Loop() {
#ifdef __linux__
  pthread_setname_np(pthread_self(), "rl-sync");  // seen in top -H, /proc/<pid>/task/*/comm
#endif
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    work_.wait(lk, [this] { return stop_ || next_ < n_; });
    if (stop_) return;
    const size_t i = next_++;
    const std::function<void(size_t)>* fn = fn_;
    lk.unlock();
    (*fn)(i);
    lk.lock();
    if (--remaining_ == 0) done_.notify_one();
  }
}

}  // namespace rl
