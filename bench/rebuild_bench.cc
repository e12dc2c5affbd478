// throughline-rebuild-bench: how fast the views are rebuilt from a large
// trust's log, and how long each view query takes over the result.
//
// Setup (timed, but not the figure): the demo trust (tools/demo.h) is sent
// through an in-process server's CPD API, and its recorded year is copied
// into a --events-event log of many academic years (bench_support.h,
// TrustYears), appended straight to an EventStore with sync off.
//
// Then, each timed on its own:
//   read      ReadLog over the whole log in pages of 2,000 (the projector's
//             page), discarding the events;
//   apply     FactStore::Apply of those pages, from memory, into an empty
//             FactStore;
//   rebuild   a Projector started on another empty FactStore, until its
//             checkpoint reaches the head: read + apply as the server does
//             after a version change or RebuildViews. The headline figure.
//   history   loading the trust's history from the FactStore (Scan of every
//             fact + TrustHistory::Add), what each view query does first;
//   views     each of the eight views over that history (trust scope, the
//             default 180-day window ending a day after the last event).

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/bench_support.h"
#include "bench/flags.h"
#include "eventstore/event_store.h"
#include "projections/fact_store.h"
#include "projections/history.h"
#include "projections/projector.h"
#include "projections/views.h"

namespace throughline::bench {
namespace {

constexpr char kTenant[] = "rebuild-trust";
constexpr size_t kPage = 2000;  // As projections/projector.cc.

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Bytes allocated with malloc and in use (glibc's count).
size_t HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

long PeakRssMib() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

struct Row {
  std::string key;  // For --json.
  std::string phase;
  uint64_t events = 0;
  double seconds = 0;
};

void Fail(const absl::Status& status, const std::string& what) {
  std::fprintf(stderr, "throughline-rebuild-bench: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::exit(1);
}

int Main(int argc, char** argv) {
  Flags flags({
      {"events", "1000000", "events in the generated trust's log"},
      {"smoke", "false",
       "a tiny run for CI: ~2,000 events from a one-school demo", true},
      {"demo-schools", "8", "schools of the demo year (1 to 8)"},
      {"demo-staff", "1200",
       "staff of the demo year (12 per school to ~1800: above that the demo "
       "generator plans sessions larger than the server accepts)"},
      {"dir", "",
       "working directory, kept at the end (default: a fresh one under "
       "$TMPDIR, removed at the end)"},
      {"reuse", "false",
       "with --dir: time a log generated there by an earlier run with the "
       "same --events instead of generating one (for profiling)",
       true},
      {"json", "false", "also print the results as one line of JSON", true},
  });
  if (absl::Status s = flags.Parse(argc, argv); !s.ok()) {
    std::fprintf(stderr, "throughline-rebuild-bench: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  if (flags.help()) {
    std::fputs(flags
                   .Usage("throughline-rebuild-bench",
                          "Times a full rebuild of the views over a "
                          "generated trust, and each view query.")
                   .c_str(),
               stdout);
    return 0;
  }
  int64_t events = 0, schools = 0, staff = 0;
  const bool smoke = flags.Bool("smoke");
  for (const auto& [name, out] :
       {std::pair("events", &events), std::pair("demo-schools", &schools),
        std::pair("demo-staff", &staff)}) {
    if (absl::Status s = flags.Int(name, 1, out); !s.ok()) Fail(s, "flags");
  }
  if (smoke) {
    if (!flags.IsSet("events")) events = 2000;
    if (!flags.IsSet("demo-schools")) schools = 1;
    if (!flags.IsSet("demo-staff")) staff = 24;
  }

  std::unique_ptr<TempDir> temp;
  std::string dir = flags.String("dir");
  if (dir.empty()) {
    temp = std::make_unique<TempDir>("throughline-rebuild");
    dir = temp->path();
  } else {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
      Fail(absl::UnavailableError(error.message()), "creating " + dir);
    }
  }

  // Views are always rebuilt from nothing.
  for (const char* views : {"/views", "/views-apply"}) {
    std::error_code ignored;
    std::filesystem::remove_all(dir + views, ignored);
  }
  eventstore::EventStoreOptions store_options;
  store_options.path = dir + "/log";
  store_options.sync = false;
  absl::StatusOr<std::unique_ptr<eventstore::EventStore>> store =
      eventstore::EventStore::Open(store_options);
  if (!store.ok()) Fail(store.status(), "opening the event store");
  absl::StatusOr<uint64_t> head = (*store)->HeadPosition(kTenant);
  if (!head.ok()) Fail(head.status(), "reading the head");
  uint64_t demo_events = 0;
  int year_count = 0;
  if (*head > 0 && flags.Bool("reuse") &&
      *head == static_cast<uint64_t>(events)) {
    std::printf("throughline-rebuild-bench: reusing the %llu-event log in %s\n",
                static_cast<unsigned long long>(*head), dir.c_str());
  } else if (*head > 0) {
    Fail(absl::FailedPreconditionError(absl::StrCat(
             dir, "/log already holds ", *head,
             " events (use --reuse with the same --events, or another --dir)")),
         "opening the event store");
  } else {
    // 1. One demo year, recorded by a real server.
    cli::DemoOptions demo_options;
    demo_options.schools = static_cast<int>(schools);
    demo_options.staff = static_cast<int>(staff);
    demo_options.now = absl::Now();
    Clock::time_point start = Clock::now();
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> demo =
        RecordDemo(demo_options, dir + "/demo", "demo-trust");
    if (!demo.ok()) Fail(demo.status(), "recording the demo");
    const double demo_seconds = SecondsSince(start);
    demo_events = demo->size();
    std::error_code ignored;
    std::filesystem::remove_all(dir + "/demo", ignored);

    // 2. The long log, appended with sync off.
    TrustYears years(*std::move(demo));
    year_count = years.YearsFor(static_cast<uint64_t>(events));
    absl::Mutex mu;
    uint64_t in_flight = 0, failed = 0;
    absl::Status first_error;
    start = Clock::now();
    const uint64_t proposed = years.Generate(
        year_count, static_cast<uint64_t>(events), kTenant,
        [&](eventstore::AppendRequest request) {
          {
            absl::MutexLock lock(&mu);
            mu.Await(absl::Condition(
                +[](uint64_t* n) { return *n < 20000; }, &in_flight));
            ++in_flight;
          }
          (*store)->AppendAsync(
              std::move(request),
              [&](absl::StatusOr<eventstore::AppendResult> result) {
                absl::MutexLock lock(&mu);
                --in_flight;
                if (!result.ok()) {
                  if (failed++ == 0) first_error = result.status();
                }
              });
        });
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](uint64_t* n) { return *n == 0; }, &in_flight));
    }
    const double generate_seconds = SecondsSince(start);
    if (failed > 0) Fail(first_error, absl::StrCat(failed, " appends failed"));
    head = (*store)->HeadPosition(kTenant);
    if (!head.ok()) Fail(head.status(), "reading the head");
    std::printf(
        "throughline-rebuild-bench: demo year %llu events (%d schools, %d "
        "staff) recorded in %.1f s; log of %llu events (%d years) appended "
        "with sync off in %.1f s\n",
        static_cast<unsigned long long>(demo_events), demo_options.schools,
        demo_options.staff, demo_seconds,
        static_cast<unsigned long long>(*head), year_count, generate_seconds);
    if (*head != proposed) {
      Fail(absl::InternalError(
               absl::StrCat("head ", *head, " after ", proposed, " appends")),
           "generating");
    }
  }
  std::fflush(stdout);

  std::vector<Row> rows;
  // 3. Read the whole log as the projector does, keeping the pages.
  std::vector<std::vector<eventstore::RecordedEvent>> pages;
  Clock::time_point start = Clock::now();
  for (uint64_t next = 1;;) {
    absl::StatusOr<eventstore::LogPage> page =
        (*store)->ReadLog(kTenant, next, eventstore::LogFilter(), kPage);
    if (!page.ok()) Fail(page.status(), "reading the log");
    if (page->events.empty()) break;
    next = page->next_position;
    pages.push_back(std::move(page->events));
  }
  rows.push_back(
      {"read", "read (ReadLog pages of 2000)", *head, SecondsSince(start)});

  // 4. Apply only, from memory.
  {
    absl::StatusOr<std::unique_ptr<projections::FactStore>> facts =
        projections::FactStore::Open(dir + "/views-apply");
    if (!facts.ok()) Fail(facts.status(), "opening a fact store");
    start = Clock::now();
    for (const auto& page : pages) {
      if (absl::Status s = (*facts)->Apply(kTenant, page); !s.ok()) {
        Fail(s, "applying");
      }
    }
    rows.push_back(
        {"apply", "apply (FactStore::Apply)", *head, SecondsSince(start)});
  }
  pages.clear();
  pages.shrink_to_fit();

  // 5. A Projector rebuilding from nothing: the headline figure.
  absl::StatusOr<std::unique_ptr<projections::FactStore>> facts =
      projections::FactStore::Open(dir + "/views");
  if (!facts.ok()) Fail(facts.status(), "opening a fact store");
  {
    projections::Projector projector(store->get(), facts->get());
    start = Clock::now();
    projector.Start();
    for (;;) {
      absl::StatusOr<uint64_t> checkpoint = (*facts)->Checkpoint(kTenant);
      if (!checkpoint.ok()) Fail(checkpoint.status(), "reading a checkpoint");
      if (*checkpoint >= *head) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    rows.push_back({"rebuild", "rebuild (Projector, read + apply)", *head,
                    SecondsSince(start)});
    projector.Stop();
  }

  // 6. The views over the rebuilt facts.
  auto load =
      [&](uint64_t position) -> absl::StatusOr<projections::TrustHistory> {
    projections::TrustHistory history;
    absl::Status s = (*facts)->Scan(
        kTenant, {}, position,
        [&](projections::Fact&& fact) { history.Add(std::move(fact)); });
    if (!s.ok()) return s;
    return history;
  };
  const size_t heap_before = HeapBytes();
  start = Clock::now();
  absl::StatusOr<projections::TrustHistory> history = load(*head);
  if (!history.ok()) Fail(history.status(), "loading the history");
  rows.push_back({"history", "history load (Scan + TrustHistory)", *head,
                  SecondsSince(start)});
  const double history_mib =
      (static_cast<double>(HeapBytes()) - static_cast<double>(heap_before)) /
      (1 << 20);

  // The views' window ends a day after the last event.
  absl::Time last_occurred = absl::InfinitePast();
  {
    absl::StatusOr<eventstore::LogPage> page =
        (*store)->ReadLog(kTenant, *head > 1000 ? *head - 1000 : 1,
                          eventstore::LogFilter(), 1000);
    if (page.ok()) {
      for (const auto& event : page->events) {
        last_occurred =
            std::max(last_occurred,
                     absl::FromUnixMicros(event.record.occurred_at_micros()));
      }
    }
  }
  projections::ViewParams params;
  params.scope = projections::Scope::Trust();
  params.as_of_time = last_occurred + absl::Hours(24);
  params.to = params.as_of_time;
  params.from = params.to - projections::kDefaultWindow;
  params.as_of_position = *head;
  // The staff record of the first member (by id) in post at the end.
  std::string staff_id;
  for (const auto& [id, member] : history->state().staff()) {
    if (member.ActiveAt(params.to - absl::Hours(48)) &&
        (staff_id.empty() || id < staff_id)) {
      staff_id = id;
    }
  }

  const std::vector<std::pair<std::string, std::function<absl::Status()>>>
      views = {
          {"emergent-needs",
           [&] {
             projections::EmergentNeeds(*history, params);
             return absl::OkStatus();
           }},
          {"follow-through",
           [&] {
             projections::FollowThrough(*history, params);
             return absl::OkStatus();
           }},
          {"staff-record",
           [&] {
             if (staff_id.empty()) return absl::OkStatus();  // No staff.
             return projections::StaffRecord(*history, params, staff_id)
                 .status();
           }},
          {"connecting-the-dots",
           [&] {
             projections::ConnectingTheDots(*history, params);
             return absl::OkStatus();
           }},
          {"time-and-money",
           [&] {
             projections::TimeAndMoney(*history, params);
             return absl::OkStatus();
           }},
          {"impact",
           [&] {
             projections::Impact(*history, params);
             return absl::OkStatus();
           }},
          {"decision-audit",
           [&] {
             return projections::DecisionAudit(*history, params).status();
           }},
          {"programme-design",
           [&] {
             projections::ProgrammeDesign(*history, params);
             return absl::OkStatus();
           }},
      };
  for (const auto& [name, compute] : views) {
    start = Clock::now();
    absl::Status s = compute();
    const double seconds = SecondsSince(start);
    if (!s.ok()) Fail(s, name);
    rows.push_back({name, absl::StrCat("view ", name), 0, seconds});
  }

  std::printf("%-48s %12s %10s %14s\n", "phase", "events", "seconds",
              "events/s");
  for (const Row& row : rows) {
    if (row.events > 0) {
      std::printf("%-48s %12llu %10.3f %14.0f\n", row.phase.c_str(),
                  static_cast<unsigned long long>(row.events), row.seconds,
                  row.events / row.seconds);
    } else {
      std::printf("%-48s %12s %10.3f %14s\n", row.phase.c_str(), "",
                  row.seconds, "");
    }
  }
  std::printf(
      "memory held by the loaded history (each view query loads one): %.0f "
      "MiB\npeak RSS of this process: %ld MiB\n",
      history_mib, PeakRssMib());
  if (flags.Bool("json")) {
    std::string json = absl::StrFormat(
        "{\"events\": %llu, \"years\": %d, \"demo_events\": %llu",
        static_cast<unsigned long long>(*head), year_count,
        static_cast<unsigned long long>(demo_events));
    for (const Row& row : rows) {
      absl::StrAppendFormat(&json, ", \"%s_seconds\": %.4f", row.key,
                            row.seconds);
    }
    const Row& rebuild = rows[2];
    absl::StrAppendFormat(&json,
                          ", \"rebuild_events_per_second\": %.0f, "
                          "\"history_mib\": %.0f, \"peak_rss_mib\": %ld}",
                          rebuild.events / rebuild.seconds, history_mib,
                          PeakRssMib());
    std::printf("%s\n", json.c_str());
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace throughline::bench

int main(int argc, char** argv) { return throughline::bench::Main(argc, argv); }
