#pragma once
// A second thread that runs one job at a time while the caller does its own share. The simulator
// hands it a job per window of simulated time, thousands of times a second, so both sides spin
// briefly before they sleep.
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>
#include <utility>

namespace shoal::sim {

class Helper {
  public:
    Helper() : thread_([this] { loop(); }) {}
    ~Helper() {
        stop_.store(true, std::memory_order_relaxed);
        posted_.fetch_add(1, std::memory_order_release);
        posted_.notify_one();
        thread_.join();
    }
    Helper(const Helper&) = delete;
    Helper& operator=(const Helper&) = delete;

    // Runs `job` on the helper thread; wait() returns once it has finished, and throws what the
    // job threw (an exception must not end the process from the helper, nor be lost).
    void post(std::function<void()> job) {
        job_ = std::move(job);
        posted_.fetch_add(1, std::memory_order_release);
        posted_.notify_one();
    }
    void wait() {
        const std::uint64_t want = posted_.load(std::memory_order_relaxed);
        await(done_, want);
        if (failed_) std::rethrow_exception(std::exchange(failed_, nullptr));
    }

  private:
    static void await(std::atomic<std::uint64_t>& a, std::uint64_t want) {
        constexpr int kSpins = 200000;  // about a millisecond: longer than most windows take
        for (int spins = 0;;) {
            std::uint64_t v = a.load(std::memory_order_acquire);
            if (v == want) return;
            if (spins < kSpins)
                ++spins;
            else
                a.wait(v, std::memory_order_acquire);
        }
    }
    void loop() {
        for (std::uint64_t seen = 0;;) {
            await(posted_, seen + 1);
            seen += 1;
            if (stop_.load(std::memory_order_relaxed)) return;
            try {
                job_();
            } catch (...) {
                failed_ = std::current_exception();
            }
            done_.store(seen, std::memory_order_release);
            done_.notify_one();
        }
    }

    std::function<void()> job_;
    std::exception_ptr failed_;  // written by the helper before `done_`, read after it
    std::atomic<std::uint64_t> posted_{0}, done_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;  // last: it starts once the rest is built
};

}  // namespace shoal::sim
