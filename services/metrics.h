// Metrics in the Prometheus text exposition format (version 0.0.4): the
// counters and histograms the server updates as it works, and helpers to
// write values read at scrape time. The series are listed in
// docs/operations.md#metrics.

#ifndef THROUGHLINE_SERVICES_METRICS_H_
#define THROUGHLINE_SERVICES_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"

namespace throughline::services {

// A histogram with fixed upper bounds. Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // Appends name_bucket/_sum/_count samples; `labels` is either empty or
  // `key="value",...` without braces.
  void Render(std::string* out, absl::string_view name,
              absl::string_view labels) const;

 private:
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);  // Not cumulative.
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

// "# HELP" and "# TYPE" lines.
void AppendMetricHeader(std::string* out, absl::string_view name,
                        absl::string_view type, absl::string_view help);
// One sample line; `labels` as in Histogram::Render.
void AppendSample(std::string* out, absl::string_view name,
                  absl::string_view labels, double value);
// A label value escaped for the text format.
std::string EscapeLabelValue(absl::string_view value);

// What the server records while it works. Thread-safe.
class Metrics {
 public:
  // `known_methods`: full gRPC method names ("/pkg.Service/Method") that get
  // their own label value; any other method is counted as "other", so that
  // clients calling made-up names cannot grow the series without bound.
  explicit Metrics(absl::flat_hash_set<std::string> known_methods);

  // From EventStoreOptions::on_commit.
  void RecordCommit(const eventstore::CommitStats& commit);
  // One finished RPC: its full method name and status code name ("OK", ...).
  void RecordRpc(absl::string_view method, absl::string_view code,
                 double seconds);
  void RecordSlowCommit();
  void RecordBackup(bool ok, int64_t unix_seconds, double seconds);

  // Every series recorded here.
  void Render(std::string* out) const;

 private:
  const absl::flat_hash_set<std::string> known_methods_;
  Histogram group_appends_;
  Histogram group_events_;
  Histogram commit_seconds_;
  Histogram backup_seconds_;
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Histogram>>
      rpcs_ ABSL_GUARDED_BY(mu_);
  uint64_t slow_commits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t backups_ok_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t backups_failed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_backup_unix_seconds_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_METRICS_H_
