#include "thread_pool.h"

#include <system_error>

namespace jrope {

ThreadPool &ThreadPool::instance() {
  // Leaked on purpose: joining workers from a static destructor can deadlock at exit, and a
  // library unloaded by the JVM must not leave a destroyed pool behind running threads.
  static ThreadPool *pool = new ThreadPool();
  return *pool;
}

void ThreadPool::start_workers(int count) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (static_cast<int>(workers_.size()) < count) {
    try {
      const int index = static_cast<int>(workers_.size());
      workers_.emplace_back([this, index] { worker_loop(index); });
    } catch (const std::system_error &) {
      return;  // run with the workers that exist
    }
  }
}

void ThreadPool::run_units() {
  for (;;) {
    const int64_t unit = next_unit_.fetch_add(1, std::memory_order_relaxed);
    if (unit >= units_) {
      return;
    }
    body_(context_, unit);
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen_generation = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    start_cv_.wait(lock, [&] { return generation_ != seen_generation; });
    seen_generation = generation_;
    if (index >= helpers_) {
      continue;
    }

    lock.unlock();
    run_units();
    lock.lock();

    if (--active_helpers_ == 0) {
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::run(int threads, int64_t units, UnitBody body, void *context) {
  int helpers = threads - 1;
  if (helpers > units - 1) {
    helpers = static_cast<int>(units - 1);
  }
  if (helpers > kMaxThreads - 1) {
    helpers = kMaxThreads - 1;
  }
  if (helpers <= 0) {
    for (int64_t unit = 0; unit < units; ++unit) {
      body(context, unit);
    }
    return;
  }

  std::lock_guard<std::mutex> job_lock(job_mutex_);
  start_workers(helpers);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (helpers > static_cast<int>(workers_.size())) {
      helpers = static_cast<int>(workers_.size());
    }
    body_ = body;
    context_ = context;
    units_ = units;
    next_unit_.store(0, std::memory_order_relaxed);
    helpers_ = helpers;
    active_helpers_ = helpers;
    ++generation_;
  }
  start_cv_.notify_all();

  run_units();

  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [&] { return active_helpers_ == 0; });
}

}  // namespace jrope
