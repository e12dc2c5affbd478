// Operations, end to end: the metrics endpoint of a real server process
// (checked with promtool), its structured logs, and an online backup taken
// during a flood of appends, restored with the CLI into a new directory and
// served again: gapless, intact, hash chain verified, views equal.

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "services/server.h"
#include "tests/auth_support.h"
#include "tests/server_process.h"
#include "tests/test_support.h"
#include "throughline/admin/v1/admin.grpc.pb.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"
#include "throughline/insights/v1/insights.grpc.pb.h"
#include "tools/demo.h"

namespace throughline {
namespace {

using ::throughline::testing::ServerProcess;
using ::throughline::testing::TempDir;
namespace es = ::throughline::eventstore::v1;
namespace admin = ::throughline::admin::v1;
namespace insights = ::throughline::insights::v1;
namespace authv1 = ::throughline::auth::v1;

// Runs `command` through the shell; returns its exit status and stdout.
int RunShell(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    output->append(buffer, n);
  }
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The value of an unlabelled sample, or of the sample with exactly `labels`.
double Sample(const std::string& text, const std::string& name,
              const std::string& labels = "") {
  const std::string prefix =
      labels.empty() ? name + " " : absl::StrCat(name, "{", labels, "} ");
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) {
      double value;
      if (absl::SimpleAtod(line.substr(prefix.size()), &value)) return value;
    }
  }
  return -1;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& tenant) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
  // The trust's admin; "" is the installation's operator (Admin RPCs).
  testing::Authorize(context.get(), testing::RememberedToken(tenant));
  return context;
}

es::AppendRequest OneEvent(const std::string& stream, const std::string& id,
                           const std::string& data) {
  es::AppendRequest request;
  request.set_stream(stream);
  es::ProposedEvent* event = request.add_events();
  event->set_event_id(id);
  event->set_type("Flooded");
  event->set_data(data);
  return request;
}

TEST(MetricsTest, RealServerExposesValidMetricsThatMoveAndLogsLogfmt) {
  TempDir dir;
  ServerProcess server(THROUGHLINE_SERVER_BINARY, dir.path() + "/data",
                       {"--metrics_listen=127.0.0.1:0"});
  ASSERT_TRUE(server.Start());
  std::smatch match;
  const std::string start_log = server.Log();
  ASSERT_TRUE(
      std::regex_search(start_log, match, std::regex(R"(metrics_port=(\d+))")))
      << start_log;
  const int metrics_port = std::stoi(match[1]);
  ASSERT_GT(metrics_port, 0);
  httplib::Client http("127.0.0.1", metrics_port);

  auto scrape = [&http]() {
    httplib::Result result = http.Get("/metrics");
    EXPECT_TRUE(result) << "scrape failed";
    if (!result) return std::string();
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->get_header_value("Content-Type"),
              "text/plain; version=0.0.4; charset=utf-8");
    return result->body;
  };
  const std::string before = scrape();

  auto channel =
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  testing::RememberToken(
      "metrics-trust",
      testing::MintTokenThrough(
          channel, testing::ReadOperatorToken(dir.path() + "/data"),
          testing::PrincipalFor("metrics-trust")));
  auto stub = es::EventStore::NewStub(channel);
  constexpr int kAppends = 25;
  for (int i = 0; i < kAppends; ++i) {
    es::AppendResponse response;
    ASSERT_TRUE(stub->Append(Context("metrics-trust").get(),
                             OneEvent("item-1", testing::NewUuid(), "x"),
                             &response)
                    .ok());
  }
  // One refused call, to see a status code other than OK.
  es::AppendResponse refused;
  EXPECT_EQ(stub->Append(Context("metrics-trust").get(),
                         OneEvent("item-1", "not-a-uuid", "x"), &refused)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  const std::string after = scrape();

  // promtool, from Debian's prometheus package, validates the exposition.
  const std::string file = dir.path() + "/metrics.txt";
  std::ofstream(file) << after;
  std::string promtool_output;
  EXPECT_EQ(RunShell(absl::StrCat("promtool check metrics < ", file, " 2>&1"),
                     &promtool_output),
            0)
      << promtool_output;

  EXPECT_EQ(Sample(after, "throughline_appended_events_total") -
                Sample(before, "throughline_appended_events_total"),
            kAppends);
  EXPECT_EQ(Sample(after, "throughline_appends_total"), kAppends);
  EXPECT_GE(Sample(after, "throughline_commit_duration_seconds_count"),
            1 + Sample(before, "throughline_commit_duration_seconds_count"));
  EXPECT_GT(Sample(after, "throughline_commit_duration_seconds_sum"), 0);
  EXPECT_EQ(Sample(after, "throughline_commit_group_events_sum"), kAppends);
  const std::string append = "/throughline.eventstore.v1.EventStore/Append";
  EXPECT_EQ(Sample(after, "throughline_rpc_duration_seconds_count",
                   absl::StrCat("method=\"", append, "\",code=\"OK\"")),
            kAppends);
  EXPECT_EQ(
      Sample(after, "throughline_rpc_duration_seconds_count",
             absl::StrCat("method=\"", append, "\",code=\"INVALID_ARGUMENT\"")),
      1);
  EXPECT_EQ(Sample(after, "throughline_trusts"), 1);
  EXPECT_GE(Sample(after, "throughline_projection_lag_events"), 0);
  EXPECT_GT(Sample(after, "throughline_rocksdb_memtable_bytes"), 0);
  EXPECT_GE(Sample(after, "throughline_rocksdb_block_cache_bytes"), 0);

  ASSERT_EQ(server.Terminate(), 0);
  // Every line on stderr is one logfmt event with ts, level and event.
  const std::string log = server.Log();
  const std::regex line_pattern(
      R"(^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z level=(info|warn|error) event=[a-z_]+( .*)?$)");
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    ++lines;
    EXPECT_TRUE(std::regex_match(std::string(line), line_pattern)) << line;
  }
  EXPECT_GE(lines, 3);
  EXPECT_NE(log.find("event=serving "), std::string::npos);
  EXPECT_NE(log.find("config.metrics_listen=127.0.0.1:0"), std::string::npos);
  EXPECT_NE(log.find("event=shutting_down "), std::string::npos);
  EXPECT_NE(log.find("event=stopped "), std::string::npos);
}

TEST(MetricsTest, OffByDefault) {
  TempDir dir;
  ServerProcess server(THROUGHLINE_SERVER_BINARY, dir.path() + "/data");
  ASSERT_TRUE(server.Start());
  EXPECT_NE(server.Log().find("metrics_port=0"), std::string::npos)
      << server.Log();
}

// A tenant flooded with single-event appends; remembers what was
// acknowledged.
class Flood {
 public:
  Flood(std::shared_ptr<grpc::Channel> channel, std::string tenant)
      : stub_(es::EventStore::NewStub(channel)), tenant_(std::move(tenant)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Flood() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Acknowledged (event id -> position), so far.
  std::map<std::string, uint64_t> Acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  size_t AckedCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_.size();
  }
  std::string failure() {
    std::lock_guard<std::mutex> lock(mu_);
    return failure_;
  }
  static std::string DataFor(const std::string& id) {
    return absl::StrCat("{\"payload\":\"", id, "\"}");
  }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      const std::string id = testing::NewUuid();
      es::AppendResponse response;
      grpc::Status status = stub_->Append(
          Context(tenant_).get(),
          OneEvent(absl::StrCat("item-", i % 7), id, DataFor(id)), &response);
      std::lock_guard<std::mutex> lock(mu_);
      if (!status.ok()) {
        failure_ = status.error_message();
        return;
      }
      acked_[id] = response.first_position();
    }
  }

  std::unique_ptr<es::EventStore::Stub> stub_;
  const std::string tenant_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, uint64_t> acked_;
  std::string failure_;
  std::thread thread_;
};

// The views of `tenant` as of `position`, each serialized, by view name.
std::map<std::string, std::string> Views(const std::string& address,
                                         const std::string& tenant,
                                         uint64_t position,
                                         absl::Time as_of_time) {
  auto stub = insights::Insights::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  insights::ViewQuery query;
  query.set_as_of_position(position);
  query.set_min_position(position);
  query.mutable_as_of_time()->set_seconds(absl::ToUnixSeconds(as_of_time));
  query.mutable_from()->set_seconds(
      absl::ToUnixSeconds(as_of_time - absl::Hours(24 * 400)));
  std::map<std::string, std::string> views;
  auto keep = [&views](const std::string& name, const grpc::Status& status,
                       const google::protobuf::Message& view) {
    EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
    views[name] = view.SerializeAsString();
  };
  {
    insights::EmergentNeedsView view;
    keep("needs", stub->GetEmergentNeeds(Context(tenant).get(), query, &view),
         view);
  }
  {
    insights::FollowThroughView view;
    keep("follow_through",
         stub->GetFollowThrough(Context(tenant).get(), query, &view), view);
  }
  {
    insights::ConnectingTheDotsView view;
    keep("dots",
         stub->GetConnectingTheDots(Context(tenant).get(), query, &view), view);
  }
  {
    insights::TimeAndMoneyView view;
    keep("money", stub->GetTimeAndMoney(Context(tenant).get(), query, &view),
         view);
  }
  {
    insights::ImpactView view;
    keep("impact", stub->GetImpact(Context(tenant).get(), query, &view), view);
  }
  {
    insights::DecisionAuditView view;
    grpc::Status status =
        stub->GetDecisionAudit(Context(tenant).get(), query, &view);
    // Each replayed piece of evidence also shows its view "now", at the
    // trust's current head rather than at the as-of position: the original
    // has moved on since the backup, so only the rest is compared.
    for (insights::AuditedDecision& decision : *view.mutable_decisions()) {
      for (insights::ReplayedEvidence& evidence :
           *decision.mutable_evidence()) {
        evidence.clear_now();
      }
    }
    keep("decisions", status, view);
  }
  {
    insights::ProgrammeDesignView view;
    keep("programmes",
         stub->GetProgrammeDesign(Context(tenant).get(), query, &view), view);
  }
  return views;
}

TEST(BackupTest, BackupDuringFloodRestoresExactlyAndIsIncremental) {
  TempDir dir;
  const std::string backup_dir = dir.path() + "/backups";
  services::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = dir.path() + "/data";
  config.backup_dir = backup_dir;
  absl::StatusOr<std::unique_ptr<services::Server>> original =
      services::Server::Start(config);
  ASSERT_TRUE(original.ok()) << original.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*original)->port());
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto admin_stub = admin::Admin::NewStub(channel);

  // A CPD trust recorded call after call (so that the views have something
  // to show), and a second tenant flooded with raw appends, both running
  // while the backup is taken.
  constexpr char kTrust[] = "backup-trust";
  constexpr char kFlooded[] = "flooded";
  // Tokens made before the backup: the restored server must know them.
  services::auth::AuthStore* auth_store = (*original)->auth_store();
  testing::RememberToken(kTrust, testing::MintToken(auth_store, kTrust));
  testing::RememberToken(kFlooded, testing::MintToken(auth_store, kFlooded));
  testing::RememberToken(
      "", testing::MintToken(auth_store,
                             testing::PrincipalFor("", authv1::ROLE_OPERATOR)));
  cli::DemoOptions demo_options;
  demo_options.schools = 2;
  demo_options.staff = 40;
  demo_options.now = absl::Now();
  absl::StatusOr<cli::DemoPlan> plan = cli::GenerateDemo(demo_options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  cli::DemoOutcome demo_outcome;
  std::thread demo([&] {
    demo_outcome = cli::SendDemo(channel, *plan,
                                 {testing::RememberedToken(kTrust), "", ""},
                                 absl::Seconds(60));
  });
  Flood flood(channel, kFlooded);

  // A first backup early on, so that the second can share its files.
  while (flood.AckedCount() < 100 && flood.failure().empty()) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  admin::Backup first;
  ASSERT_TRUE(admin_stub
                  ->CreateBackup(Context("").get(),
                                 admin::CreateBackupRequest(), &first)
                  .ok());
  while (flood.AckedCount() < 400 && flood.failure().empty()) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  // What was acknowledged before the backup began.
  const std::map<std::string, uint64_t> acked_before = flood.Acked();
  absl::StatusOr<uint64_t> trust_head_before =
      (*original)->store()->HeadPosition(kTrust);
  ASSERT_TRUE(trust_head_before.ok());
  admin::Backup second;
  grpc::Status backup_status = admin_stub->CreateBackup(
      Context("").get(), admin::CreateBackupRequest(), &second);
  ASSERT_TRUE(backup_status.ok()) << backup_status.error_message();
  // Appends go on after the backup.
  const size_t acked_at_backup_end = flood.AckedCount();
  while (flood.AckedCount() < acked_at_backup_end + 100 &&
         flood.failure().empty()) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  flood.Stop();
  demo.join();
  ASSERT_EQ(flood.failure(), "");
  ASSERT_FALSE(demo_outcome.failed_call.has_value())
      << demo_outcome.failure.error_message();
  ASSERT_GT(*trust_head_before, 0u) << "the demo had not begun";

  // The second backup shares the first one's table files.
  EXPECT_EQ(second.backup_id(), first.backup_id() + 1);
  // The event log and the credentials (auth) are backed up together.
  ASSERT_EQ(second.stores_size(), 2);
  EXPECT_EQ(second.stores(0).store(), "eventstore");
  EXPECT_EQ(second.stores(1).store(), "auth");
  EXPECT_LT(second.stores(0).new_file_count(), second.stores(0).file_count());
  EXPECT_LT(second.stores(0).new_bytes(), second.stores(0).size_bytes());

  // Restore the second backup with the CLI into a new directory; a second
  // restore into the now non-empty directory is refused.
  const std::string restored_dir = dir.path() + "/restored";
  const std::string restore = absl::StrCat(
      THROUGHLINE_CLI_PATH, " restore --backup-dir=", backup_dir,
      " --data-dir=", restored_dir, " --backup-id=", second.backup_id());
  std::string output;
  ASSERT_EQ(RunShell(restore, &output), 0) << output;
  EXPECT_EQ(output, absl::StrCat("{\"backupId\":", second.backup_id(),
                                 ",\"dataDir\":\"", restored_dir, "\"}\n"));
  output.clear();
  EXPECT_EQ(RunShell(restore + " 2>&1", &output), 1);
  EXPECT_NE(output.find("FAILED_PRECONDITION"), std::string::npos) << output;
  EXPECT_NE(output.find("not empty"), std::string::npos) << output;

  services::ServerConfig restored_config;
  restored_config.listen = "127.0.0.1:0";
  restored_config.data_dir = restored_dir;
  // The master key is never in a backup: a restore brings it separately.
  restored_config.master_key_file = dir.path() + "/data/master.key";
  absl::StatusOr<std::unique_ptr<services::Server>> restored =
      services::Server::Start(restored_config);
  ASSERT_TRUE(restored.ok()) << restored.status();
  eventstore::EventStore* store = (*restored)->store();

  // Every acknowledged event from before the backup is there, intact, at
  // its position; the log is gapless and equals the original's prefix.
  for (const auto& [id, position] : acked_before) {
    absl::StatusOr<std::optional<eventstore::RecordedEvent>> found =
        store->FindEvent(kFlooded, id);
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_TRUE(found->has_value()) << "lost acknowledged event " << id;
    EXPECT_EQ((*found)->position, position);
    EXPECT_EQ((*found)->record.data(), Flood::DataFor(id));
  }
  for (const char* tenant : {kFlooded, kTrust}) {
    absl::StatusOr<uint64_t> head = store->HeadPosition(tenant);
    ASSERT_TRUE(head.ok());
    uint64_t next = 1;
    while (next <= *head) {
      absl::StatusOr<eventstore::LogPage> mine =
          store->ReadLog(tenant, next, {}, 500);
      absl::StatusOr<eventstore::LogPage> theirs =
          (*original)->store()->ReadLog(tenant, next, {}, 500);
      ASSERT_TRUE(mine.ok() && theirs.ok());
      ASSERT_FALSE(mine->events.empty());
      for (size_t i = 0; i < mine->events.size(); ++i) {
        ASSERT_EQ(mine->events[i].position, next) << tenant << " has a gap";
        ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
            mine->events[i].record, theirs->events[i].record))
            << tenant << " differs at " << next;
        ++next;
      }
    }
    // The restored log's hash chain verifies from the genesis to its head
    // and ends in the hash the original has at that position.
    eventstore::VerifyOptions verify;
    verify.tenant = tenant;
    verify.max_events = 10000000;
    absl::StatusOr<eventstore::VerifyReport> report = store->Verify(verify);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_FALSE(report->mismatch.has_value())
        << tenant << ": " << report->mismatch->detail;
    EXPECT_EQ(report->last_position, *head);
    EXPECT_EQ(report->next_position, 0u);
    verify.to_position = *head;
    absl::StatusOr<eventstore::VerifyReport> original_report =
        (*original)->store()->Verify(verify);
    ASSERT_TRUE(original_report.ok()) << original_report.status();
    EXPECT_FALSE(original_report->mismatch.has_value());
    EXPECT_EQ(report->chain_hash, original_report->chain_hash) << tenant;
    if (std::string(tenant) == kFlooded) {
      EXPECT_GE(*head, acked_before.size());
    } else {
      EXPECT_GE(*head, *trust_head_before);
    }
  }

  // The restored server rebuilt the views; they equal the original's at the
  // restored head.
  absl::StatusOr<uint64_t> trust_head = store->HeadPosition(kTrust);
  ASSERT_TRUE(trust_head.ok());
  const absl::Time as_of = absl::Now();
  const std::map<std::string, std::string> restored_views =
      Views(absl::StrCat("127.0.0.1:", (*restored)->port()), kTrust,
            *trust_head, as_of);
  const std::map<std::string, std::string> original_views =
      Views(address, kTrust, *trust_head, as_of);
  ASSERT_EQ(restored_views.size(), 7u);
  for (const auto& [name, bytes] : original_views) {
    EXPECT_EQ(restored_views.at(name), bytes) << name << " differs";
  }

  // The Admin service lists both backups.
  admin::ListBackupsResponse list;
  ASSERT_TRUE(
      admin_stub
          ->ListBackups(Context("").get(), admin::ListBackupsRequest(), &list)
          .ok());
  ASSERT_EQ(list.backups_size(), 2);
  EXPECT_EQ(list.backups(1).backup_id(), second.backup_id());
}

TEST(BackupTest, RefusedWithoutBackupDir) {
  TempDir dir;
  services::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = dir.path() + "/data";
  absl::StatusOr<std::unique_ptr<services::Server>> server =
      services::Server::Start(config);
  ASSERT_TRUE(server.ok()) << server.status();
  testing::RememberToken(
      "", testing::MintToken((*server)->auth_store(),
                             testing::PrincipalFor("", authv1::ROLE_OPERATOR)));
  auto stub = admin::Admin::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials()));
  admin::Backup backup;
  grpc::Status status = stub->CreateBackup(
      Context("").get(), admin::CreateBackupRequest(), &backup);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("backup_dir"), std::string::npos);
}

}  // namespace
}  // namespace throughline
