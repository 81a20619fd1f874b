// ThreadSanitizer build only (scripts/tsan.sh): proves the stage can fail.
// An unsynchronized write from two threads must end the process with TSan's
// exit code 66 (halt_on_error, cmake/Sanitizers.cmake), and the same writes
// under an absl::Mutex, an absl::CondVar hand-off and an absl::Notification
// must not be reported (tests/sanitizers/tsan_absl_sync.cc tells TSan about
// Debian's uninstrumented abseil; without it every guarded member races).
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace {

constexpr int kRounds = 1000;

// Two threads increment *counter kRounds times each, each increment via `add`.
template <typename Add>
void TwoThreads(Add add) {
  std::thread a([&] { for (int i = 0; i < kRounds; ++i) add(); });
  std::thread b([&] { for (int i = 0; i < kRounds; ++i) add(); });
  a.join();
  b.join();
}

TEST(TsanSelfTest, AnUnsynchronizedWriteIsReportedAndFailsTheProcess) {
  EXPECT_EXIT(
      {
        static int counter = 0;
        TwoThreads([] { counter = counter + 1; });
        std::exit(0);
      },
      testing::ExitedWithCode(66), "ThreadSanitizer: data race");
}

TEST(TsanSelfTest, AbslMutexConditionAndNotificationSynchronize) {
  EXPECT_EXIT(
      {
        static absl::Mutex mu;
        static int counter = 0;  // guarded by mu
        TwoThreads([] {
          absl::MutexLock lock(&mu);
          counter = counter + 1;
        });
        // Hand-off by LockWhen and Await on a Condition that our code
        // evaluates (abseil calls it with mu held, before LockWhen returns).
        static int payload = 0;  // guarded by mu
        std::thread producer([] {
          absl::MutexLock lock(&mu);
          payload = 7;
        });
        {
          absl::MutexLock lock(&mu, absl::Condition(+[](int* p) { return *p >= 7; }, &payload));
        }
        std::thread second([] {
          absl::MutexLock lock(&mu);
          payload = 8;
        });
        {
          absl::MutexLock lock(&mu);
          mu.Await(absl::Condition(+[](int* p) { return *p == 8; }, &payload));
        }
        producer.join();
        second.join();
        // Hand-off by Notification.
        static int message = 0;
        absl::Notification done;
        std::thread sender([&done] {
          message = 42;
          done.Notify();
        });
        done.WaitForNotification();
        const int seen = message;
        sender.join();
        std::exit(counter == 2 * kRounds && seen == 42 ? 0 : 3);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
