// Helpers shared by the benchmarks: temporary directories, UUIDs, the demo
// trust's log as recorded by a real server, and a long synthetic trust built
// from it.

#ifndef THROUGHLINE_BENCH_BENCH_SUPPORT_H_
#define THROUGHLINE_BENCH_BENCH_SUPPORT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "projections/fact_store.h"
#include "tools/demo.h"

namespace throughline::bench {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object is destroyed.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "throughline-bench");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A canonical UUID text made from two numbers (not random, not version 4:
// the store only checks the form).
std::string MakeUuid(uint64_t hi, uint64_t lo);

// The demo trust (tools/demo.h) for `options`, sent through the public CPD
// API of an in-process throughline server listening on 127.0.0.1 (a free
// port) with its data under `dir`, as tenant `tenant`; returns the tenant's
// whole log as the server recorded it (positions 1..N).
absl::StatusOr<std::vector<eventstore::RecordedEvent>> RecordDemo(
    const cli::DemoOptions& options, const std::string& dir,
    const std::string& tenant);

// The CPD events of `log` as the views see them (non-CPD events skipped).
std::vector<projections::Fact> ToFacts(
    const std::vector<eventstore::RecordedEvent>& log);

// A trust's log of many academic years made from one recorded demo year:
// the oldest year first, each an earlier copy of the demo year shifted back
// by whole calendar years, the newest one the demo year's own dates. The
// organisation (trust, schools, departments, development areas) is set up
// once, in the oldest year; every other id (staff, observations, sessions,
// goals, ...) gets a "-y<year>" suffix so each year is a new cohort, and
// each year's staff leave at its end (the newest year's stay). Evidence
// cited by decisions points at the same event of the same year. Events are
// proposed in log order; their positions are 1, 2, ... on an empty tenant.
class TrustYears {
 public:
  // `demo_year`: the demo's log from position 1.
  explicit TrustYears(std::vector<eventstore::RecordedEvent> demo_year);

  // How many years make at least `events` events.
  int YearsFor(uint64_t events) const;

  // Calls `append` with each event of a `years`-year log, one request each,
  // stopping after `max_events`. Returns the number proposed.
  uint64_t Generate(
      int years, uint64_t max_events, const std::string& tenant,
      const std::function<void(eventstore::AppendRequest)>& append) const;

  // Events in the oldest year, in each middle year and in the newest year.
  uint64_t first_year_events() const { return first_year_events_; }
  uint64_t middle_year_events() const { return middle_year_events_; }
  uint64_t last_year_events() const { return last_year_events_; }

 private:
  std::vector<eventstore::RecordedEvent> demo_;
  uint64_t first_year_events_ = 0;
  uint64_t middle_year_events_ = 0;
  uint64_t last_year_events_ = 0;
};

// Civil-calendar shift of `t` (UTC) by `years` years (negative: back).
absl::Time ShiftYears(absl::Time t, int years);

}  // namespace throughline::bench

#endif  // THROUGHLINE_BENCH_BENCH_SUPPORT_H_
