// throughline: the command-line client of a Throughline server. It appends
// and reads events, tails the log and checks health, printing everything as
// JSON in protobuf's JSON mapping. `throughline help` lists the commands.
//
// Exit status: 0 on success; 1 when a call failed (stderr holds
// "throughline: <GRPC_CODE_NAME>: <message>"), the server is not SERVING or
// stdout could not be written; 2 for a usage or input error, in which case
// nothing was sent.

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "services/tenant.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"
#include "tools/cli_args.h"
#include "tools/cli_json.h"

namespace throughline::cli {
namespace {

namespace v1 = ::throughline::eventstore::v1;
namespace health = ::grpc::health::v1;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr char kDefaultServer[] = "127.0.0.1:50051";
constexpr char kDefaultTenant[] = "demo";
constexpr double kDefaultTimeoutSeconds = 10;
constexpr char kJsonContentType[] = "application/json";
// Page sizes: the server's defaults for each read.
constexpr uint64_t kStreamPageSize = 100;
constexpr uint64_t kLogPageSize = 1000;

constexpr char kUsage[] =
    R"(throughline: command-line client of a Throughline event store server.

Usage: throughline [global flags] <command> [arguments] [flags]

Commands:
  append --stream S --type T [--id UUID] [--expected E]
         [--data JSON | --data-file FILE|-] [--content-type CT]
         [--correlation-id X] [--causation-id X] [--actor X]
         [--source-platform X] [--occurred-at RFC3339]
      Appends one event to stream S and prints the AppendResponse.
        --id UUID           the event id (default: a new random v4 UUID);
                            retrying with the same id is idempotent
        --expected E        any, no_stream, stream_exists or the stream's
                            current revision N (default: any)
        --data JSON         the event data, as JSON text
        --data-file FILE|-  read the data from FILE, or from stdin for -
        --content-type CT   the data's media type (default, when data is
                            given: application/json). Data of a JSON type
                            is checked to be valid JSON before sending;
                            data of another type is sent byte for byte
        --correlation-id X, --causation-id X, --actor X,
        --source-platform X the event's metadata
        --occurred-at T     when it happened, e.g. 2024-05-01T12:00:00Z
                            (default: the time the server records it)
  append --request FILE|-
      Appends a whole AppendRequest written in protobuf's JSON mapping
      (field names as in the .proto; event data in base64) and prints the
      AppendResponse.
  read STREAM [--from N] [--backwards] [--from-end] [--count N]
      Reads one stream, printing one event per line.
        --from N            first revision to read (default: 0)
        --backwards         read towards revision 0
        --from-end          start at the stream's last event (implies
                            --backwards; not with --from)
        --count N           at most N events (default: to the end)
  log [--from P] [--count N] [--category C]... [--type T]... [--follow]
      Reads the tenant's log in position order, one event per line, up to
      its head.
        --from P            first position to read (default: the start)
        --count N           at most N events
        --category C        only events of streams of category C (the
                            stream name up to its first '-'); repeatable
        --type T            only events of type T; repeatable
        --follow            after the history, keep printing events as they
                            are appended, until interrupted (Ctrl-C) or
                            --count events were printed
  stream STREAM
      Prints the stream's current revision and last log position.
  head
      Prints the tenant's log head position.
  health
      Prints the server's health status (SERVING, NOT_SERVING, ...); exits
      0 only when it is SERVING.
  help
      Prints this text (also --help and -h).

Global flags (before or after the command):
  --server=HOST:PORT    the server (default: $THROUGHLINE_SERVER, else
                        127.0.0.1:50051)
  --tenant=T            the tenant, sent as request metadata
                        "throughline-tenant" (default: $THROUGHLINE_TENANT,
                        else demo)
  --timeout=SECONDS     deadline of each call (default: 10); log --follow
                        has none

Flags take their value as --flag=value or --flag value.

Output is JSON in protobuf's JSON mapping with the .proto's field names
(64-bit numbers appear as strings). The data of an event whose content type
is JSON is shown as that JSON; other data is shown in base64.

Exit status: 0 on success; 1 when a call failed ("throughline: CODE: message"
on stderr), the server is not SERVING or the output could not be written;
2 for a usage or input error (nothing was sent).
)";

constexpr FlagSpec kGlobalFlags[] = {
    {"server"}, {"tenant"}, {"timeout"}, {"help", false}};

// ---------------------------------------------------------------------------
// Reporting.

// Prints a usage or input error and returns kExitUsage.
int UsageError(absl::string_view message) {
  std::fprintf(stderr, "throughline: %s\nRun 'throughline help' for usage.\n",
               std::string(message).c_str());
  return kExitUsage;
}

// Prints a failed call as "throughline: <CODE_NAME>: <message>" and returns
// kExitFailed.
int CallError(const grpc::Status& status) {
  std::string code = absl::StatusCodeToString(
      static_cast<absl::StatusCode>(status.error_code()));
  if (code.empty()) code = absl::StrCat("CODE_", status.error_code());
  std::fprintf(stderr, "throughline: %s: %s\n", code.c_str(),
               status.error_message().c_str());
  return kExitFailed;
}

// Prints an internal failure (not a call's) and returns kExitFailed.
int LocalError(absl::string_view message) {
  std::fprintf(stderr, "throughline: %s\n", std::string(message).c_str());
  return kExitFailed;
}

// Writes one line to stdout and flushes it, so that a reader of a pipe sees
// each event as soon as it is printed. False when stdout is closed or broken
// (errno tells which).
bool WriteLine(const std::string& line) {
  errno = 0;
  if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() ||
      std::fputc('\n', stdout) == EOF || std::fflush(stdout) != 0) {
    return false;
  }
  return true;
}

// What became of printing a message.
enum class Printed { kOk, kStdoutClosed, kFailed };

// Prints `message` as one JSON line. A reader that went away (EPIPE) is not
// an error: the caller stops quietly. Any other failure is reported.
Printed PrintMessage(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = MessageToJsonLine(message);
  if (!json.ok()) {
    LocalError(json.status().message());
    return Printed::kFailed;
  }
  if (WriteLine(*json)) return Printed::kOk;
  if (errno == EPIPE) return Printed::kStdoutClosed;
  LocalError(absl::StrCat("cannot write to stdout: ", std::strerror(errno)));
  return Printed::kFailed;
}

// The exit status after printing stopped with `printed` != kOk.
int ExitAfterPrinting(Printed printed) {
  return printed == Printed::kStdoutClosed ? kExitOk : kExitFailed;
}

// ---------------------------------------------------------------------------
// Connection.

struct GlobalOptions {
  std::string server = kDefaultServer;
  std::string tenant = kDefaultTenant;
  double timeout_seconds = kDefaultTimeoutSeconds;
};

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

absl::StatusOr<GlobalOptions> GlobalOptionsFrom(const ParsedArgs& args) {
  GlobalOptions options;
  options.server =
      args.Get("server").value_or(EnvOr("THROUGHLINE_SERVER", kDefaultServer));
  options.tenant =
      args.Get("tenant").value_or(EnvOr("THROUGHLINE_TENANT", kDefaultTenant));
  if (options.server.empty()) {
    return absl::InvalidArgumentError("--server: empty address");
  }
  if (std::optional<std::string> timeout = args.Get("timeout")) {
    absl::StatusOr<double> seconds = ParseSeconds("--timeout", *timeout);
    if (!seconds.ok()) return seconds.status();
    options.timeout_seconds = *seconds;
  }
  return options;
}

// A channel to the server and the stubs over it.
class Client {
 public:
  explicit Client(const GlobalOptions& options) : options_(options) {
    grpc::ChannelArguments arguments;
    // Pages of large events may exceed gRPC's default 4 MiB; the server
    // bounds what it sends.
    arguments.SetMaxReceiveMessageSize(-1);
    channel_ = grpc::CreateCustomChannel(
        options.server, grpc::InsecureChannelCredentials(), arguments);
    event_store_ = v1::EventStore::NewStub(channel_);
    health_ = health::Health::NewStub(channel_);
  }

  v1::EventStore::Stub& event_store() { return *event_store_; }
  health::Health::Stub& health() { return *health_; }

  // A context for one call of the tenant, with the --timeout deadline when
  // `with_deadline`.
  std::unique_ptr<grpc::ClientContext> NewContext(bool with_deadline = true) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata(services::kTenantMetadataKey, options_.tenant);
    if (with_deadline) {
      // Beyond ten years is as good as never, and stays within the clock.
      const double seconds = std::min(options_.timeout_seconds, 3.2e8);
      context->set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::duration<double>(seconds)));
    }
    return context;
  }

 private:
  const GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventStore::Stub> event_store_;
  std::unique_ptr<health::Health::Stub> health_;
};

// ---------------------------------------------------------------------------
// Helpers for the commands.

// The whole of `path`, or of stdin when `path` is "-".
absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path == "-") {
    std::string text{std::istreambuf_iterator<char>(std::cin),
                     std::istreambuf_iterator<char>()};
    if (std::cin.bad()) return absl::InvalidArgumentError("cannot read stdin");
    return text;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  return text.str();
}

// A random version-4 UUID in canonical lowercase text form.
std::string NewUuid() {
  absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  uint64_t lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & ~0xf000ull) | 0x4000ull;              // version 4
  lo = (lo & ~(0xc0ull << 56)) | (0x80ull << 56);  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32,
                         (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                         lo & 0xffffffffffffull);
}

absl::Status ParseExpected(const std::string& text,
                           v1::ExpectedRevision* expected) {
  if (text == "any") {
    expected->set_state(v1::ExpectedRevision::STATE_ANY);
  } else if (text == "no_stream") {
    expected->set_state(v1::ExpectedRevision::STATE_NO_STREAM);
  } else if (text == "stream_exists") {
    expected->set_state(v1::ExpectedRevision::STATE_STREAM_EXISTS);
  } else {
    absl::StatusOr<uint64_t> revision = ParseUint64("--expected", text);
    if (!revision.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--expected: \"", text,
                       "\" is not any, no_stream, stream_exists or a "
                       "revision number"));
    }
    expected->set_revision(*revision);
  }
  return absl::OkStatus();
}

// Usage error unless `command` got exactly `count` positional arguments,
// the first of which is named `what`.
std::optional<int> CheckPositional(const ParsedArgs& args,
                                   absl::string_view command, size_t count,
                                   absl::string_view what = "") {
  if (args.positional.size() == count) return std::nullopt;
  if (args.positional.size() < count) {
    return UsageError(absl::StrCat(command, ": missing ", what));
  }
  return UsageError(absl::StrCat(command, ": unexpected argument \"",
                                 args.positional[count], "\""));
}

// Reads an optional numeric flag; `error` is set (to the exit status) when
// it is malformed.
std::optional<uint64_t> OptionalUint64(const ParsedArgs& args,
                                       const std::string& name,
                                       std::optional<int>* error) {
  std::optional<std::string> text = args.Get(name);
  if (!text.has_value()) return std::nullopt;
  absl::StatusOr<uint64_t> value = ParseUint64("--" + name, *text);
  if (!value.ok()) {
    *error = UsageError(value.status().message());
    return std::nullopt;
  }
  return *value;
}

// Reads --count, which must be at least 1 when given.
std::optional<uint64_t> CountFlag(const ParsedArgs& args,
                                  std::optional<int>* error) {
  std::optional<uint64_t> count = OptionalUint64(args, "count", error);
  if (count.has_value() && *count == 0) {
    *error = UsageError("--count: must be at least 1");
    return std::nullopt;
  }
  return count;
}

// ---------------------------------------------------------------------------
// Commands. Each takes the global options and its own parsed arguments and
// returns the exit status, having printed any error.

constexpr FlagSpec kAppendFlags[] = {{"stream"},
                                     {"type"},
                                     {"id"},
                                     {"expected"},
                                     {"data"},
                                     {"data-file"},
                                     {"content-type"},
                                     {"correlation-id"},
                                     {"causation-id"},
                                     {"actor"},
                                     {"source-platform"},
                                     {"occurred-at"},
                                     {"request"}};

// The AppendRequest described by append's flags; the exit status on error.
std::optional<int> BuildAppendFromFlags(const ParsedArgs& args,
                                        v1::AppendRequest* request) {
  if (!args.Has("stream")) return UsageError("append: --stream is required");
  if (!args.Has("type")) return UsageError("append: --type is required");
  request->set_stream(*args.Get("stream"));
  if (std::optional<std::string> expected = args.Get("expected")) {
    absl::Status status =
        ParseExpected(*expected, request->mutable_expected_revision());
    if (!status.ok()) return UsageError(status.message());
  }

  v1::ProposedEvent* event = request->add_events();
  event->set_event_id(args.Get("id").value_or(NewUuid()));
  event->set_type(*args.Get("type"));

  if (args.Has("data") && args.Has("data-file")) {
    return UsageError("append: give --data or --data-file, not both");
  }
  std::optional<std::string> content_type = args.Get("content-type");
  if (args.Has("data") || args.Has("data-file")) {
    const std::string flag = args.Has("data") ? "--data" : "--data-file";
    std::string data;
    if (args.Has("data")) {
      data = *args.Get("data");
    } else {
      absl::StatusOr<std::string> read = ReadInput(*args.Get("data-file"));
      if (!read.ok())
        return UsageError(absl::StrCat(flag, ": ", read.status().message()));
      data = *std::move(read);
    }
    if (!content_type.has_value()) content_type = kJsonContentType;
    if (IsJsonContentType(*content_type)) {
      absl::Status valid = ValidateJson(data);
      if (!valid.ok()) {
        return UsageError(absl::StrCat(flag,
                                       " is not valid JSON (content type ",
                                       *content_type, "): ", valid.message()));
      }
    }
    event->set_data(std::move(data));
  }
  if (content_type.has_value()) event->set_content_type(*content_type);

  if (args.Has("correlation-id") || args.Has("causation-id") ||
      args.Has("actor") || args.Has("source-platform")) {
    v1::EventMetadata* metadata = event->mutable_metadata();
    metadata->set_correlation_id(args.Get("correlation-id").value_or(""));
    metadata->set_causation_id(args.Get("causation-id").value_or(""));
    metadata->set_actor(args.Get("actor").value_or(""));
    metadata->set_source_platform(args.Get("source-platform").value_or(""));
  }
  if (std::optional<std::string> occurred = args.Get("occurred-at")) {
    if (!google::protobuf::util::TimeUtil::FromString(
            *occurred, event->mutable_occurred_at())) {
      return UsageError(absl::StrCat(
          "--occurred-at: \"", *occurred,
          "\" is not an RFC 3339 time such as 2024-05-01T12:00:00Z"));
    }
  }
  return std::nullopt;
}

// The AppendRequest of `append --request`; the exit status on error.
std::optional<int> BuildAppendFromRequest(const ParsedArgs& args,
                                          v1::AppendRequest* request) {
  for (const FlagSpec& flag : kAppendFlags) {
    if (flag.name != "request" && args.Has(flag.name)) {
      return UsageError(
          absl::StrCat("append: --request cannot be combined "
                       "with --",
                       flag.name));
    }
  }
  absl::StatusOr<std::string> text = ReadInput(*args.Get("request"));
  if (!text.ok()) {
    return UsageError(absl::StrCat("--request: ", text.status().message()));
  }
  const auto status =
      google::protobuf::util::JsonStringToMessage(*text, request);
  if (!status.ok()) {
    return UsageError(
        absl::StrCat("--request is not an AppendRequest in "
                     "protobuf's JSON mapping: ",
                     status.ToString()));
  }
  return std::nullopt;
}

int RunAppend(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "append", 0))
    return *error;
  v1::AppendRequest request;
  std::optional<int> error = args.Has("request")
                                 ? BuildAppendFromRequest(args, &request)
                                 : BuildAppendFromFlags(args, &request);
  if (error.has_value()) return *error;

  Client client(options);
  v1::AppendResponse response;
  grpc::Status status = client.event_store().Append(client.NewContext().get(),
                                                    request, &response);
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

constexpr FlagSpec kReadFlags[] = {
    {"from"}, {"backwards", false}, {"from-end", false}, {"count"}};

int RunRead(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "read", 1, "STREAM")) {
    return *error;
  }
  std::optional<int> error;
  std::optional<uint64_t> from = OptionalUint64(args, "from", &error);
  if (error.has_value()) return *error;
  std::optional<uint64_t> count = CountFlag(args, &error);
  if (error.has_value()) return *error;
  const bool from_end = args.Has("from-end");
  if (from_end && from.has_value()) {
    return UsageError("read: give --from or --from-end, not both");
  }
  const bool backwards = from_end || args.Has("backwards");

  Client client(options);
  v1::ReadStreamRequest request;
  request.set_stream(args.positional[0]);
  request.set_direction(backwards ? v1::DIRECTION_BACKWARDS
                                  : v1::DIRECTION_FORWARDS);
  request.set_from_end(from_end);
  request.set_from_revision(from.value_or(0));
  uint64_t remaining = count.value_or(UINT64_MAX);
  while (remaining > 0) {
    request.set_max_count(
        static_cast<uint32_t>(std::min(remaining, kStreamPageSize)));
    v1::ReadStreamResponse response;
    grpc::Status status = client.event_store().ReadStream(
        client.NewContext().get(), request, &response);
    if (!status.ok()) return CallError(status);
    for (const v1::RecordedEvent& event : response.events()) {
      Printed printed = PrintMessage(event);
      if (printed != Printed::kOk) return ExitAfterPrinting(printed);
    }
    remaining -= static_cast<uint64_t>(response.events_size());
    if (response.end_of_stream() || response.events().empty()) break;
    const uint64_t last = response.events().rbegin()->revision();
    if (backwards && last == 0) break;
    request.set_from_end(false);
    request.set_from_revision(backwards ? last - 1 : last + 1);
  }
  return kExitOk;
}

constexpr FlagSpec kLogFlags[] = {{"from"},
                                  {"count"},
                                  {"category", true, true},
                                  {"type", true, true},
                                  {"follow", false}};

// Cancels a call when SIGINT or SIGTERM arrives. The signals must be blocked
// before gRPC starts its threads, so construct this before the Client; they
// stay blocked afterwards, so a second interrupt while exiting is ignored.
class InterruptWatcher {
 public:
  InterruptWatcher() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGUSR1);  // Only for Stop to wake the watcher.
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }
  ~InterruptWatcher() { Stop(); }

  // Starts watching: an interrupt cancels `context`, which must stay alive
  // until Stop returns.
  void Watch(grpc::ClientContext* context) {
    thread_ = std::thread([this, context] {
      int signal_number = 0;
      sigwait(&signals_, &signal_number);
      if (signal_number == SIGUSR1) return;
      interrupted_ = true;
      context->TryCancel();
    });
  }

  // Stops watching; after it returns the context is no longer touched.
  // Idempotent.
  void Stop() {
    if (!thread_.joinable()) return;
    if (!interrupted_) pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

  bool interrupted() const { return interrupted_; }

 private:
  sigset_t signals_;
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

// Tails the log with a subscription until interrupted, `count` events were
// printed, stdout closed or the call failed.
int FollowLog(const GlobalOptions& options, v1::SubscribeRequest request,
              std::optional<uint64_t> count) {
  InterruptWatcher watcher;  // Before the Client: see InterruptWatcher.
  Client client(options);
  std::unique_ptr<grpc::ClientContext> context =
      client.NewContext(/*with_deadline=*/false);
  watcher.Watch(context.get());
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      client.event_store().Subscribe(context.get(), request);
  uint64_t remaining = count.value_or(UINT64_MAX);
  Printed printed = Printed::kOk;
  v1::SubscribeResponse message;
  while (remaining > 0 && reader->Read(&message)) {
    // CaughtUp and Checkpoint only report progress; a person wants events.
    if (!message.has_event()) continue;
    printed = PrintMessage(message.event());
    if (printed != Printed::kOk) break;
    --remaining;
  }
  const bool stopped_here = remaining == 0 || printed != Printed::kOk;
  if (stopped_here) context->TryCancel();
  const grpc::Status status = reader->Finish();
  watcher.Stop();
  if (printed != Printed::kOk) return ExitAfterPrinting(printed);
  if (stopped_here || watcher.interrupted() || status.ok()) return kExitOk;
  return CallError(status);
}

int RunLog(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "log", 0)) return *error;
  std::optional<int> error;
  std::optional<uint64_t> from = OptionalUint64(args, "from", &error);
  if (error.has_value()) return *error;
  std::optional<uint64_t> count = CountFlag(args, &error);
  if (error.has_value()) return *error;
  v1::LogFilter filter;
  for (const std::string& category : args.GetAll("category")) {
    filter.add_categories(category);
  }
  for (const std::string& type : args.GetAll("type")) filter.add_types(type);

  if (args.Has("follow")) {
    v1::SubscribeRequest request;
    request.set_from_position(from.value_or(0));
    *request.mutable_filter() = filter;
    return FollowLog(options, std::move(request), count);
  }

  Client client(options);
  v1::ReadAllRequest request;
  request.set_from_position(from.value_or(0));
  *request.mutable_filter() = filter;
  uint64_t remaining = count.value_or(UINT64_MAX);
  while (remaining > 0) {
    request.set_max_count(
        static_cast<uint32_t>(std::min(remaining, kLogPageSize)));
    v1::ReadAllResponse response;
    grpc::Status status = client.event_store().ReadAll(
        client.NewContext().get(), request, &response);
    if (!status.ok()) return CallError(status);
    for (const v1::RecordedEvent& event : response.events()) {
      Printed printed = PrintMessage(event);
      if (printed != Printed::kOk) return ExitAfterPrinting(printed);
    }
    remaining -= static_cast<uint64_t>(response.events_size());
    // Done at the head; the progress check guards against a server that
    // would page in place.
    if (response.next_position() > response.head_position() ||
        response.next_position() <= request.from_position()) {
      break;
    }
    request.set_from_position(response.next_position());
  }
  return kExitOk;
}

int RunStream(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "stream", 1, "STREAM")) {
    return *error;
  }
  Client client(options);
  v1::GetStreamRequest request;
  request.set_stream(args.positional[0]);
  v1::GetStreamResponse response;
  grpc::Status status = client.event_store().GetStream(
      client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

int RunHead(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "head", 0))
    return *error;
  Client client(options);
  v1::GetLogInfoResponse response;
  grpc::Status status = client.event_store().GetLogInfo(
      client.NewContext().get(), v1::GetLogInfoRequest(), &response);
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

int RunHealth(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "health", 0))
    return *error;
  Client client(options);
  health::HealthCheckRequest request;  // The server as a whole.
  health::HealthCheckResponse response;
  grpc::Status status =
      client.health().Check(client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(status);
  const std::string name =
      health::HealthCheckResponse::ServingStatus_Name(response.status());
  if (!WriteLine(name.empty() ? absl::StrCat(response.status()) : name) &&
      errno != EPIPE) {
    return LocalError(
        absl::StrCat("cannot write to stdout: ", std::strerror(errno)));
  }
  return response.status() == health::HealthCheckResponse::SERVING
             ? kExitOk
             : kExitFailed;
}

struct Command {
  absl::string_view name;
  absl::Span<const FlagSpec> flags;  // Beside the global flags.
  int (*run)(const GlobalOptions&, const ParsedArgs&);
};

constexpr Command kCommands[] = {
    {"append", kAppendFlags, RunAppend},
    {"read", kReadFlags, RunRead},
    {"log", kLogFlags, RunLog},
    {"stream", {}, RunStream},
    {"head", {}, RunHead},
    {"health", {}, RunHealth},
};

int Main(std::vector<std::string> args) {
  // A reader that goes away must not kill us mid-write: writes then fail
  // with EPIPE and the command stops quietly.
  signal(SIGPIPE, SIG_IGN);

  std::optional<size_t> command_index = FindFirstPositional(args, kGlobalFlags);
  // Only global flags: maybe --help, otherwise a missing command.
  if (!command_index.has_value()) {
    absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kGlobalFlags);
    if (parsed.ok() && parsed->Has("help")) {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (!parsed.ok()) return UsageError(parsed.status().message());
    return UsageError("missing command");
  }
  const std::string command_name = args[*command_index];
  args.erase(args.begin() + static_cast<ptrdiff_t>(*command_index));
  if (command_name == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const Command* command = nullptr;
  for (const Command& candidate : kCommands) {
    if (command_name == candidate.name) command = &candidate;
  }
  if (command == nullptr) {
    return UsageError(absl::StrCat("unknown command \"", command_name, "\""));
  }

  std::vector<FlagSpec> specs(std::begin(kGlobalFlags), std::end(kGlobalFlags));
  specs.insert(specs.end(), command->flags.begin(), command->flags.end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, specs);
  if (!parsed.ok()) {
    return UsageError(
        absl::StrCat(command_name, ": ", parsed.status().message()));
  }
  if (parsed->Has("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  absl::StatusOr<GlobalOptions> options = GlobalOptionsFrom(*parsed);
  if (!options.ok()) return UsageError(options.status().message());
  return command->run(*options, *parsed);
}

}  // namespace
}  // namespace throughline::cli

int main(int argc, char** argv) {
  return throughline::cli::Main(
      std::vector<std::string>(argv + 1, argv + argc));
}
