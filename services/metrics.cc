#include "services/metrics.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace throughline::services {
namespace {

std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrFormat("%.0f", value);
  }
  return absl::StrFormat("%.9g", value);
}

std::vector<double> PowersOfTwo(int up_to) {
  std::vector<double> bounds;
  for (double b = 1; b <= up_to; b *= 2) bounds.push_back(b);
  return bounds;
}

const std::vector<double>& LatencyBounds() {
  static const auto* bounds =
      new std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return *bounds;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  absl::MutexLock lock(&mu_);
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::Render(std::string* out, absl::string_view name,
                       absl::string_view labels) const {
  std::vector<uint64_t> counts;
  double sum;
  uint64_t count;
  {
    absl::MutexLock lock(&mu_);
    counts = counts_;
    sum = sum_;
    count = count_;
  }
  const std::string prefix = labels.empty() ? "" : absl::StrCat(labels, ",");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts[i];
    const std::string le =
        i < bounds_.size() ? FormatValue(bounds_[i]) : std::string("+Inf");
    AppendSample(out, absl::StrCat(name, "_bucket"),
                 absl::StrCat(prefix, "le=\"", le, "\""), cumulative);
  }
  AppendSample(out, absl::StrCat(name, "_sum"), labels, sum);
  AppendSample(out, absl::StrCat(name, "_count"), labels, count);
}

void AppendMetricHeader(std::string* out, absl::string_view name,
                        absl::string_view type, absl::string_view help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type,
                  "\n");
}

void AppendSample(std::string* out, absl::string_view name,
                  absl::string_view labels, double value) {
  if (labels.empty()) {
    absl::StrAppend(out, name, " ", FormatValue(value), "\n");
  } else {
    absl::StrAppend(out, name, "{", labels, "} ", FormatValue(value), "\n");
  }
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Metrics::Metrics(absl::flat_hash_set<std::string> known_methods)
    : known_methods_(std::move(known_methods)),
      group_appends_(PowersOfTwo(4096)),
      group_events_(PowersOfTwo(65536)),
      commit_seconds_(LatencyBounds()),
      backup_seconds_({1, 5, 15, 60, 300, 900, 3600}) {}

void Metrics::RecordCommit(const eventstore::CommitStats& commit) {
  group_appends_.Observe(static_cast<double>(commit.appends));
  group_events_.Observe(static_cast<double>(commit.events));
  commit_seconds_.Observe(absl::ToDoubleSeconds(commit.write_time));
}

void Metrics::RecordRpc(absl::string_view method, absl::string_view code,
                        double seconds) {
  std::pair<std::string, std::string> key(
      known_methods_.contains(method) ? std::string(method) : "other",
      std::string(code));
  Histogram* histogram;
  {
    absl::MutexLock lock(&mu_);
    std::unique_ptr<Histogram>& slot = rpcs_[key];
    if (slot == nullptr) slot = std::make_unique<Histogram>(LatencyBounds());
    histogram = slot.get();
  }
  histogram->Observe(seconds);
}

void Metrics::RecordSlowCommit() {
  absl::MutexLock lock(&mu_);
  ++slow_commits_;
}

void Metrics::RecordBackup(bool ok, int64_t unix_seconds, double seconds) {
  backup_seconds_.Observe(seconds);
  absl::MutexLock lock(&mu_);
  if (ok) {
    ++backups_ok_;
    last_backup_unix_seconds_ = unix_seconds;
  } else {
    ++backups_failed_;
  }
}

void Metrics::Render(std::string* out) const {
  AppendMetricHeader(out, "throughline_commit_group_appends", "histogram",
                     "Appends that stored new events per committed group "
                     "(one write and fsync).");
  group_appends_.Render(out, "throughline_commit_group_appends", "");
  AppendMetricHeader(out, "throughline_commit_group_events", "histogram",
                     "Events stored per committed group.");
  group_events_.Render(out, "throughline_commit_group_events", "");
  AppendMetricHeader(out, "throughline_commit_duration_seconds", "histogram",
                     "Time of each group's RocksDB write, fsync included.");
  commit_seconds_.Render(out, "throughline_commit_duration_seconds", "");
  AppendMetricHeader(out, "throughline_rpc_duration_seconds", "histogram",
                     "Finished RPCs by full method name and status code, "
                     "with their duration (streams: until they end).");
  absl::MutexLock lock(&mu_);
  for (const auto& [key, histogram] : rpcs_) {
    histogram->Render(out, "throughline_rpc_duration_seconds",
                      absl::StrCat("method=\"", EscapeLabelValue(key.first),
                                   "\",code=\"", key.second, "\""));
  }
  AppendMetricHeader(out, "throughline_slow_commits_total", "counter",
                     "Commits slower than slow_commit_ms (each is logged).");
  AppendSample(out, "throughline_slow_commits_total", "", slow_commits_);
  AppendMetricHeader(out, "throughline_backups_total", "counter",
                     "Backups taken, by result.");
  AppendSample(out, "throughline_backups_total", "result=\"ok\"", backups_ok_);
  AppendSample(out, "throughline_backups_total", "result=\"failed\"",
               backups_failed_);
  AppendMetricHeader(out, "throughline_last_backup_timestamp_seconds", "gauge",
                     "When the last successful backup was taken (Unix "
                     "seconds; 0: none since the server started).");
  AppendSample(out, "throughline_last_backup_timestamp_seconds", "",
               static_cast<double>(last_backup_unix_seconds_));
  AppendMetricHeader(out, "throughline_backup_duration_seconds", "histogram",
                     "Time each backup took.");
  backup_seconds_.Render(out, "throughline_backup_duration_seconds", "");
}

}  // namespace throughline::services
