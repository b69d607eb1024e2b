#include "team.h"

#include <immintrin.h>

namespace hero {

namespace {
// About 35 µs of spinning (a pause is ~12 ns here) before a worker sleeps: the next matmul of a
// training step usually comes sooner, and a futex wake costs more; longer would take the core
// from the wasm backend's own workers.
constexpr int kSpins = 3000;

inline void pause() { _mm_pause(); }
}  // namespace

Team::Team(int threads) {
  for (int i = 1; i < threads; i++) workers_.push_back(new Worker());
  for (int i = 0; i < static_cast<int>(workers_.size()); i++) {
    Worker* w = workers_[i];
    w->thread = std::thread([this, w, i] { serve(*w, i + 1); });
  }
}

Team::~Team() {
  for (Worker* w : workers_) {
    w->state.store(kStop, std::memory_order_release);
    w->state.notify_one();
  }
  for (Worker* w : workers_) {
    w->thread.join();
    delete w;
  }
}

void Team::serve(Worker& w, int index) {
  for (;;) {
    int s = w.state.load(std::memory_order_acquire);
    for (int spin = 0; s == kIdle && spin < kSpins; spin++) {
      pause();
      s = w.state.load(std::memory_order_acquire);
    }
    if (s == kIdle) {
      w.state.wait(kIdle, std::memory_order_acquire);
      continue;
    }
    if (s == kStop) return;
    int expected = kPosted;
    // The caller may have revoked the post meanwhile: then there is nothing to run.
    if (!w.state.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel)) continue;
    (*job_)(index);
    worker_runs_.fetch_add(1, std::memory_order_relaxed);
    w.state.store(kIdle, std::memory_order_release);
  }
}

void Team::run(const std::function<void(int)>& job) {
  job_ = &job;
  for (Worker* w : workers_) {
    w->state.store(kPosted, std::memory_order_release);
    w->state.notify_one();
  }
  job(0);
  for (Worker* w : workers_) {
    int expected = kPosted;
    if (w->state.compare_exchange_strong(expected, kIdle, std::memory_order_acq_rel)) continue;
    while (w->state.load(std::memory_order_acquire) == kRunning) pause();
  }
}

void Tasks::wait_all() const {
  while (done.load(std::memory_order_acquire) < count) pause();
}

}  // namespace hero
