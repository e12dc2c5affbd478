// Tests of the `throughline` CLI: a real server runs in-process on loopback
// over a temporary directory, and the CLI binary (THROUGHLINE_CLI_PATH) runs
// as a subprocess whose stdout, stderr and exit status are checked. Also unit
// tests of the CLI's argument parsing and JSON rendering. They assert
// behaviour only, never speed; the generous waits below only turn a hang
// into a failure.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "eventstore/event_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/server.h"
#include "services/server_config.h"
#include "tests/auth_support.h"
#include "tests/cli_process.h"
#include "tests/test_support.h"
#include "throughline/cpd/v1/events.pb.h"
#include "throughline/cpd/v1/observation.pb.h"
#include "throughline/cpd/v1/planning.pb.h"
#include "throughline/cpd/v1/staff.pb.h"
#include "throughline/eventstore/v1/eventstore.pb.h"
#include "tools/cli_args.h"
#include "tools/cli_json.h"
#include "tools/cli_record.h"

extern char** environ;

namespace throughline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::throughline::testing::CliProcess;
using ::throughline::testing::kPatience;
using ::throughline::testing::MintToken;
using ::throughline::testing::NewUuid;
using ::throughline::testing::Result;
using ::throughline::testing::TempDir;
using Json = nlohmann::json;

// The non-empty lines of `text`.
std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// Each line of `text` parsed as JSON.
std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> result;
  for (const std::string& line : Lines(text)) {
    result.push_back(Json::parse(line));
  }
  return result;
}

// Field `name` of every JSON object in `objects`, as strings.
std::vector<std::string> Field(const std::vector<Json>& objects,
                               const std::string& name) {
  std::vector<std::string> result;
  for (const Json& object : objects) {
    result.push_back(object.at(name).get<std::string>());
  }
  return result;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = dir_.path() + "/data";
    absl::StatusOr<std::unique_ptr<services::Server>> server =
        services::Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  // Runs the CLI against the test server (`--server` first, so a test can
  // override it), with `input` on stdin and `env` added to its environment.
  // Unless a credential is given, it sends the admin token of the trust the
  // arguments name (--tenant, else $THROUGHLINE_TENANT, else demo).
  Result Run(std::vector<std::string> args, const std::string& input = "",
             const std::vector<std::string>& env = {}) {
    if (!HasCredential(args, env)) {
      args.insert(args.begin(), "--token=" + AdminToken(TenantOf(args, env)));
    }
    args.insert(args.begin(), "--server=" + address_);
    return RunRaw(args, input, env);
  }

  static bool HasCredential(const std::vector<std::string>& args,
                            const std::vector<std::string>& env) {
    for (const std::string& arg : args) {
      if (absl::StartsWith(arg, "--token")) return true;
    }
    for (const std::string& entry : env) {
      if (absl::StartsWith(entry, "THROUGHLINE_TOKEN")) return true;
    }
    return false;
  }

  static std::string TenantOf(const std::vector<std::string>& args,
                              const std::vector<std::string>& env) {
    for (size_t i = 0; i < args.size(); ++i) {
      if (absl::StartsWith(args[i], "--tenant=")) return args[i].substr(9);
      if (args[i] == "--tenant" && i + 1 < args.size()) return args[i + 1];
    }
    for (const std::string& entry : env) {
      if (absl::StartsWith(entry, "THROUGHLINE_TENANT=")) {
        return entry.substr(19);
      }
    }
    return "demo";
  }

  // The admin token of `trust`, minted on first use.
  std::string AdminToken(const std::string& trust) {
    std::string& token = tokens_[trust];
    if (token.empty()) token = MintToken(server_->auth_store(), trust);
    return token;
  }

  // Runs the CLI with exactly `args`.
  static Result RunRaw(const std::vector<std::string>& args,
                       const std::string& input = "",
                       const std::vector<std::string>& env = {}) {
    CliProcess process(args, env, input);
    return process.Wait();
  }

  // Appends an event through the CLI, expecting success.
  Json Append(const std::string& stream, const std::string& type,
              const std::string& data = "{}",
              const std::string& tenant = "demo") {
    Result result = Run({"--tenant=" + tenant, "append", "--stream", stream,
                         "--type", type, "--data", data});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return Json::parse(result.out);
  }

  // Appends `count` small events straight to the store.
  void AppendDirectly(const std::string& stream, size_t count) {
    eventstore::AppendRequest request;
    request.tenant = "demo";
    request.stream = stream;
    for (size_t i = 0; i < count; ++i) {
      eventstore::ProposedEvent event;
      event.event_id = NewUuid();
      event.type = "Tick";
      event.content_type = "application/json";
      event.data = absl::StrCat("{\"i\":", i, "}");
      request.events.push_back(std::move(event));
    }
    ASSERT_TRUE(server_->store()->Append(std::move(request)).ok());
  }

  TempDir dir_;
  std::unique_ptr<services::Server> server_;
  std::string address_;
  std::map<std::string, std::string> tokens_;
};

// ---------------------------------------------------------------------------
// append and read.

TEST_F(CliTest, AppendThenReadShowsTheJsonData) {
  const std::string id = NewUuid();
  Result append =
      Run({"append", "--stream", "order-1", "--type", "OrderPlaced", "--id", id,
           "--data", R"({"sku": "abc", "qty": 2, "tags": ["x"]})", "--actor",
           "alice", "--correlation-id", "c-1", "--occurred-at",
           "2024-05-01T12:00:00Z"});
  ASSERT_EQ(append.exit_code, 0) << append.err;
  EXPECT_THAT(append.err, IsEmpty());
  ASSERT_THAT(Lines(append.out), SizeIs(1));
  Json response = Json::parse(append.out);
  EXPECT_EQ(response["first_revision"], "0");
  EXPECT_EQ(response["last_revision"], "0");
  EXPECT_EQ(response["first_position"], "1");
  EXPECT_EQ(response["last_position"], "1");
  EXPECT_EQ(response["already_stored"], false);

  Result read = Run({"read", "order-1"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  std::vector<Json> events = JsonLines(read.out);
  ASSERT_THAT(events, SizeIs(1));
  const Json& event = events[0];
  EXPECT_EQ(event["event_id"], id);
  EXPECT_EQ(event["type"], "OrderPlaced");
  EXPECT_EQ(event["content_type"], "application/json");
  EXPECT_EQ(event["data"],
            Json::parse(R"({"sku": "abc", "qty": 2, "tags": ["x"]})"));
  EXPECT_EQ(event["metadata"]["actor"], "alice");
  EXPECT_EQ(event["metadata"]["correlation_id"], "c-1");
  EXPECT_EQ(event["occurred_at"], "2024-05-01T12:00:00Z");
  EXPECT_TRUE(event.contains("recorded_at"));
  EXPECT_EQ(event["stream"], "order-1");
  EXPECT_EQ(event["category"], "order");
  EXPECT_EQ(event["revision"], "0");
  EXPECT_EQ(event["position"], "1");
}

TEST_F(CliTest, AppendWithTheSameIdIsIdempotent) {
  const std::string id = NewUuid();
  const std::vector<std::string> args = {
      "append", "--stream", "s-1", "--type", "T", "--id", id, "--data", "1"};
  Result first = Run(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(Json::parse(first.out)["already_stored"], false);
  Result again = Run(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Json::parse(again.out)["already_stored"], true);
  EXPECT_EQ(Json::parse(again.out)["last_position"], "1");
}

TEST_F(CliTest, AppendGeneratesDistinctV4Ids) {
  Append("s-1", "T");
  Append("s-1", "T");
  Result read = Run({"read", "s-1"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  std::vector<std::string> ids = Field(JsonLines(read.out), "event_id");
  ASSERT_THAT(ids, SizeIs(2));
  EXPECT_NE(ids[0], ids[1]);
  for (const std::string& id : ids) {
    EXPECT_THAT(id, ::testing::MatchesRegex(
                        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                        "-[0-9a-f]{12}"));
  }
}

TEST_F(CliTest, WrongExpectedRevisionFailsWithAborted) {
  Result first = Run(
      {"append", "--stream", "s-1", "--type", "T", "--expected", "no_stream"});
  ASSERT_EQ(first.exit_code, 0) << first.err;

  Result again = Run(
      {"append", "--stream", "s-1", "--type", "T", "--expected", "no_stream"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, StartsWith("throughline: ABORTED: "));
  EXPECT_THAT(again.out, IsEmpty());

  Result stale =
      Run({"append", "--stream", "s-1", "--type", "T", "--expected", "5"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.err, StartsWith("throughline: ABORTED: "));

  Result right =
      Run({"append", "--stream", "s-1", "--type", "T", "--expected", "0"});
  EXPECT_EQ(right.exit_code, 0) << right.err;
  Result exists = Run({"append", "--stream", "s-1", "--type", "T", "--expected",
                       "stream_exists"});
  EXPECT_EQ(exists.exit_code, 0) << exists.err;
  EXPECT_EQ(Json::parse(exists.out)["last_revision"], "2");
}

TEST_F(CliTest, InvalidJsonDataIsAUsageErrorAndNothingIsSent) {
  Result result =
      Run({"append", "--stream", "s-1", "--type", "T", "--data", R"({"a": )"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, StartsWith("throughline: --data is not valid JSON"));
  EXPECT_THAT(result.out, IsEmpty());
  absl::StatusOr<uint64_t> head = server_->store()->HeadPosition("demo");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, 0u);

  // Nothing listens on the address: had it tried, it would fail with 1.
  Result offline = RunRaw({"--server=127.0.0.1:1", "append", "--stream", "s-1",
                           "--type", "T", "--data", "nope"});
  EXPECT_EQ(offline.exit_code, 2);
  EXPECT_THAT(offline.err, HasSubstr("not valid JSON"));

  Result from_file =
      Run({"append", "--stream", "s-1", "--type", "T", "--data-file", "-"},
          "[1, 2");
  EXPECT_EQ(from_file.exit_code, 2);
  EXPECT_THAT(from_file.err,
              StartsWith("throughline: --data-file is not valid JSON"));
}

TEST_F(CliTest, DataFromFileOrStdin) {
  const std::string path = dir_.path() + "/data.json";
  {
    FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("{\"from\": \"file\"}\n", file);
    std::fclose(file);
  }
  ASSERT_EQ(
      Run({"append", "--stream", "s-1", "--type", "T", "--data-file", path})
          .exit_code,
      0);
  ASSERT_EQ(
      Run({"append", "--stream", "s-1", "--type", "T", "--data-file", "-"},
          "{\"from\": \"stdin\"}")
          .exit_code,
      0);
  Result missing = Run({"append", "--stream", "s-1", "--type", "T",
                        "--data-file", dir_.path() + "/missing.json"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("missing.json"));

  Result read = Run({"read", "s-1"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  std::vector<Json> events = JsonLines(read.out);
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0]["data"], Json::parse(R"({"from": "file"})"));
  EXPECT_EQ(events[1]["data"], Json::parse(R"({"from": "stdin"})"));
}

TEST_F(CliTest, NonJsonContentTypeIsSentVerbatimAndShownAsBase64) {
  Result append = Run({"append", "--stream", "s-1", "--type", "T", "--data",
                       "hello, not json", "--content-type", "text/plain"});
  ASSERT_EQ(append.exit_code, 0) << append.err;
  Result read = Run({"read", "s-1"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  std::vector<Json> events = JsonLines(read.out);
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0]["content_type"], "text/plain");
  EXPECT_EQ(events[0]["data"], absl::Base64Escape("hello, not json"));
}

TEST_F(CliTest, AppendRequestInProtobufJson) {
  const std::string request = absl::StrCat(
      R"({"stream": "cart-7", "expected_revision": {"state": "STATE_NO_STREAM"},
          "events": [
            {"event_id": ")",
      NewUuid(), R"(", "type": "ItemAdded",
             "content_type": "application/json", "data": ")",
      absl::Base64Escape(R"({"item":1})"), R"("},
            {"eventId": ")",
      NewUuid(), R"(", "type": "ItemAdded"}]})");
  Result append = Run({"append", "--request", "-"}, request);
  ASSERT_EQ(append.exit_code, 0) << append.err;
  Json response = Json::parse(append.out);
  EXPECT_EQ(response["first_revision"], "0");
  EXPECT_EQ(response["last_revision"], "1");

  Result read = Run({"read", "cart-7"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  std::vector<Json> events = JsonLines(read.out);
  ASSERT_THAT(events, SizeIs(2));
  EXPECT_EQ(events[0]["data"], Json::parse(R"({"item":1})"));

  Result bad = Run({"append", "--request", "-"}, R"({"stream": 5, "x": 1})");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, StartsWith("throughline: --request is not an "
                                  "AppendRequest"));
  Result mixed = Run({"append", "--request", "-", "--stream", "s"}, request);
  EXPECT_EQ(mixed.exit_code, 2);
}

TEST_F(CliTest, ReadPagesBackwardsAndCounts) {
  AppendDirectly("tick-1", 250);  // More than one page of 100.
  Result all = Run({"read", "tick-1"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::vector<Json> events = JsonLines(all.out);
  ASSERT_THAT(events, SizeIs(250));
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["revision"], std::to_string(i));
    EXPECT_EQ(events[i]["data"]["i"], i);
  }

  Result from = Run({"read", "tick-1", "--from", "240", "--count", "3"});
  ASSERT_EQ(from.exit_code, 0) << from.err;
  EXPECT_THAT(Field(JsonLines(from.out), "revision"),
              ElementsAre("240", "241", "242"));

  Result last = Run({"read", "tick-1", "--from-end", "--count", "2"});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_THAT(Field(JsonLines(last.out), "revision"),
              ElementsAre("249", "248"));

  Result backwards = Run({"read", "tick-1", "--backwards", "--from", "150"});
  ASSERT_EQ(backwards.exit_code, 0) << backwards.err;
  std::vector<std::string> revisions =
      Field(JsonLines(backwards.out), "revision");
  ASSERT_THAT(revisions, SizeIs(151));
  EXPECT_EQ(revisions.front(), "150");
  EXPECT_EQ(revisions.back(), "0");

  Result whole_backwards = Run({"read", "tick-1", "--from-end"});
  ASSERT_EQ(whole_backwards.exit_code, 0) << whole_backwards.err;
  EXPECT_THAT(Lines(whole_backwards.out), SizeIs(250));
}

TEST_F(CliTest, ReadOfAMissingStreamIsNotFound) {
  Result result = Run({"read", "nothing-here"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("throughline: NOT_FOUND: "));
}

// ---------------------------------------------------------------------------
// log, stream, head.

TEST_F(CliTest, LogIsInPositionOrderAndFilters) {
  Append("order-1", "OrderPlaced");
  Append("cart-1", "ItemAdded");
  Append("order-2", "OrderPlaced");
  Append("cart-1", "ItemRemoved");
  Append("order-1", "OrderShipped");

  Result all = Run({"log"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::vector<Json> events = JsonLines(all.out);
  EXPECT_THAT(Field(events, "position"), ElementsAre("1", "2", "3", "4", "5"));
  EXPECT_THAT(Field(events, "stream"),
              ElementsAre("order-1", "cart-1", "order-2", "cart-1", "order-1"));

  Result orders = Run({"log", "--category", "order"});
  ASSERT_EQ(orders.exit_code, 0) << orders.err;
  EXPECT_THAT(Field(JsonLines(orders.out), "position"),
              ElementsAre("1", "3", "5"));

  Result both = Run({"log", "--category=order", "--category=cart", "--type",
                     "OrderPlaced", "--type", "ItemRemoved"});
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_THAT(Field(JsonLines(both.out), "position"),
              ElementsAre("1", "3", "4"));

  Result window = Run({"log", "--from", "2", "--count", "2"});
  ASSERT_EQ(window.exit_code, 0) << window.err;
  EXPECT_THAT(Field(JsonLines(window.out), "position"), ElementsAre("2", "3"));

  Result none = Run({"log", "--category", "nothing"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_THAT(none.out, IsEmpty());
}

TEST_F(CliTest, LogPagesToTheHead) {
  AppendDirectly("tick-1", 700);
  AppendDirectly("tick-2", 700);  // 1400 events: two pages of 1000.
  Result all = Run({"log"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::vector<std::string> positions = Field(JsonLines(all.out), "position");
  ASSERT_THAT(positions, SizeIs(1400));
  for (size_t i = 0; i < positions.size(); ++i) {
    ASSERT_EQ(positions[i], std::to_string(i + 1));
  }
  Result counted = Run({"log", "--count", "1200"});
  ASSERT_EQ(counted.exit_code, 0) << counted.err;
  EXPECT_THAT(Lines(counted.out), SizeIs(1200));
}

TEST_F(CliTest, StreamAndHead) {
  Result empty_head = Run({"head"});
  ASSERT_EQ(empty_head.exit_code, 0) << empty_head.err;
  // The head hash of an empty log is the chain's genesis: 32 zero bytes.
  EXPECT_EQ(Json::parse(empty_head.out),
            Json::parse(R"({"head_position":"0","head_hash":)"
                        R"("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="})"));

  Append("order-1", "OrderPlaced");
  Append("cart-1", "ItemAdded");
  Append("order-1", "OrderShipped");

  Result stream = Run({"stream", "order-1"});
  ASSERT_EQ(stream.exit_code, 0) << stream.err;
  EXPECT_EQ(Json::parse(stream.out),
            Json::parse(
                R"({"stream":"order-1","revision":"1","last_position":"3"})"));

  Result head = Run({"head"});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  const Json head_json = Json::parse(head.out);
  EXPECT_EQ(head_json["head_position"], "3");
  std::string head_hash;
  ASSERT_TRUE(absl::Base64Unescape(head_json["head_hash"].get<std::string>(),
                                   &head_hash));
  EXPECT_EQ(head_hash.size(), 32u);

  Result missing = Run({"stream", "nothing-here"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, StartsWith("throughline: NOT_FOUND: "));
}

// ---------------------------------------------------------------------------
// health.

TEST_F(CliTest, HealthPrintsServing) {
  Result result = Run({"health"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "SERVING\n");
}

TEST_F(CliTest, HealthOfAStoppedServerFails) {
  server_->Shutdown();
  Result result = Run({"health"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("throughline: UNAVAILABLE: "));
  EXPECT_THAT(result.out, IsEmpty());
}

TEST_F(CliTest, BusStatusWithoutABusSaysSo) {
  Result result = Run({"bus-status"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("throughline: UNIMPLEMENTED: "));
}

TEST_F(CliTest, TrustCommandsCheckTheirFlagsAndNeedAClusterNode) {
  Result missing = Run({"trust"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("trust: missing owner, restore or move"));
  Result restore = Run({"trust", "restore", "--trust", "northfield"});
  EXPECT_EQ(restore.exit_code, 2);
  EXPECT_THAT(restore.err, HasSubstr("--from-bus is required"));
  Result move = Run({"trust", "move", "--trust", "northfield"});
  EXPECT_EQ(move.exit_code, 2);
  EXPECT_THAT(move.err, HasSubstr("--to NODE is required"));
  Result unknown = Run({"trust", "steal"});
  EXPECT_EQ(unknown.exit_code, 2);
  // A server that is not a cluster node does not serve ClusterService.
  Result owner = Run({"trust", "owner", "--trust", "northfield"});
  EXPECT_EQ(owner.exit_code, 1);
  EXPECT_THAT(owner.err, StartsWith("throughline: UNIMPLEMENTED: "));
}

// ---------------------------------------------------------------------------
// log --follow.

TEST_F(CliTest, FollowSeesNewEventsAndStopsOnInterrupt) {
  Append("order-1", "OrderPlaced", R"({"n": 1})");
  CliProcess follow({"--server=" + address_, "--token=" + AdminToken("demo"),
                     "log", "--follow", "--category", "order"},
                    {}, "");
  // The first line proves the subscription is running.
  std::optional<std::string> first = follow.ReadLine();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(Json::parse(*first)["position"], "1");

  Append("cart-1", "ItemAdded");  // Filtered out.
  Append("order-2", "OrderPlaced", R"({"n": 2})");
  std::optional<std::string> second = follow.ReadLine();
  ASSERT_TRUE(second.has_value());
  Json event = Json::parse(*second);
  EXPECT_EQ(event["position"], "3");
  EXPECT_EQ(event["stream"], "order-2");
  EXPECT_EQ(event["data"], Json::parse(R"({"n": 2})"));

  follow.Signal(SIGINT);
  Result result = follow.Wait();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, IsEmpty());
  EXPECT_THAT(result.err, IsEmpty());
}

TEST_F(CliTest, FollowStopsAfterCount) {
  Append("order-1", "OrderPlaced");
  Append("order-1", "OrderPlaced");
  Append("order-1", "OrderPlaced");
  Result result = Run({"log", "--follow", "--from", "2", "--count", "2"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(Field(JsonLines(result.out), "position"), ElementsAre("2", "3"));
}

TEST_F(CliTest, FollowEndsWithAnErrorWhenTheServerStops) {
  CliProcess follow({"--server=" + address_, "--token=" + AdminToken("demo"),
                     "log", "--follow"},
                    {}, "");
  Append("order-1", "OrderPlaced");
  ASSERT_TRUE(follow.ReadLine().has_value());
  server_->Shutdown();
  Result result = follow.Wait();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, StartsWith("throughline: UNAVAILABLE: "));
}

// ---------------------------------------------------------------------------
// Tenants, environment and usage.

TEST_F(CliTest, TenantsAreIsolated) {
  Append("order-1", "OrderPlaced", "{}", "alpha");

  Result other = Run({"--tenant=beta", "read", "order-1"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.err, StartsWith("throughline: NOT_FOUND: "));
  Result other_head = Run({"head", "--tenant", "beta"});
  ASSERT_EQ(other_head.exit_code, 0) << other_head.err;
  EXPECT_EQ(Json::parse(other_head.out)["head_position"], "0");
  Result other_log = Run({"log", "--tenant=beta"});
  ASSERT_EQ(other_log.exit_code, 0) << other_log.err;
  EXPECT_THAT(other_log.out, IsEmpty());
  Result default_tenant = Run({"head"});
  EXPECT_EQ(Json::parse(default_tenant.out)["head_position"], "0");

  Result own = Run({"read", "order-1", "--tenant=alpha"});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  EXPECT_THAT(Lines(own.out), SizeIs(1));

  // The credential names the trust: alpha's token reads alpha whatever
  // --tenant says.
  Result by_token =
      Run({"--tenant=beta", "--token=" + AdminToken("alpha"), "head"});
  ASSERT_EQ(by_token.exit_code, 0) << by_token.err;
  EXPECT_EQ(Json::parse(by_token.out)["head_position"], "1");

  Result none = RunRaw({"--server=" + address_, "head"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, StartsWith("throughline: UNAUTHENTICATED: "));
}

TEST_F(CliTest, ServerAndCredentialFromTheEnvironment) {
  Append("order-1", "OrderPlaced", "{}", "alpha");
  Result result = RunRaw({"head"}, "",
                         {"THROUGHLINE_SERVER=" + address_,
                          "THROUGHLINE_TOKEN=" + AdminToken("alpha")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Json::parse(result.out)["head_position"], "1");

  // A token file.
  const std::string file = dir_.path() + "/alpha.token";
  {
    std::ofstream out(file);
    out << AdminToken("alpha") << "\n";
  }
  Result from_file = RunRaw(
      {"head"}, "",
      {"THROUGHLINE_SERVER=" + address_, "THROUGHLINE_TOKEN_FILE=" + file});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(Json::parse(from_file.out)["head_position"], "1");

  // Flags win over the environment.
  Result flagged = RunRaw({"head", "--token=" + AdminToken("demo")}, "",
                          {"THROUGHLINE_SERVER=" + address_,
                           "THROUGHLINE_TOKEN=" + AdminToken("alpha")});
  ASSERT_EQ(flagged.exit_code, 0) << flagged.err;
  EXPECT_EQ(Json::parse(flagged.out)["head_position"], "0");
}

TEST_F(CliTest, HelpListsEveryCommandAndFlag) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"help"}, {"--help"}, {"-h"}, {"read", "--help"}}) {
    Result result = RunRaw(args);
    EXPECT_EQ(result.exit_code, 0) << args[0];
    for (const char* word : {"append",
                             "read",
                             "log",
                             "stream",
                             "head",
                             "health",
                             "help",
                             "--server",
                             "--tenant",
                             "--timeout",
                             "--stream",
                             "--type",
                             "--id",
                             "--expected",
                             "--data",
                             "--data-file",
                             "--content-type",
                             "--correlation-id",
                             "--causation-id",
                             "--actor",
                             "--source-platform",
                             "--occurred-at",
                             "--request",
                             "--from",
                             "--backwards",
                             "--from-end",
                             "--count",
                             "--category",
                             "--follow",
                             "record",
                             "--json",
                             "--json-file",
                             "--list",
                             "areas",
                             "demo",
                             "--seed",
                             "--schools",
                             "--staff",
                             "--dry-run",
                             "THROUGHLINE_SERVER",
                             "THROUGHLINE_TENANT"}) {
      EXPECT_THAT(result.out, HasSubstr(word));
    }
  }
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"read"},
           {"read", "a", "b"},
           {"read", "s", "--count", "x"},
           {"read", "s", "--from", "1", "--from-end"},
           {"log", "--bogus"},
           {"log", "--count", "0"},
           {"append", "--type", "T"},
           {"append", "--stream", "s"},
           {"append", "--stream", "s", "--type", "T", "--expected", "maybe"},
           {"append", "--stream", "s", "--type", "T", "--occurred-at",
            "yesterday"},
           {"append", "--stream", "s", "--type", "T", "--data", "1",
            "--data-file", "-"},
           {"--timeout=-1", "head"},
           {"head", "--server"},
           {"record"},
           {"record", "NoSuchRpc"},
           {"record", "AddSchool", "school.nope=1"},
           {"areas", "extra"},
           {"demo", "--staff", "5"},
           {"demo", "--schools", "9"},
           {"demo", "--seed", "x"},
       }) {
    Result result = Run(args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ");
    EXPECT_THAT(result.err, StartsWith("throughline: "));
    EXPECT_THAT(result.out, IsEmpty());
  }
  absl::StatusOr<uint64_t> head = server_->store()->HeadPosition("demo");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, 0u);
}

// ---------------------------------------------------------------------------
// record, areas and demo: the CPD silo services.

namespace cpd = ::throughline::cpd::v1;

class CliCpdTest : public CliTest {
 protected:
  static constexpr char kTrust[] = "northfield";

  // Runs `throughline --tenant=northfield record <args>`.
  Result Record(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--tenant=northfield", "record"});
    return Run(args, input);
  }

  // Records, expecting success; the RecordResponse as JSON.
  Json RecordOk(const std::vector<std::string>& args,
                const std::string& input = "") {
    Result result = Record(args, input);
    EXPECT_EQ(result.exit_code, 0)
        << absl::StrJoin(args, " ") << ": " << result.err;
    EXPECT_THAT(result.err, IsEmpty());
    EXPECT_THAT(Lines(result.out), SizeIs(1));
    return result.exit_code == 0 ? Json::parse(result.out) : Json();
  }

  // The last event of `stream` in the trust.
  eventstore::RecordedEvent LastEvent(const std::string& stream) {
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
        server_->store()->ReadStream(kTrust, stream, 0, false, 1000);
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok() || events->empty()) return {};
    return events->back();
  }

  // The data of the last event of `stream`, as a T.
  template <typename T>
  T LastEventAs(const std::string& stream) {
    T message;
    EXPECT_TRUE(message.ParseFromString(LastEvent(stream).record.data()));
    return message;
  }

  uint64_t Head(const std::string& tenant = kTrust) {
    absl::StatusOr<uint64_t> head = server_->store()->HeadPosition(tenant);
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? *head : 0;
  }

  // Registers the trust on 2025-09-01 with school "north", departments
  // north-maths and north-science, teacher t1 and senior leader t2.
  void Seed() {
    const std::string at = "--occurred-at=2025-09-01T00:00:00Z";
    RecordOk({"RegisterTrust", "trust.name=Northfield Learning Trust", at});
    RecordOk({"AddSchool", "school.school_id=north", "school.name=North", at});
    for (const char* department : {"maths", "science"}) {
      RecordOk({"AddDepartment",
                absl::StrCat("department.department_id=north-", department),
                "department.school_id=north",
                absl::StrCat("department.name=", department), at});
    }
    RecordOk({"RecordStaffJoined", "joined.staff_id=t1",
              "joined.school_id=north",
              "joined.department_ids=north-maths,north-science",
              "joined.role=teacher", "joined.personal.display_name=Ada", at});
    RecordOk({"StaffDirectoryService.RecordStaffJoined", "joined.staff_id=t2",
              "joined.school_id=north", "joined.role=STAFF_ROLE_SENIOR_LEADER",
              "joined.personal.display_name=Bo", at});
  }
};

TEST_F(CliCpdTest, RecordsFromFlags) {
  Json registered =
      RecordOk({"RegisterTrust", "trust.name=Northfield Learning Trust",
                "--occurred-at", "2025-09-01T00:00:00Z"});
  // TrustRegistered and the default taxonomy.
  EXPECT_EQ(registered["first_position"], "1");
  EXPECT_EQ(registered["last_position"], "13");
  EXPECT_THAT(registered["event_ids"], SizeIs(13));
  EXPECT_EQ(registered["already_applied"], false);
  {
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
        server_->store()->ReadStream(kTrust, "organisation", 0, false, 1);
    ASSERT_TRUE(events.ok());
    cpd::TrustRegistered trust;
    ASSERT_TRUE(trust.ParseFromString(events->front().record.data()));
    EXPECT_EQ(trust.name(), "Northfield Learning Trust");
    EXPECT_EQ(events->front().record.occurred_at_micros(),
              absl::ToUnixMicros(absl::FromCivil(absl::CivilDay(2025, 9, 1),
                                                 absl::UTCTimeZone())));
  }

  RecordOk({"OrganisationService.AddSchool", "school.school_id=north",
            "school.name=North School"});
  EXPECT_EQ(LastEventAs<cpd::SchoolAdded>("organisation").name(),
            "North School");
  RecordOk({"AddDepartment", "department.department_id=north-maths",
            "department.school_id=north", "department.name=Maths"});
  RecordOk({"AddDepartment", "department.department_id=north-science",
            "department.school_id=north", "department.name=Science"});

  // Repeated fields take comma-separated values; enums their short names.
  RecordOk({"RecordStaffJoined", "joined.staff_id=t1", "joined.school_id=north",
            "joined.department_ids=north-maths,north-science",
            "joined.role=early-career-teacher",
            "joined.personal.display_name=Ada Lovelace", "--actor=hr-admin",
            "--source-platform=hr-system"});
  const eventstore::RecordedEvent event = LastEvent("staff-t1");
  cpd::StaffMemberJoined joined;
  ASSERT_TRUE(joined.ParseFromString(event.record.data()));
  EXPECT_THAT(joined.department_ids(),
              ElementsAre("north-maths", "north-science"));
  EXPECT_EQ(joined.role(), cpd::STAFF_ROLE_EARLY_CAREER_TEACHER);
  // Stored sealed; revealed, the name given.
  EXPECT_EQ(joined.personal().display_name(), "");
  EXPECT_TRUE(joined.personal().has_sealed());
  ASSERT_TRUE(server_->personal_data()->Reveal(kTrust, &joined).ok());
  EXPECT_EQ(joined.personal().display_name(), "Ada Lovelace");
  EXPECT_EQ(event.record.actor(), "hr-admin");
  EXPECT_EQ(event.record.source_platform(), "hr-system");
  EXPECT_EQ(event.record.type(), "StaffMemberJoined");
}

TEST_F(CliCpdTest, SubjectExportEraseAndRetention) {
  Seed();
  RecordOk({"RecordStaffLeft", "left.staff_id=t1",
            "--occurred-at=2025-10-01T00:00:00Z"});
  const TempDir out;
  const std::string csv_path = out.path() + "/t1.csv";
  Result csv = Run({"--tenant=northfield", "subject", "export", "t1",
                    "--format=csv", "--output", csv_path});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  std::ifstream csv_file(csv_path);
  std::stringstream csv_text;
  csv_text << csv_file.rdbuf();
  const std::vector<std::string> rows = Lines(csv_text.str());
  // Header, joined, left, then the access entry of this export.
  ASSERT_EQ(rows.size(), 4u) << csv_text.str();
  EXPECT_THAT(rows[0], StartsWith("record,position,occurred_at,"));
  EXPECT_THAT(rows[1], StartsWith("event,"));
  EXPECT_THAT(rows[1], HasSubstr("StaffMemberJoined"));
  EXPECT_THAT(rows[1], HasSubstr("Ada"));
  EXPECT_THAT(rows[2], HasSubstr("StaffMemberLeft"));
  EXPECT_THAT(rows[3], StartsWith("access,"));
  EXPECT_THAT(rows[3], HasSubstr("ROLE_ADMIN"));
  EXPECT_THAT(
      rows[3],
      HasSubstr("/throughline.privacy.v1.PrivacyService/ExportSubject"));

  Result json = Run({"--tenant=northfield", "subject", "export", "t1"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  Json exported = Json::parse(json.out);
  ASSERT_THAT(exported["events"], SizeIs(2));
  EXPECT_EQ(exported["events"][0]["event"]["staff_member_joined"]["personal"]
                    ["display_name"],
            "Ada");
  // Both exports so far, oldest first.
  ASSERT_THAT(exported["access"], SizeIs(2));
  EXPECT_EQ(exported["access"][1]["method"],
            "/throughline.privacy.v1.PrivacyService/ExportSubject");
  EXPECT_EQ(exported["access"][1]["subject_staff_id"], "t1");

  // Erasure needs --yes; then the name reads as erased.
  Result refused = Run({"--tenant=northfield", "subject", "erase", "t2"});
  EXPECT_EQ(refused.exit_code, 2);
  Result erased =
      Run({"--tenant=northfield", "subject", "erase", "t2", "--yes"});
  ASSERT_EQ(erased.exit_code, 0) << erased.err;
  EXPECT_THAT(Json::parse(erased.out)["erased_kinds"],
              ElementsAre("PERSONAL_DATA_KIND_STAFF_DETAILS"));
  Json t2 =
      Json::parse(Run({"--tenant=northfield", "subject", "export", "t2"}).out);
  EXPECT_EQ(t2["events"][0]["event"]["staff_member_joined"]["personal"]
              ["display_name"],
            "[erased]");

  // Retention: set, show, run (t1 left more than a year ago).
  Result set = Run({"--tenant=northfield", "retention", "set",
                    "staff-details=1", "appraisal=6"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  Result shown = Run({"--tenant=northfield", "retention", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(Json::parse(shown.out)["rules"], SizeIs(2));
  EXPECT_EQ(
      Run({"--tenant=northfield", "retention", "set", "nonsense=1"}).exit_code,
      2);
  Result run = Run({"--tenant=northfield", "retention", "run"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Json report = Json::parse(run.out);
  ASSERT_THAT(report["erased"], SizeIs(1));
  EXPECT_EQ(report["erased"][0]["staff_id"], "t1");
}

TEST_F(CliCpdTest, BusDisclosureShowAndSet) {
  Seed();
  Result shown = Run({"--tenant=northfield", "bus-disclosure", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_FALSE(Json::parse(shown.out).value("clear_personal_data", false));
  Result set = Run({"--tenant=northfield", "bus-disclosure", "set", "on"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_TRUE(Json::parse(set.out)["clear_personal_data"]);
  shown = Run({"--tenant=northfield", "bus-disclosure", "show"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  Json now = Json::parse(shown.out);
  EXPECT_TRUE(now["clear_personal_data"]);
  EXPECT_EQ(now["position"], Json::parse(set.out)["position"]);
  EXPECT_EQ(
      Run({"--tenant=northfield", "bus-disclosure", "set", "maybe"}).exit_code,
      2);
  EXPECT_EQ(Run({"--tenant=northfield", "bus-disclosure", "set"}).exit_code, 2);
}

TEST_F(CliCpdTest, RecordsFromJsonAndFlagsTogether) {
  Seed();
  const std::string observation = R"({
    "observation": {
      "observation_id": "obs-1",
      "observedStaffId": "t1",
      "observer_staff_id": "t2",
      "kind": "OBSERVATION_KIND_FORMAL",
      "development_points": ["questioning"],
      "ratings": [{"area": "questioning", "rating": 2}]
    }
  })";
  RecordOk({"RecordObservation", "--json", observation,
            "observation.ratings[1].area=behaviour",
            "observation.ratings[1].rating=4",
            "observation.strengths=behaviour", "--occurred-at",
            "2025-10-01T10:00:00Z"});
  const cpd::ObservationRecorded recorded =
      LastEventAs<cpd::ObservationRecorded>("observation-obs-1");
  EXPECT_EQ(recorded.observed_staff_id(), "t1");
  EXPECT_EQ(recorded.kind(), cpd::OBSERVATION_KIND_FORMAL);
  EXPECT_THAT(recorded.strengths(), ElementsAre("behaviour"));
  ASSERT_EQ(recorded.ratings_size(), 2);
  EXPECT_EQ(recorded.ratings(0).area(), "questioning");
  EXPECT_EQ(recorded.ratings(0).rating(), 2);
  EXPECT_EQ(recorded.ratings(1).area(), "behaviour");
  EXPECT_EQ(recorded.ratings(1).rating(), 4);

  // From stdin, with a nested message and a map given by path.
  RecordOk({"AddDevelopmentArea", "--json-file", "-"},
           R"({"area": {"code": "oracy", "label": "Oracy"}})");
  RecordOk({"RecordCpdDecision", "decision.decision_id=d-1",
            "decision.decided_by_staff_id=t2",
            "decision.decision=Launch a questioning programme",
            "decision.rationale=Flagged everywhere",
            "decision.evidence[0].view=emergent-needs",
            "decision.evidence[0].parameters[scope]=trust",
            "decision.evidence[0].log_position=3",
            R"(decision.evidence[1]={"record_ids": ["obs-1"]})",
            "decision.areas=questioning,oracy"});
  const cpd::CpdDecisionRecorded decision =
      LastEventAs<cpd::CpdDecisionRecorded>("decision-d-1");
  ASSERT_EQ(decision.evidence_size(), 2);
  EXPECT_EQ(decision.evidence(0).parameters().at("scope"), "trust");
  EXPECT_EQ(decision.evidence(0).log_position(), 3u);
  EXPECT_THAT(decision.evidence(1).record_ids(), ElementsAre("obs-1"));
  EXPECT_THAT(decision.areas(), ElementsAre("questioning", "oracy"));
}

TEST_F(CliCpdTest, AGivenRequestIdMakesARetryIdempotent) {
  Seed();
  const std::vector<std::string> walk = {"RecordLearningWalk",
                                         "request_id=walk-request-1",
                                         "walk.walk_id=w1",
                                         "walk.school_id=north",
                                         "walk.development_points=questioning",
                                         "walk.lessons_seen=8"};
  Json first = RecordOk(walk);
  const uint64_t head = Head();
  Json again = RecordOk(walk);
  EXPECT_EQ(first["already_applied"], false);
  EXPECT_EQ(again["already_applied"], true);
  EXPECT_EQ(again["event_ids"], first["event_ids"]);
  EXPECT_EQ(Head(), head);
  // Without a request id each call is new: the same walk id is taken.
  std::vector<std::string> fresh = walk;
  fresh.erase(fresh.begin() + 1);
  Result taken = Record(fresh);
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_THAT(taken.err,
              StartsWith("throughline: ALREADY_EXISTS: walk.walk_id"));
}

TEST_F(CliCpdTest, BadInputIsAUsageErrorAndNothingIsSent) {
  Seed();
  const uint64_t head = Head();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "missing RPC"},
      {{"RecordObservatoin"}, "unknown RPC \"RecordObservatoin\""},
      {{"recordobservation"},
       "did you mean ObservationService.RecordObservation"},
      {{"ListDevelopmentAreas"}, "reads rather than records"},
      {{"AddSchool", "school.nmae=x"},
       "bad field path \"school.nmae\": school (SchoolAdded) has no field "
       "\"nmae\"; its fields are: school_id, name"},
      {{"AddSchool", "schol.name=x"},
       "AddSchoolRequest has no field \"schol\""},
      {{"RecordObservation", "observation.kind=sometimes"},
       "observation.kind: \"sometimes\" is not a value of ObservationKind"},
      {{"RecordObservation", "observation.ratings.area=x"},
       "observation.ratings is a list: give an index"},
      {{"RecordObservation", "observation.ratings[2].area=x"},
       "index 2 is past the end"},
      {{"RecordSessionHeld", "session.minutes=-5"},
       "session.minutes: \"-5\" is not a non-negative 32-bit integer"},
      {{"AddSchool", "school"}, "is not a field.path=value assignment"},
      {{"AddSchool", "school=north"}, "is a SchoolAdded message"},
      {{"AddSchool", "--json", "{\"school\": "}, "--json: not valid JSON"},
      {{"AddSchool", "--json", "{}", "--json-file", "-"},
       "give --json or --json-file, not both"},
      {{"AddSchool", "--json-file", "/no/such/file"},
       "--json-file: cannot open"},
      {{"AddSchool", "--occurred-at", "yesterday"},
       "--occurred-at: \"yesterday\" is not an RFC 3339 time"},
      {{"--list", "--json", "{}"}, "--list cannot be combined with --json"},
  };
  for (const Case& c : cases) {
    Result result = Record(c.args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(result.err, StartsWith("throughline: record"));
    EXPECT_THAT(result.err, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(result.out, IsEmpty());
  }
  EXPECT_EQ(Head(), head);
}

TEST_F(CliCpdTest, RefusalsShowTheCodeAndTheServersField) {
  Result unregistered =
      Record({"AddSchool", "school.school_id=north", "school.name=North"});
  EXPECT_EQ(unregistered.exit_code, 1);
  EXPECT_THAT(unregistered.err,
              StartsWith("throughline: FAILED_PRECONDITION: tenant: "));
  Result nameless = Record({"RegisterTrust"});
  EXPECT_EQ(nameless.exit_code, 1);
  EXPECT_THAT(nameless.err,
              StartsWith("throughline: INVALID_ARGUMENT: trust.name: "));
  EXPECT_THAT(nameless.out, IsEmpty());
  EXPECT_EQ(Head(), 0u);

  Seed();
  const uint64_t head = Head();
  Result unknown_area = Record(
      {"RecordObservation", "observation.observation_id=o9",
       "observation.observed_staff_id=t1", "observation.observer_staff_id=t2",
       "observation.kind=drop-in", "observation.development_points=telepathy"});
  EXPECT_EQ(unknown_area.exit_code, 1);
  EXPECT_THAT(unknown_area.err,
              StartsWith("throughline: INVALID_ARGUMENT: "
                         "observation.development_points[0]: "));
  EXPECT_EQ(Head(), head);
}

TEST_F(CliCpdTest, ListsTheRecordingRpcsAndTheirFields) {
  // Listing needs no server.
  Result list = RunRaw({"--server=127.0.0.1:1", "record", "--list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const std::vector<std::string> lines = Lines(list.out);
  EXPECT_EQ(lines.size(), cli::RecordingMethods().size());
  EXPECT_GE(lines.size(), 28u);
  EXPECT_THAT(lines, ::testing::Contains(
                         "OrganisationService.RegisterTrust  request_id, "
                         "occurred_at, trust (TrustRegistered)"));
  EXPECT_THAT(lines, ::testing::Contains(
                         "ObservationService.RecordObservation  request_id, "
                         "occurred_at, observation (ObservationRecorded)"));
  EXPECT_THAT(list.out, ::testing::Not(HasSubstr("ListDevelopmentAreas")));

  Result fields = RunRaw({"record", "--list", "RecordObservation"});
  ASSERT_EQ(fields.exit_code, 0) << fields.err;
  EXPECT_THAT(fields.out, HasSubstr("observation.ratings[i].rating  int32"));
  EXPECT_THAT(fields.out,
              HasSubstr("observation.kind  ObservationKind: formal, drop-in, "
                        "peer, video"));
  EXPECT_THAT(fields.out, HasSubstr("occurred_at  Timestamp (RFC 3339)"));
}

TEST_F(CliCpdTest, AreasListsTheTaxonomy) {
  Result unregistered = Run({"--tenant=northfield", "areas"});
  EXPECT_EQ(unregistered.exit_code, 1);
  EXPECT_THAT(unregistered.err, StartsWith("throughline: FAILED_PRECONDITION"));
  Seed();
  RecordOk({"AddDevelopmentArea", "area.code=oracy", "area.label=Oracy"});
  RecordOk({"RetireDevelopmentArea", "retire.code=literacy"});
  Result areas = Run({"--tenant=northfield", "areas"});
  ASSERT_EQ(areas.exit_code, 0) << areas.err;
  const std::vector<Json> lines = JsonLines(areas.out);
  ASSERT_THAT(lines, SizeIs(13));
  EXPECT_EQ(lines[0]["code"], "behaviour");
  EXPECT_EQ(lines[2]["code"], "questioning");
  EXPECT_EQ(lines[12]["code"], "oracy");
  EXPECT_EQ(lines[12]["label"], "Oracy");
  bool literacy_retired = false;
  for (const Json& area : lines) {
    if (area["code"] == "literacy") literacy_retired = area["retired"];
  }
  EXPECT_TRUE(literacy_retired);
}

// The numbers in the demo summary's "Calls: N sent, R recorded, A already
// applied." line, and its "Log head: H" line.
struct DemoSummary {
  uint64_t sent = 0, recorded = 0, already = 0, head = 0;
};
DemoSummary ParseDemoSummary(const std::string& out) {
  DemoSummary summary;
  bool calls = false, head = false;
  for (const std::string& line : Lines(out)) {
    unsigned long long a = 0, b = 0, c = 0;
    if (std::sscanf(line.c_str(),
                    "Calls: %llu sent, %llu recorded, %llu already applied.",
                    &a, &b, &c) == 3) {
      summary = {a, b, c, summary.head};
      calls = true;
    } else if (std::sscanf(line.c_str(), "Log head: %llu", &a) == 1) {
      summary.head = a;
      head = true;
    }
  }
  EXPECT_TRUE(calls && head) << out;
  return summary;
}

TEST_F(CliCpdTest, DemoSeedsATrustAndARerunAppendsNothing) {
  const std::vector<std::string> demo = {
      "--tenant=demo-trust", "demo", "--seed=3", "--schools=2", "--staff=40"};
  Result dry = Run({"--tenant=demo-trust", "demo", "--seed=3", "--schools=2",
                    "--staff=40", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const std::vector<Json> calls = JsonLines(dry.out);
  ASSERT_GT(calls.size(), 100u);
  EXPECT_EQ(calls.front()["rpc"], "OrganisationService.RegisterTrust");
  EXPECT_EQ(calls.front()["request"]["request_id"], "demo-3-2x40-00001");
  EXPECT_EQ(Head("demo-trust"), 0u);  // A dry run sends nothing.

  Result first = Run(demo);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, StartsWith("Trust \"demo-trust\": "));
  EXPECT_THAT(first.out, HasSubstr("ObservationRecorded"));
  EXPECT_THAT(first.out, HasSubstr("SessionHeld"));
  const DemoSummary before = ParseDemoSummary(first.out);
  EXPECT_EQ(before.sent, calls.size());
  EXPECT_EQ(before.recorded, calls.size());
  EXPECT_EQ(before.already, 0u);
  EXPECT_EQ(before.head, Head("demo-trust"));

  Result second = Run(demo);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const DemoSummary after = ParseDemoSummary(second.out);
  EXPECT_EQ(after.sent, calls.size());
  EXPECT_EQ(after.recorded, 0u);
  EXPECT_EQ(after.already, calls.size());
  EXPECT_EQ(after.head, before.head);
  EXPECT_EQ(Head("demo-trust"), before.head);

  // Another seed in the same trust stops at once: it is registered already.
  Result other = Run(
      {"--tenant=demo-trust", "demo", "--seed=4", "--schools=2", "--staff=40"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.err, HasSubstr("call 1 of"));
  EXPECT_THAT(other.err, HasSubstr("FAILED_PRECONDITION: tenant: "));
  EXPECT_EQ(Head("demo-trust"), before.head);
}

// ---------------------------------------------------------------------------
// Unit tests of the CLI's pieces.

TEST(CliArgsTest, ParsesFlagsInBothFormsAndPositionals) {
  constexpr cli::FlagSpec kSpecs[] = {
      {"from"}, {"type", true, true}, {"follow", false}, {"help", false}};
  const std::vector<std::string> args = {"s-1", "--from=3",    "--type",
                                         "A",   "--type=B",    "--follow",
                                         "--",  "--not-a-flag"};
  absl::StatusOr<cli::ParsedArgs> parsed = cli::ParseArgs(args, kSpecs);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Get("from"), "3");
  EXPECT_THAT(parsed->GetAll("type"), ElementsAre("A", "B"));
  EXPECT_TRUE(parsed->Has("follow"));
  EXPECT_FALSE(parsed->Has("help"));
  EXPECT_THAT(parsed->positional, ElementsAre("s-1", "--not-a-flag"));

  const std::vector<std::string> short_help = {"-h"};
  EXPECT_TRUE(cli::ParseArgs(short_help, kSpecs)->Has("help"));
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--nope"},
                                             {"--from"},
                                             {"--from=1", "--from=2"},
                                             {"--follow=yes"}}) {
    EXPECT_FALSE(cli::ParseArgs(bad, kSpecs).ok()) << bad[0];
  }
}

TEST(CliArgsTest, FindsTheCommandAfterGlobalFlags) {
  constexpr cli::FlagSpec kGlobal[] = {{"tenant"}, {"help", false}};
  const std::vector<std::string> args = {"--tenant", "read", "--help", "log"};
  EXPECT_EQ(cli::FindFirstPositional(args, kGlobal), 3u);
  const std::vector<std::string> none = {"--tenant=a", "--help"};
  EXPECT_EQ(cli::FindFirstPositional(none, kGlobal), std::nullopt);
}

TEST(CliRecordTest, FindsRpcsByNameServiceOrFullName) {
  for (const char* name :
       {"RecordObservation", "ObservationService.RecordObservation",
        "throughline.cpd.v1.ObservationService.RecordObservation"}) {
    absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
        cli::FindCpdMethod(name, /*recording_only=*/true);
    ASSERT_TRUE(method.ok()) << name << ": " << method.status();
    EXPECT_EQ(cli::MethodPath(**method),
              "/throughline.cpd.v1.ObservationService/RecordObservation");
  }
  EXPECT_FALSE(cli::FindCpdMethod("Observation", true).ok());
  EXPECT_FALSE(cli::FindCpdMethod("ListDevelopmentAreas", true).ok());
  EXPECT_TRUE(cli::FindCpdMethod("ListDevelopmentAreas", false).ok());
  for (const google::protobuf::MethodDescriptor* method :
       cli::RecordingMethods()) {
    EXPECT_EQ(method->output_type()->full_name(),
              "throughline.cpd.v1.RecordResponse");
    EXPECT_NE(method->input_type()->FindFieldByName("request_id"), nullptr);
  }
  EXPECT_EQ(cli::PayloadTypeName(cpd::RecordObservationRequest()),
            "ObservationRecorded");
}

TEST(CliRecordTest, SetsScalarsEnumsAndLists) {
  cpd::RecordStaffJoinedRequest request;
  for (const char* role : {"teacher", "STAFF_ROLE_TEACHER", "Teacher", "1"}) {
    request.Clear();
    ASSERT_TRUE(cli::SetField("joined.role", role, &request).ok()) << role;
    EXPECT_EQ(request.joined().role(), cpd::STAFF_ROLE_TEACHER) << role;
  }
  ASSERT_TRUE(
      cli::SetField("joined.role", "early-career-teacher", &request).ok());
  EXPECT_EQ(request.joined().role(), cpd::STAFF_ROLE_EARLY_CAREER_TEACHER);
  absl::Status bad = cli::SetField("joined.role", "head", &request);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()),
              HasSubstr("one of teacher, early-career-teacher"));

  ASSERT_TRUE(cli::SetField("joined.department_ids", "a, b,c", &request).ok());
  EXPECT_THAT(request.joined().department_ids(), ElementsAre("a", "b", "c"));
  ASSERT_TRUE(cli::SetField("joined.department_ids[1]", "x", &request).ok());
  ASSERT_TRUE(cli::SetField("joined.department_ids[3]", "d", &request).ok());
  EXPECT_THAT(request.joined().department_ids(),
              ElementsAre("a", "x", "c", "d"));
  ASSERT_TRUE(cli::SetField("joined.department_ids", "", &request).ok());
  EXPECT_THAT(request.joined().department_ids(), IsEmpty());
  // JSON field names work too.
  ASSERT_TRUE(cli::SetField("joined.lineManagerId", "m1", &request).ok());
  EXPECT_EQ(request.joined().line_manager_id(), "m1");

  ASSERT_TRUE(
      cli::SetField("occurred_at", "2025-09-01T09:30:00Z", &request).ok());
  EXPECT_EQ(request.occurred_at().seconds(), 1756719000);
  EXPECT_FALSE(cli::SetField("occurred_at", "9:30", &request).ok());
  EXPECT_FALSE(cli::SetField("joined.staff_id.x", "1", &request).ok());
  EXPECT_FALSE(cli::SetField("joined..staff_id", "1", &request).ok());
  EXPECT_FALSE(cli::SetField("joined[0].staff_id", "1", &request).ok());

  cpd::RecordCpdSpendRequest spend;
  ASSERT_TRUE(cli::SetField("spend.amount_pence", "12345678901", &spend).ok());
  EXPECT_EQ(spend.spend().amount_pence(), 12345678901);
  EXPECT_FALSE(cli::SetField("spend.amount_pence", "1.5", &spend).ok());
}

TEST(CliRecordTest, SetsMessagesListsMapsAndOneofs) {
  cpd::RecordObservationRequest observation;
  ASSERT_TRUE(
      cli::SetField("observation.ratings[0].area", "questioning", &observation)
          .ok());
  ASSERT_TRUE(
      cli::SetField("observation.ratings[0].rating", "2", &observation).ok());
  ASSERT_TRUE(cli::SetField("observation.ratings",
                            R"({"area": "behaviour", "rating": 3})",
                            &observation)
                  .ok());  // An object appends.
  ASSERT_EQ(observation.observation().ratings_size(), 2);
  EXPECT_EQ(observation.observation().ratings(1).rating(), 3);
  ASSERT_TRUE(cli::SetField("observation.ratings",
                            R"([{"area": "feedback", "rating": 4}])",
                            &observation)
                  .ok());  // An array replaces.
  ASSERT_EQ(observation.observation().ratings_size(), 1);
  EXPECT_EQ(observation.observation().ratings(0).area(), "feedback");
  EXPECT_FALSE(
      cli::SetField("observation.ratings[5].area", "x", &observation).ok());
  ASSERT_TRUE(
      cli::SetField("observation.notes", R"({"text": "Good"})", &observation)
          .ok());
  EXPECT_EQ(observation.observation().notes().text(), "Good");

  cpd::RecordCpdDecisionRequest decision;
  ASSERT_TRUE(cli::SetField("decision.evidence[0].parameters[scope]", "trust",
                            &decision)
                  .ok());
  ASSERT_TRUE(cli::SetField("decision.evidence[0].parameters[scope]",
                            "school:north", &decision)
                  .ok());
  ASSERT_TRUE(cli::SetField("decision.evidence[0].parameters[from]",
                            "2025-09-01", &decision)
                  .ok());
  const auto& parameters = decision.decision().evidence(0).parameters();
  EXPECT_EQ(parameters.size(), 2u);
  EXPECT_EQ(parameters.at("scope"), "school:north");
  ASSERT_TRUE(cli::SetField("decision.evidence[0].parameters",
                            R"({"view": "x"})", &decision)
                  .ok());
  EXPECT_EQ(decision.decision().evidence(0).parameters().size(), 1u);

  cpd::IdentifyTrainingNeedRequest need;
  ASSERT_TRUE(cli::SetField("need.scope.school_id", "north", &need).ok());
  ASSERT_TRUE(cli::SetField("need.scope.trust", "true", &need).ok());
  EXPECT_EQ(need.need().scope().target_case(), cpd::Scope::kTrust);
  EXPECT_TRUE(need.need().scope().trust());
  absl::Status unknown = cli::SetField("need.scope.everyone", "1", &need);
  EXPECT_THAT(std::string(unknown.message()),
              HasSubstr("need.scope (Scope) has no field \"everyone\"; its "
                        "fields are: trust, school_id, department_id, "
                        "staff_id"));
}

TEST(CliJsonTest, RecognisesJsonContentTypes) {
  EXPECT_TRUE(cli::IsJsonContentType("application/json"));
  EXPECT_TRUE(cli::IsJsonContentType(" Application/JSON; charset=utf-8"));
  EXPECT_TRUE(cli::IsJsonContentType("application/cloudevents+json"));
  EXPECT_FALSE(cli::IsJsonContentType(""));
  EXPECT_FALSE(cli::IsJsonContentType("text/plain"));
  EXPECT_FALSE(cli::IsJsonContentType("application/octet-stream"));
  EXPECT_FALSE(cli::IsJsonContentType("+json"));
}

TEST(CliJsonTest, ShowsJsonDataAsJsonAndOtherDataAsBase64) {
  eventstore::v1::ReadStreamResponse response;
  eventstore::v1::RecordedEvent* json_event = response.add_events();
  json_event->set_content_type("application/json");
  json_event->set_data(R"({"b": 1, "a": [true, null]})");
  json_event->set_position(18446744073709551615u);
  eventstore::v1::RecordedEvent* bad_json = response.add_events();
  bad_json->set_content_type("application/json");
  bad_json->set_data("{not json");
  eventstore::v1::RecordedEvent* binary = response.add_events();
  binary->set_content_type("application/octet-stream");
  binary->set_data(std::string("\x00\xff", 2));

  absl::StatusOr<std::string> line = cli::MessageToJsonLine(response);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->find('\n'), std::string::npos);
  Json json = Json::parse(*line);
  EXPECT_EQ(json["events"][0]["data"],
            Json::parse(R"({"b": 1, "a": [true, null]})"));
  EXPECT_EQ(json["events"][0]["position"], "18446744073709551615");
  EXPECT_EQ(json["events"][1]["data"], absl::Base64Escape("{not json"));
  EXPECT_EQ(json["events"][2]["data"],
            absl::Base64Escape(std::string("\x00\xff", 2)));
  // Proto field names, and fields at their defaults, are present.
  EXPECT_EQ(json["events"][2]["event_id"], "");
  EXPECT_EQ(json["stream_revision"], "0");
  EXPECT_EQ(json["end_of_stream"], false);
}

TEST(CliJsonTest, ValidatesJson) {
  EXPECT_TRUE(cli::ValidateJson(R"( {"a": [1, 2.5, "x"]} )").ok());
  EXPECT_TRUE(cli::ValidateJson("3").ok());
  EXPECT_FALSE(cli::ValidateJson("").ok());
  EXPECT_FALSE(cli::ValidateJson("{} {}").ok());
  absl::Status status = cli::ValidateJson("{\"a\": }");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("line 1"));
}

}  // namespace
}  // namespace throughline
