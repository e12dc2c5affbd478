// Micro-benchmarks of the event store on a real RocksDB in a temporary
// directory: appends (one event and 100 events, 1 to 64 concurrent writers,
// synced as in production), log and stream reads, and idempotency lookups.
// Compare figures within one run: the ratio between concurrent and
// single-writer throughput shows what group commit buys.
//
// Flags besides Google Benchmark's:
//   --store_events=N  events in the store the read benchmarks use (default
//                     200000; 300-byte events over 1000 streams)

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "eventstore/event_store.h"

namespace throughline::eventstore {
namespace {

constexpr char kTenant[] = "bench";
constexpr uint64_t kStreams = 1000;
uint64_t g_store_events = 200000;

std::string Uuid(uint64_t hi, uint64_t lo) {
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32,
                         (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                         lo & 0xffffffffffffull);
}

std::filesystem::path TempPath(absl::string_view what) {
  return std::filesystem::temp_directory_path() /
         absl::StrCat("throughline-bench-", what, "-", getpid());
}

// Event ids as clients make them: random (UUIDv4), or ordered by time
// (UUIDv7-like: here by the writer's counter, so keys arrive nearly in
// order).
enum class Ids { kRandom, kOrdered };

// `batch` events of 300 bytes for stream session-<n % 1000>; ordered event
// ids from (n, `writer`).
AppendRequest MakeAppend(uint64_t writer, uint64_t n, size_t batch, Ids ids,
                         absl::BitGen& gen) {
  AppendRequest request;
  request.tenant = kTenant;
  request.stream = absl::StrCat("session-", n % kStreams);
  for (size_t i = 0; i < batch; ++i) {
    ProposedEvent event;
    event.event_id = ids == Ids::kRandom ? Uuid(absl::Uniform<uint64_t>(gen),
                                                absl::Uniform<uint64_t>(gen))
                                         : Uuid(n * batch + i, writer);
    event.type = "SessionHeld";
    event.data = std::string(300, 'x');
    request.events.push_back(std::move(event));
  }
  return request;
}

// A fresh synced store per benchmark, for appends.
class StoreFixture : public benchmark::Fixture {
 public:
  void SetUp(const benchmark::State& state) override {
    if (state.thread_index() != 0) return;
    path_ = TempPath("append");
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
  void AppendOne(benchmark::State& state, uint64_t n, size_t batch,
                 Ids ids = Ids::kRandom) {
    // The fixture object is shared by the benchmark's threads.
    thread_local absl::BitGen gen;
    if (!store_
             ->Append(MakeAppend(state.thread_index() + 1, n, batch, ids, gen))
             .ok()) {
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
    ->Threads(64)
    ->UseRealTime();

// The same with time-ordered ids: the ids column family then grows at its
// end instead of at random places.
BENCHMARK_DEFINE_F(StoreFixture, SingleEventAppendOrderedIds)
(benchmark::State& state) {
  uint64_t n = 0;
  for (auto _ : state) AppendOne(state, n++, 1, Ids::kOrdered);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_REGISTER_F(StoreFixture, SingleEventAppendOrderedIds)
    ->Threads(64)
    ->UseRealTime();

BENCHMARK_DEFINE_F(StoreFixture, HundredEventAppendOrderedIds)
(benchmark::State& state) {
  uint64_t n = 0;
  for (auto _ : state) AppendOne(state, n++, 100, Ids::kOrdered);
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK_REGISTER_F(StoreFixture, HundredEventAppendOrderedIds)
    ->Threads(64)
    ->UseRealTime();

// The store the read benchmarks share: g_store_events events appended with
// sync off (setup speed; reads do not depend on it), 100 per append.
class ReadStore {
 public:
  static ReadStore& Get() {
    absl::MutexLock lock(&instance_mu_);
    if (instance_ == nullptr) instance_ = new ReadStore();
    return *instance_;
  }
  // Closes and removes the store, if it was made.
  static void Destroy() {
    absl::MutexLock lock(&instance_mu_);
    delete instance_;
    instance_ = nullptr;
  }
  EventStore* store() { return store_.get(); }
  uint64_t head() const { return head_; }
  // The id of the event appended as number `i` (0-based).
  static std::string IdOf(uint64_t i) { return Uuid(0x7e57, i); }

 private:
  ReadStore() : path_(TempPath("read")) {
    std::filesystem::remove_all(path_);
    EventStoreOptions options;
    options.path = path_;
    options.sync = false;
    store_ = *EventStore::Open(options);
    absl::Mutex mu;
    uint64_t pending = 0;
    constexpr uint64_t kBatch = 100;
    for (uint64_t first = 0; first < g_store_events; first += kBatch) {
      AppendRequest request;
      request.tenant = kTenant;
      request.stream = absl::StrCat("session-", (first / kBatch) % kStreams);
      for (uint64_t i = first; i < std::min(first + kBatch, g_store_events);
           ++i) {
        ProposedEvent event;
        event.event_id = IdOf(i);
        event.type = "SessionHeld";
        event.data = std::string(300, 'x');
        request.events.push_back(std::move(event));
      }
      {
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(
            +[](uint64_t* p) { return *p < 1000; }, &pending));
        ++pending;
      }
      store_->AppendAsync(std::move(request),
                          [&](absl::StatusOr<AppendResult> result) {
                            if (!result.ok()) std::abort();
                            absl::MutexLock lock(&mu);
                            --pending;
                          });
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](uint64_t* p) { return *p == 0; }, &pending));
    head_ = *store_->HeadPosition(kTenant);
  }
  ~ReadStore() {
    store_.reset();
    std::filesystem::remove_all(path_);
  }

  static absl::Mutex instance_mu_;
  static ReadStore* instance_ ABSL_GUARDED_BY(instance_mu_);

  std::filesystem::path path_;
  std::unique_ptr<EventStore> store_;
  uint64_t head_ = 0;
};
absl::Mutex ReadStore::instance_mu_(absl::kConstInit);
ReadStore* ReadStore::instance_ = nullptr;

// Catch-up reads: a page of state.range(0) events from a random position.
void BM_ReadLog(benchmark::State& state) {
  ReadStore& read = ReadStore::Get();
  const size_t count = static_cast<size_t>(state.range(0));
  absl::BitGen gen;
  uint64_t events = 0;
  for (auto _ : state) {
    const uint64_t from = absl::Uniform<uint64_t>(
        gen, 1, read.head() > count ? read.head() - count + 2 : 2);
    absl::StatusOr<LogPage> page =
        read.store()->ReadLog(kTenant, from, LogFilter(), count);
    if (!page.ok()) {
      state.SkipWithError("ReadLog failed");
      break;
    }
    events += page->events.size();
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
}
BENCHMARK(BM_ReadLog)->Arg(1000)->Arg(10000)->ThreadRange(1, 2)->UseRealTime();

// A stream's first state.range(0) events.
void BM_ReadStream(benchmark::State& state) {
  ReadStore& read = ReadStore::Get();
  const size_t count = static_cast<size_t>(state.range(0));
  // The streams the store holds (100 events each, round robin).
  const uint64_t streams =
      std::min<uint64_t>(kStreams, (g_store_events + 99) / 100);
  absl::BitGen gen;
  uint64_t events = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<RecordedEvent>> page = read.store()->ReadStream(
        kTenant,
        absl::StrCat("session-", absl::Uniform<uint64_t>(gen, 0, streams)), 0,
        false, count);
    if (!page.ok()) {
      state.SkipWithError("ReadStream failed");
      break;
    }
    events += page->size();
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
}
BENCHMARK(BM_ReadStream)->Arg(1)->Arg(100)->UseRealTime();

// The idempotency lookup alone: FindEvent of a stored id (ids column
// family, then the log).
void BM_IdLookup(benchmark::State& state) {
  ReadStore& read = ReadStore::Get();
  absl::BitGen gen;
  for (auto _ : state) {
    absl::StatusOr<std::optional<RecordedEvent>> found =
        read.store()->FindEvent(
            kTenant, ReadStore::IdOf(absl::Uniform<uint64_t>(
                         gen, 0, std::min(g_store_events, read.head()))));
    if (!found.ok() || !found->has_value()) state.SkipWithError("not found");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IdLookup)->UseRealTime();

// A retried append (same id, same content) through the committer: found
// by its stored id, answered "already stored", nothing written or synced.
void BM_IdempotentRetry(benchmark::State& state) {
  ReadStore& read = ReadStore::Get();
  absl::BitGen gen;
  for (auto _ : state) {
    const uint64_t i = absl::Uniform<uint64_t>(gen, 0, g_store_events);
    AppendRequest request;
    request.tenant = kTenant;
    request.stream = absl::StrCat("session-", (i / 100) % kStreams);
    ProposedEvent event;
    event.event_id = ReadStore::IdOf(i);
    event.type = "SessionHeld";
    event.data = std::string(300, 'x');
    request.events.push_back(std::move(event));
    absl::StatusOr<AppendResult> result =
        read.store()->Append(std::move(request));
    if (!result.ok() || !result->already_stored) {
      state.SkipWithError("retry was not answered as already stored");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IdempotentRetry)->Threads(1)->Threads(8)->UseRealTime();

}  // namespace
}  // namespace throughline::eventstore

int main(int argc, char** argv) {
  // Our own flags first; Google Benchmark refuses what it does not know.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr char kFlag[] = "--store_events=";
    if (std::strncmp(argv[i], kFlag, sizeof(kFlag) - 1) == 0) {
      if (!absl::SimpleAtoi(argv[i] + sizeof(kFlag) - 1,
                            &throughline::eventstore::g_store_events) ||
          throughline::eventstore::g_store_events == 0) {
        std::fprintf(stderr, "--store_events: expected a positive number\n");
        return 2;
      }
      continue;
    }
    args.push_back(argv[i]);
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  throughline::eventstore::ReadStore::Destroy();
  return 0;
}
