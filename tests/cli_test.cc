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
#include <map>
#include <memory>
#include <optional>
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
#include "tests/test_support.h"
#include "throughline/eventstore/v1/eventstore.pb.h"
#include "tools/cli_args.h"
#include "tools/cli_json.h"

extern char** environ;

namespace throughline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::throughline::testing::NewUuid;
using ::throughline::testing::TempDir;
using Json = nlohmann::json;

// How long a subprocess may take before the test gives up on it.
constexpr auto kPatience = std::chrono::seconds(60);

// ---------------------------------------------------------------------------
// Running the CLI.

struct Result {
  int exit_code = -1;  // -1 when it did not exit normally.
  std::string out;
  std::string err;
};

// A running CLI process with its stdin, stdout and stderr on pipes.
class CliProcess {
 public:
  // Starts the CLI with `args`, the test's environment minus THROUGHLINE_*
  // plus `env` ("NAME=value"), and `input` on stdin.
  CliProcess(const std::vector<std::string>& args,
             const std::vector<std::string>& env, const std::string& input) {
    std::vector<std::string> argv_strings = {THROUGHLINE_CLI_PATH};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (!absl::StartsWith(*entry, "THROUGHLINE_")) {
        env_strings.push_back(*entry);
      }
    }
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> argv, envp;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    int in[2], out[2], err[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    // A clean slate of signals, whatever gRPC did to this process.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int spawned = posix_spawn(&pid_, argv[0], &actions, &attributes,
                                    argv.data(), envp.data());
    EXPECT_EQ(spawned, 0) << "posix_spawn: " << std::strerror(spawned);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    // Small inputs fit in the pipe, so this cannot block for long.
    size_t written = 0;
    while (written < input.size()) {
      ssize_t n = write(in[1], input.data() + written, input.size() - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
    close(in[1]);
  }

  ~CliProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // The next line of stdout without its newline; nullopt at end of output or
  // when none came within kPatience.
  std::optional<std::string> ReadLine() {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (true) {
      const size_t newline = out_.find('\n', out_pos_);
      if (newline != std::string::npos) {
        std::string line = out_.substr(out_pos_, newline - out_pos_);
        out_pos_ = newline + 1;
        return line;
      }
      if (out_fd_ < 0 || !Pump(deadline)) return std::nullopt;
    }
  }

  void Signal(int signal_number) { kill(pid_, signal_number); }

  // Waits for the process to end, collecting the rest of its output. Kills
  // it and fails the test if it takes longer than kPatience.
  Result Wait() {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while ((out_fd_ >= 0 || err_fd_ >= 0) && Pump(deadline)) {
    }
    Result result;
    int status = 0;
    while (true) {
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "the CLI did not exit; killing it";
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    result.out = out_.substr(out_pos_);
    result.err = err_;
    return result;
  }

 private:
  // Reads whatever stdout and stderr have; false once both are closed or the
  // deadline passed.
  bool Pump(std::chrono::steady_clock::time_point deadline) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "no output from the CLI in time";
      return false;
    }
    const int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) {
      ADD_FAILURE() << "no output from the CLI in time";
      return false;
    }
    ReadReady(fds[0], &out_fd_, &out_);
    ReadReady(fds[1], &err_fd_, &err_);
    return out_fd_ >= 0 || err_fd_ >= 0;
  }

  static void ReadReady(const pollfd& polled, int* fd, std::string* into) {
    if (*fd < 0 || polled.revents == 0) return;
    char buffer[4096];
    const ssize_t n = read(*fd, buffer, sizeof(buffer));
    if (n > 0) {
      into->append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      close(*fd);
      *fd = -1;
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  size_t out_pos_ = 0;
  std::string err_;
};

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
  Result Run(std::vector<std::string> args, const std::string& input = "",
             const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), "--server=" + address_);
    return RunRaw(args, input, env);
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
  EXPECT_EQ(Json::parse(empty_head.out),
            Json::parse(R"({"head_position":"0"})"));

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
  EXPECT_EQ(Json::parse(head.out), Json::parse(R"({"head_position":"3"})"));

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

// ---------------------------------------------------------------------------
// log --follow.

TEST_F(CliTest, FollowSeesNewEventsAndStopsOnInterrupt) {
  Append("order-1", "OrderPlaced", R"({"n": 1})");
  CliProcess follow(
      {"--server=" + address_, "log", "--follow", "--category", "order"}, {},
      "");
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
  CliProcess follow({"--server=" + address_, "log", "--follow"}, {}, "");
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

  Result bad = Run({"--tenant=Not_Valid", "head"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, StartsWith("throughline: INVALID_ARGUMENT: "));
}

TEST_F(CliTest, ServerAndTenantFromTheEnvironment) {
  Append("order-1", "OrderPlaced", "{}", "alpha");
  Result result =
      RunRaw({"head"}, "",
             {"THROUGHLINE_SERVER=" + address_, "THROUGHLINE_TENANT=alpha"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Json::parse(result.out)["head_position"], "1");

  // Flags win over the environment.
  Result flagged =
      RunRaw({"head", "--tenant=demo"}, "",
             {"THROUGHLINE_SERVER=" + address_, "THROUGHLINE_TENANT=alpha"});
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
