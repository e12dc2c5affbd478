// Micro-benchmarks of the projections over the demo trust (tools/demo.h),
// recorded once per run through an in-process server's CPD API:
// FactStore::Apply of the log, loading the trust's history from the
// FactStore (what every view query does first) and each of the eight views
// over that history (trust scope, the default 180-day window ending a day
// after the demo's last event).
//
// Flags besides Google Benchmark's:
//   --demo_schools=N  schools of the demo trust (default 3)
//   --demo_staff=N    staff of the demo trust (default 150)

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/bench_support.h"
#include "benchmark/benchmark.h"
#include "projections/fact_store.h"
#include "projections/history.h"
#include "projections/views.h"

namespace throughline::bench {
namespace {

constexpr char kTenant[] = "demo-trust";
constexpr size_t kPage = 2000;  // As projections/projector.cc.

int g_demo_schools = 3;
int g_demo_staff = 150;

// The demo trust, recorded once: its log, a FactStore holding it, its
// history and the view parameters.
class Demo {
 public:
  static Demo& Get() {
    if (instance_ == nullptr) instance_ = new Demo();
    return *instance_;
  }
  // Removes the demo's files, if it was recorded.
  static void Release() {
    delete instance_;
    instance_ = nullptr;
  }

  const std::vector<eventstore::RecordedEvent>& log() const { return log_; }
  const std::string& dir() const { return dir_.path(); }
  projections::FactStore* facts() { return facts_.get(); }
  const projections::TrustHistory& history() const { return history_; }
  const projections::ViewParams& params() const { return params_; }
  const std::string& staff_id() const { return staff_id_; }

  absl::StatusOr<projections::TrustHistory> Load(uint64_t position) const {
    projections::TrustHistory history;
    absl::Status s = facts_->Scan(
        kTenant, {}, position,
        [&](projections::Fact&& fact) { history.Add(std::move(fact)); });
    if (!s.ok()) return s;
    return history;
  }

 private:
  Demo() : dir_("throughline-views-bench") {
    cli::DemoOptions options;
    options.schools = g_demo_schools;
    options.staff = g_demo_staff;
    options.now = absl::Now();
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> log =
        RecordDemo(options, dir_.path() + "/server", kTenant);
    if (!log.ok()) {
      std::fprintf(stderr, "recording the demo: %s\n",
                   log.status().ToString().c_str());
      std::exit(1);
    }
    log_ = *std::move(log);
    facts_ = *projections::FactStore::Open(dir_.path() + "/facts");
    for (size_t i = 0; i < log_.size(); i += kPage) {
      std::vector<eventstore::RecordedEvent> page(
          log_.begin() + i, log_.begin() + std::min(log_.size(), i + kPage));
      if (!facts_->Apply(kTenant, page).ok()) std::exit(1);
    }
    history_ = *Load(log_.back().position);
    absl::Time last = absl::InfinitePast();
    for (const eventstore::RecordedEvent& event : log_) {
      last = std::max(last,
                      absl::FromUnixMicros(event.record.occurred_at_micros()));
    }
    params_.scope = projections::Scope::Trust();
    params_.as_of_time = last + absl::Hours(24);
    params_.to = params_.as_of_time;
    params_.from = params_.to - projections::kDefaultWindow;
    params_.as_of_position = log_.back().position;
    for (const auto& [id, member] : history_.state().staff()) {
      if (member.ActiveAt(last) && (staff_id_.empty() || id < staff_id_)) {
        staff_id_ = id;
      }
    }
    std::fprintf(stderr, "demo trust: %zu events, %zu staff\n", log_.size(),
                 history_.state().staff().size());
  }

  static Demo* instance_;  // Benchmarks run on the main thread.

  TempDir dir_;
  std::vector<eventstore::RecordedEvent> log_;
  std::unique_ptr<projections::FactStore> facts_;
  projections::TrustHistory history_;
  projections::ViewParams params_;
  std::string staff_id_;
};
Demo* Demo::instance_ = nullptr;

// FactStore::Apply of the demo log in pages of 2000, as the projector does
// (decode, re-encode as a fact, one unsynced WriteBatch per page); starts
// over as another tenant when the log is used up, so that every write is
// of a new key, as in a rebuild.
void BM_FactStoreApply(benchmark::State& state) {
  Demo& demo = Demo::Get();
  const auto& log = demo.log();
  std::vector<std::vector<eventstore::RecordedEvent>> pages;
  for (size_t i = 0; i < log.size(); i += kPage) {
    pages.emplace_back(log.begin() + i,
                       log.begin() + std::min(log.size(), i + kPage));
  }
  absl::StatusOr<std::unique_ptr<projections::FactStore>> facts =
      projections::FactStore::Open(demo.dir() + "/apply");
  if (!facts.ok()) {
    state.SkipWithError("cannot open a fact store");
    return;
  }
  // Runs share the directory: each starts with tenants of its own.
  static int run = 0;
  ++run;
  int pass = 0;
  std::string tenant = absl::StrCat("apply-", run, "-", pass);
  size_t next = 0;
  uint64_t events = 0;
  for (auto _ : state) {
    if (next == pages.size()) {
      tenant = absl::StrCat("apply-", run, "-", ++pass);
      next = 0;
    }
    if (!(*facts)->Apply(tenant, pages[next]).ok()) {
      state.SkipWithError("apply failed");
      break;
    }
    events += pages[next].size();
    ++next;
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
}
BENCHMARK(BM_FactStoreApply)->Unit(benchmark::kMillisecond)->UseRealTime();

// The first step of every view query: the trust's facts from the FactStore
// into a TrustHistory.
void BM_HistoryLoad(benchmark::State& state) {
  Demo& demo = Demo::Get();
  for (auto _ : state) {
    absl::StatusOr<projections::TrustHistory> history =
        demo.Load(demo.log().back().position);
    if (!history.ok()) state.SkipWithError("load failed");
    benchmark::DoNotOptimize(history);
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(demo.log().size()));
}
BENCHMARK(BM_HistoryLoad)->Unit(benchmark::kMillisecond)->UseRealTime();

// One view over the loaded history.
void BM_View(benchmark::State& state,
             const std::function<bool(Demo&)>& compute) {
  Demo& demo = Demo::Get();
  for (auto _ : state) {
    if (!compute(demo)) state.SkipWithError("view failed");
  }
}

#define THROUGHLINE_VIEW_BENCHMARK(name, expr)   \
  BENCHMARK_CAPTURE(BM_View, name, [](Demo& d) { \
    const auto& h = d.history();                 \
    const auto& p = d.params();                  \
    (void)h;                                     \
    (void)p;                                     \
    return expr;                                 \
  })->Unit(benchmark::kMicrosecond)

THROUGHLINE_VIEW_BENCHMARK(
    EmergentNeeds,
    (benchmark::DoNotOptimize(projections::EmergentNeeds(h, p)), true));
THROUGHLINE_VIEW_BENCHMARK(
    FollowThrough,
    (benchmark::DoNotOptimize(projections::FollowThrough(h, p)), true));
THROUGHLINE_VIEW_BENCHMARK(StaffRecord,
                           projections::StaffRecord(h, p, d.staff_id()).ok());
THROUGHLINE_VIEW_BENCHMARK(
    ConnectingTheDots,
    (benchmark::DoNotOptimize(projections::ConnectingTheDots(h, p)), true));
THROUGHLINE_VIEW_BENCHMARK(
    TimeAndMoney,
    (benchmark::DoNotOptimize(projections::TimeAndMoney(h, p)), true));
THROUGHLINE_VIEW_BENCHMARK(Impact,
                           (benchmark::DoNotOptimize(projections::Impact(h, p)),
                            true));
// Replays each cited position from the loaded history's own facts, as the
// Insights service does.
THROUGHLINE_VIEW_BENCHMARK(DecisionAudit,
                           projections::DecisionAudit(h, p).ok());
THROUGHLINE_VIEW_BENCHMARK(
    ProgrammeDesign,
    (benchmark::DoNotOptimize(projections::ProgrammeDesign(h, p)), true));

}  // namespace
}  // namespace throughline::bench

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    bool ours = false;
    for (const auto& [flag, out] :
         {std::pair("--demo_schools=", &throughline::bench::g_demo_schools),
          std::pair("--demo_staff=", &throughline::bench::g_demo_staff)}) {
      const size_t n = std::strlen(flag);
      if (std::strncmp(argv[i], flag, n) == 0) {
        ours = true;
        if (!absl::SimpleAtoi(argv[i] + n, out) || *out <= 0) {
          std::fprintf(stderr, "%s expects a positive number\n", flag);
          return 2;
        }
      }
    }
    if (!ours) args.push_back(argv[i]);
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  throughline::bench::Demo::Release();
  return 0;
}
