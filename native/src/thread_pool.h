// Persistent worker threads shared by every call of the library.
#ifndef JROPE_THREAD_POOL_H
#define JROPE_THREAD_POOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace jrope {

// Upper bound of the threads one call may request.
constexpr int kMaxThreads = 256;

class ThreadPool {
 public:
  // Body of a job: runs one unit. It must not throw; report failures through the context.
  typedef void (*UnitBody)(void *context, int64_t unit);

  // Returns the process-wide pool. It is never destroyed, so its workers stay parked until exit.
  static ThreadPool &instance();

  // Runs body for every unit in [0, units) on the calling thread plus up to threads - 1 workers,
  // and returns when all units are done. Calls from several threads run one job at a time.
  // Workers start on first need; if a worker cannot be started, the available ones do the job.
  void run(int threads, int64_t units, UnitBody body, void *context);

 private:
  ThreadPool() = default;
  void start_workers(int count);
  void worker_loop(int index);
  void run_units();

  std::mutex job_mutex_;  // held for a whole job

  std::mutex mutex_;  // guards the fields below up to units_
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  std::vector<std::thread> workers_;
  uint64_t generation_ = 0;
  int helpers_ = 0;  // workers with index < helpers_ take part in the current job
  int active_helpers_ = 0;

  UnitBody body_ = nullptr;
  void *context_ = nullptr;
  int64_t units_ = 0;
  std::atomic<int64_t> next_unit_{0};
};

}  // namespace jrope

#endif  // JROPE_THREAD_POOL_H
