// Micro-benchmarks of the event store's append path on a real RocksDB in a
// temporary directory. Compare figures within one run: the ratio between
// concurrent and single-writer throughput shows what group commit buys.

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "eventstore/event_store.h"

namespace throughline::eventstore {
namespace {

std::string Uuid(uint64_t hi, uint64_t lo) {
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32,
                         (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                         lo & 0xffffffffffffull);
}

class StoreFixture : public benchmark::Fixture {
 public:
  void SetUp(const benchmark::State& state) override {
    if (state.thread_index() != 0) return;
    path_ = std::filesystem::temp_directory_path() /
            absl::StrCat("throughline-bench-", getpid());
    std::filesystem::remove_all(path_);
    EventStoreOptions options;
    options.path = path_;
    store_ = *EventStore::Open(options);
  }
  void TearDown(const benchmark::State& state) override {
    if (state.thread_index() != 0) return;
    store_.reset();
    std::filesystem::remove_all(path_);
  }

 protected:
  // Appends `batch` events of ~300 bytes to one of 1000 streams.
  void AppendOne(benchmark::State& state, uint64_t n, size_t batch) {
    AppendRequest request;
    request.tenant = "bench";
    request.stream = absl::StrCat("session-", n % 1000);
    for (size_t i = 0; i < batch; ++i) {
      ProposedEvent event;
      event.event_id = Uuid(state.thread_index() + 1, n * batch + i);
      event.type = "SessionHeld";
      event.data = std::string(300, 'x');
      request.events.push_back(std::move(event));
    }
    if (!store_->Append(std::move(request)).ok()) {
      state.SkipWithError("append failed");
    }
  }

  std::filesystem::path path_;
  std::unique_ptr<EventStore> store_;
};

BENCHMARK_DEFINE_F(StoreFixture, SingleEventAppend)(benchmark::State& state) {
  uint64_t n = 0;
  for (auto _ : state) AppendOne(state, n++, 1);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_REGISTER_F(StoreFixture, SingleEventAppend)
    ->Threads(1)
    ->Threads(8)
    ->Threads(64)
    ->UseRealTime();

BENCHMARK_DEFINE_F(StoreFixture, HundredEventAppend)(benchmark::State& state) {
  uint64_t n = 0;
  for (auto _ : state) AppendOne(state, n++, 100);
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK_REGISTER_F(StoreFixture, HundredEventAppend)
    ->Threads(1)
    ->Threads(8)
    ->UseRealTime();

}  // namespace
}  // namespace throughline::eventstore

BENCHMARK_MAIN();
