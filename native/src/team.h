// A team of threads that run one job at a time with the calling thread. A job is written so that
// any subset of the team can finish it (its threads claim tasks from shared counters), so the caller
// never waits for a worker that has not started: a posted worker that the caller finds still
// asleep when its own part is done is revoked, not waited for (other processes share these cores).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace hero {

class Team {
 public:
  explicit Team(int threads);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  // Threads including the caller.
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs job(index) on the caller (index 0) and on every worker that starts before the caller is
  // done with its own call; returns when all that started have returned.
  void run(const std::function<void(int)>& job);

  // Jobs' shares run by workers, for tests that check the threads really ran.
  long worker_runs() const { return worker_runs_.load(std::memory_order_relaxed); }

 private:
  enum State : int { kIdle = 0, kPosted = 1, kRunning = 2, kStop = 3 };
  struct Worker {
    std::atomic<int> state{kIdle};
    std::thread thread;
  };
  void serve(Worker& w, int index);

  std::vector<Worker*> workers_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<long> worker_runs_{0};
};

// Task counter shared by a job's threads: claim() hands out 0, 1, 2, ... until `count`.
struct Tasks {
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  int count = 0;
  void reset(int n) {
    next.store(0, std::memory_order_relaxed);
    done.store(0, std::memory_order_relaxed);
    count = n;
  }
  int claim() { return next.fetch_add(1, std::memory_order_acq_rel); }
  void finish() { done.fetch_add(1, std::memory_order_acq_rel); }
  // Spin until every task has finished (only after claiming has run dry, so the wait is for
  // tasks other threads are running right now).
  void wait_all() const;
};

// Runs fn(task, thread) for every task in [0, count), the tasks claimed by the team's threads in
// turn; on the caller alone when `alone` (too little work to wake a thread), one task, or one thread.
template <class F>
void run_tasks(Team& team, int64_t count, bool alone, F&& fn) {
  if (alone || count <= 1 || team.size() == 1) {
    for (int64_t t = 0; t < count; t++) fn(t, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  team.run([&](int thread) {
    for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < count;) fn(t, thread);
  });
}

}  // namespace hero
