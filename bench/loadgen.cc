// throughline-loadgen: drives a running throughline-server over gRPC and
// prints throughput and latency.
//
//   append     N clients, each with one Append in flight at a time (gRPC's
//              callback API: no thread per client), to S streams chosen at
//              random, E events of B bytes per append, expected revision
//              "any", a fresh event id per event (random UUIDv4, or
//              time-ordered UUIDv7 with --ids=ordered).
//   read       N clients, each paging through the tenant's whole log with
//              ReadAll (max_count --page) from position 0, starting again
//              at 0 when it reaches the head: a catch-up read.
//   subscribe  N clients, each a Subscribe from position 0 that reads until
//              CaughtUp, then cancels and starts again (one thread each).
//
// It runs for --duration-seconds, or until --count appends (append) or
// --count events (read, subscribe) are done. Latencies are exact: every call
// is timed and the percentiles come from all the samples (subscribe: one
// sample per full catch-up).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/flags.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "throughline/auth/v1/auth.grpc.pb.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"

namespace throughline::bench {
namespace {

namespace v1 = ::throughline::eventstore::v1;
using Clock = std::chrono::steady_clock;

enum class Mode { kAppend, kRead, kSubscribe };

struct Options {
  std::string server;
  std::string tenant;
  std::string token;
  std::string operator_token_file;
  Mode mode = Mode::kAppend;
  std::string mode_name;
  int clients = 64;
  int channels = 4;
  int64_t streams = 1000;
  int64_t event_bytes = 300;
  int64_t events_per_append = 1;
  double duration_seconds = 10;
  int64_t count = 0;  // 0: run for duration_seconds.
  int64_t page = 10000;
  bool ordered_ids = false;
  double timeout_seconds = 30;
  bool json = false;
};

// What one client measured.
struct ClientStats {
  std::vector<int64_t> latencies_ns;
  uint64_t calls = 0;
  uint64_t events = 0;
  std::map<int, uint64_t> errors;  // By gRPC status code.
  std::string last_error;
};

// Shared run state: when to stop, and who is still running.
class Run {
 public:
  explicit Run(const Options& options) : options_(options) {}

  // Starts the clock for `clients` clients.
  void Begin(int clients) {
    {
      absl::MutexLock lock(&mu_);
      running_ = clients;
    }
    start_ = Clock::now();
    end_ =
        start_ + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(options_.duration_seconds));
  }

  // Whether a client may start another call. In count mode the budget is
  // appends (append) or events (read), shared by all clients.
  bool MayIssue() {
    if (options_.count > 0) {
      if (options_.mode == Mode::kAppend) {
        return issued_.fetch_add(1) < static_cast<uint64_t>(options_.count);
      }
      return done_events_.load() < static_cast<uint64_t>(options_.count);
    }
    return Clock::now() < end_;
  }
  void AddEvents(uint64_t n) { done_events_.fetch_add(n); }

  void ClientFinished() {
    absl::MutexLock lock(&mu_);
    --running_;
    if (running_ == 0) finish_ = Clock::now();
  }
  // Blocks until every client has finished; returns the elapsed seconds.
  double Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* running) { return *running == 0; }, &running_));
    return std::chrono::duration<double>(finish_ - start_).count();
  }

 private:
  const Options& options_;
  Clock::time_point start_, end_, finish_;
  std::atomic<uint64_t> issued_{0};
  std::atomic<uint64_t> done_events_{0};
  absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

// A version 4 (random) UUID, or with `ordered` a version 7 one: 48 bits of
// Unix milliseconds first, so ids sort by creation time (RFC 9562).
std::string NewUuid(absl::BitGen& gen, bool ordered) {
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  const uint64_t lo = absl::Uniform<uint64_t>(gen);
  if (ordered) {
    const uint64_t millis = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count());
    hi = (millis << 16) | (hi & 0xffff);
  }
  return absl::StrFormat("%08x-%04x-%x%03x-%04x-%012x", hi >> 32,
                         (hi >> 16) & 0xffff, ordered ? 7 : 4, hi & 0xfff,
                         0x8000 | ((lo >> 48) & 0x3fff),
                         lo & 0xffffffffffffull);
}

void NewContext(const Options& options,
                std::unique_ptr<grpc::ClientContext>* context) {
  *context = std::make_unique<grpc::ClientContext>();
  (*context)->AddMetadata("authorization",
                          absl::StrCat("Bearer ", options.token));
  (*context)->set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(static_cast<int64_t>(
                               options.timeout_seconds * 1000)));
}

// One append or read client: a chain of unary calls, each started from the
// previous one's completion callback.
class UnaryClient {
 public:
  UnaryClient(const Options& options, Run* run, v1::EventStore::Stub* stub)
      : options_(options), run_(run), stub_(stub) {
    stats_.latencies_ns.reserve(1 << 16);
    if (options_.mode == Mode::kAppend) {
      std::string data(static_cast<size_t>(options_.event_bytes), ' ');
      for (char& c : data) {
        c = static_cast<char>('a' + absl::Uniform(gen_, 0, 26));
      }
      for (int64_t i = 0; i < options_.events_per_append; ++i) {
        v1::ProposedEvent* event = append_request_.add_events();
        event->set_type("BenchEvent");
        event->set_data(data);
      }
    }
  }

  void Start() { Next(); }

  const ClientStats& stats() const { return stats_; }

 private:
  void Next() {
    if (!run_->MayIssue()) {
      run_->ClientFinished();
      return;
    }
    NewContext(options_, &context_);
    if (options_.mode == Mode::kAppend) {
      append_request_.set_stream(absl::StrCat(
          "bench-", absl::Uniform<int64_t>(gen_, 0, options_.streams)));
      for (v1::ProposedEvent& event : *append_request_.mutable_events()) {
        event.set_event_id(NewUuid(gen_, options_.ordered_ids));
      }
      started_ = Clock::now();
      stub_->async()->Append(context_.get(), &append_request_,
                             &append_response_,
                             [this](grpc::Status status) { Done(status); });
    } else {
      read_request_.set_from_position(position_);
      read_request_.set_max_count(static_cast<uint32_t>(options_.page));
      read_response_.Clear();
      started_ = Clock::now();
      stub_->async()->ReadAll(context_.get(), &read_request_, &read_response_,
                              [this](grpc::Status status) { Done(status); });
    }
  }

  void Done(const grpc::Status& status) {
    const int64_t latency =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                             started_)
            .count();
    if (!status.ok()) {
      ++stats_.errors[status.error_code()];
      stats_.last_error = status.error_message();
    } else {
      stats_.latencies_ns.push_back(latency);
      ++stats_.calls;
      if (options_.mode == Mode::kAppend) {
        stats_.events += static_cast<uint64_t>(options_.events_per_append);
      } else {
        const uint64_t n = static_cast<uint64_t>(read_response_.events_size());
        stats_.events += n;
        run_->AddEvents(n);
        position_ = read_response_.next_position();
        if (position_ > read_response_.head_position()) position_ = 0;
      }
    }
    Next();
  }

  const Options& options_;
  Run* const run_;
  v1::EventStore::Stub* const stub_;
  absl::BitGen gen_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::AppendRequest append_request_;
  v1::AppendResponse append_response_;
  v1::ReadAllRequest read_request_;
  v1::ReadAllResponse read_response_;
  uint64_t position_ = 0;
  Clock::time_point started_;
  ClientStats stats_;
};

// One subscriber: a thread reading Subscribe streams from position 0 to
// CaughtUp, over and over.
void Subscriber(const Options& options, Run* run, v1::EventStore::Stub* stub,
                ClientStats* stats) {
  while (run->MayIssue()) {
    std::unique_ptr<grpc::ClientContext> context;
    NewContext(options, &context);
    v1::SubscribeRequest request;
    request.set_from_position(0);
    const Clock::time_point started = Clock::now();
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
        stub->Subscribe(context.get(), request);
    v1::SubscribeResponse message;
    bool caught_up = false;
    uint64_t batch = 0;
    while (reader->Read(&message)) {
      if (message.has_event()) {
        ++stats->events;
        if (++batch == 1000) {
          run->AddEvents(batch);
          batch = 0;
        }
      } else if (message.has_caught_up()) {
        caught_up = true;
        break;
      }
    }
    run->AddEvents(batch);
    context->TryCancel();
    const grpc::Status status = reader->Finish();
    if (!caught_up) {
      ++stats->errors[status.error_code()];
      stats->last_error = status.error_message();
      continue;
    }
    ++stats->calls;
    stats->latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() -
                                                             started)
            .count());
  }
  run->ClientFinished();
}

// Exact percentile by nearest rank of sorted samples, in milliseconds.
double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1e6;
}

// An admin token of options.tenant, created with the operator token in
// options.operator_token_file.
absl::StatusOr<std::string> MintTenantToken(const Options& options) {
  std::ifstream file(options.operator_token_file);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--operator-token-file: cannot read ", options.operator_token_file));
  }
  std::string operator_token = text.str();
  while (!operator_token.empty() &&
         (operator_token.back() == '\n' || operator_token.back() == ' ')) {
    operator_token.pop_back();
  }
  auto stub = ::throughline::auth::v1::AuthService::NewStub(
      grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials()));
  ::throughline::auth::v1::CreateTokenRequest request;
  request.set_request_id(
      absl::StrCat("loadgen-", absl::ToUnixNanos(absl::Now())));
  request.mutable_principal()->set_name("throughline-loadgen");
  request.mutable_principal()->set_role(::throughline::auth::v1::ROLE_ADMIN);
  request.mutable_principal()->set_trust(options.tenant);
  ::throughline::auth::v1::CreateTokenResponse response;
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", operator_token));
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  grpc::Status status = stub->CreateToken(&context, request, &response);
  if (!status.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "creating a token of ", options.tenant, ": ", status.error_message()));
  }
  return response.secret();
}

absl::Status ParseOptions(int argc, char** argv, Options* options) {
  Flags flags({
      {"server", "127.0.0.1:50051", "server address host:port"},
      {"tenant", "bench",
       "the trust to load; with --operator-token-file the load generator "
       "mints an admin token of it"},
      {"token", "",
       "bearer token (default: $THROUGHLINE_TOKEN); its trust "
       "is the one loaded"},
      {"operator-token-file", "",
       "an operator token file (e.g. <data_dir>/operator-token): mint an "
       "admin token of --tenant with it"},
      {"mode", "append", "append | read | subscribe"},
      {"clients", "64", "concurrent clients, each with one call in flight"},
      {"channels", "4",
       "gRPC channels (connections) the clients are spread over"},
      {"streams", "1000", "append: streams chosen from at random"},
      {"event-bytes", "300", "append: bytes of data per event"},
      {"events-per-append", "1", "append: events per Append call"},
      {"duration-seconds", "10", "how long to run (unless --count)"},
      {"count", "0",
       "stop after this many appends (append) or events read (read, "
       "subscribe) instead of a duration; 0 = use --duration-seconds"},
      {"page", "10000", "read: ReadAll max_count"},
      {"ids", "random",
       "append: event ids, random (UUIDv4) or time-ordered (UUIDv7)"},
      {"timeout-seconds", "30", "deadline of each call"},
      {"json", "false", "also print the result as one line of JSON", true},
  });
  if (absl::Status s = flags.Parse(argc, argv); !s.ok()) return s;
  if (flags.help()) {
    std::fputs(flags
                   .Usage("throughline-loadgen",
                          "Drives a running throughline-server over gRPC "
                          "and prints throughput and latency.")
                   .c_str(),
               stdout);
    std::exit(0);
  }
  options->server = flags.String("server");
  options->tenant = flags.String("tenant");
  options->token = flags.String("token");
  if (options->token.empty()) {
    if (const char* env = std::getenv("THROUGHLINE_TOKEN"); env != nullptr) {
      options->token = env;
    }
  }
  options->operator_token_file = flags.String("operator-token-file");
  options->mode_name = flags.String("mode");
  if (options->mode_name == "append") {
    options->mode = Mode::kAppend;
  } else if (options->mode_name == "read") {
    options->mode = Mode::kRead;
  } else if (options->mode_name == "subscribe") {
    options->mode = Mode::kSubscribe;
  } else {
    return absl::InvalidArgumentError(
        "--mode: expected append, read or subscribe");
  }
  int64_t clients, channels;
  if (absl::Status s = flags.Int("clients", 1, &clients); !s.ok()) return s;
  if (absl::Status s = flags.Int("channels", 1, &channels); !s.ok()) return s;
  options->clients = static_cast<int>(clients);
  options->channels = static_cast<int>(std::min(channels, clients));
  for (const auto& [name, out, min] :
       {std::tuple("streams", &options->streams, 1),
        std::tuple("event-bytes", &options->event_bytes, 0),
        std::tuple("events-per-append", &options->events_per_append, 1),
        std::tuple("count", &options->count, 0),
        std::tuple("page", &options->page, 1)}) {
    if (absl::Status s = flags.Int(name, min, out); !s.ok()) return s;
  }
  if (absl::Status s =
          flags.Double("duration-seconds", 0.001, &options->duration_seconds);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          flags.Double("timeout-seconds", 0.001, &options->timeout_seconds);
      !s.ok()) {
    return s;
  }
  options->json = flags.Bool("json");
  if (flags.String("ids") != "random" && flags.String("ids") != "ordered") {
    return absl::InvalidArgumentError("--ids: expected random or ordered");
  }
  options->ordered_ids = flags.String("ids") == "ordered";
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  Options options;
  if (absl::Status s = ParseOptions(argc, argv, &options); !s.ok()) {
    std::fprintf(stderr, "throughline-loadgen: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  if (options.token.empty() && !options.operator_token_file.empty()) {
    absl::StatusOr<std::string> token = MintTenantToken(options);
    if (!token.ok()) {
      std::fprintf(stderr, "throughline-loadgen: %s\n",
                   std::string(token.status().message()).c_str());
      return 1;
    }
    options.token = *token;
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::EventStore::Stub>> stubs;
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    // A connection of its own for each channel.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("throughline.loadgen.channel", i);
    channels.push_back(grpc::CreateCustomChannel(
        options.server, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                           std::chrono::seconds(10))) {
      std::fprintf(stderr, "throughline-loadgen: cannot connect to %s\n",
                   options.server.c_str());
      return 1;
    }
    stubs.push_back(v1::EventStore::NewStub(channels.back()));
  }

  Run run(options);
  std::vector<std::unique_ptr<UnaryClient>> unary;
  std::vector<ClientStats> subscriber_stats(
      options.mode == Mode::kSubscribe ? options.clients : 0);
  std::vector<std::thread> threads;
  run.Begin(options.clients);
  for (int i = 0; i < options.clients; ++i) {
    v1::EventStore::Stub* stub = stubs[i % stubs.size()].get();
    if (options.mode == Mode::kSubscribe) {
      threads.emplace_back(Subscriber, std::cref(options), &run, stub,
                           &subscriber_stats[i]);
    } else {
      unary.push_back(std::make_unique<UnaryClient>(options, &run, stub));
    }
  }
  for (auto& client : unary) client->Start();
  const double seconds = run.Wait();
  for (std::thread& thread : threads) thread.join();

  ClientStats total;
  auto merge = [&total](const ClientStats& stats) {
    total.latencies_ns.insert(total.latencies_ns.end(),
                              stats.latencies_ns.begin(),
                              stats.latencies_ns.end());
    total.calls += stats.calls;
    total.events += stats.events;
    for (const auto& [code, n] : stats.errors) total.errors[code] += n;
    if (!stats.last_error.empty()) total.last_error = stats.last_error;
  };
  for (const auto& client : unary) merge(client->stats());
  for (const ClientStats& stats : subscriber_stats) merge(stats);
  std::sort(total.latencies_ns.begin(), total.latencies_ns.end());
  uint64_t errors = 0;
  for (const auto& [code, n] : total.errors) errors += n;

  const double calls_per_second = total.calls / seconds;
  const double events_per_second = total.events / seconds;
  const double p50 = Percentile(total.latencies_ns, 50);
  const double p99 = Percentile(total.latencies_ns, 99);
  const double p999 = Percentile(total.latencies_ns, 99.9);
  const double max = Percentile(total.latencies_ns, 100);
  const char* calls_name = options.mode == Mode::kAppend ? "appends"
                           : options.mode == Mode::kRead ? "pages"
                                                         : "catch-ups";

  std::printf(
      "throughline-loadgen: mode=%s server=%s tenant=%s clients=%d "
      "channels=%d",
      options.mode_name.c_str(), options.server.c_str(), options.tenant.c_str(),
      options.clients, options.channels);
  if (options.mode == Mode::kAppend) {
    std::printf(" streams=%lld event-bytes=%lld events-per-append=%lld ids=%s",
                static_cast<long long>(options.streams),
                static_cast<long long>(options.event_bytes),
                static_cast<long long>(options.events_per_append),
                options.ordered_ids ? "ordered" : "random");
  } else if (options.mode == Mode::kRead) {
    std::printf(" page=%lld", static_cast<long long>(options.page));
  }
  std::printf("\n%-10s %10s %12s %7s %9s %12s %12s %9s %9s %9s %9s\n", "mode",
              calls_name, "events", "errors", "seconds",
              absl::StrCat(calls_name, "/s").c_str(), "events/s", "p50_ms",
              "p99_ms", "p99.9_ms", "max_ms");
  std::printf(
      "%-10s %10llu %12llu %7llu %9.2f %12.1f %12.1f %9.3f %9.3f %9.3f "
      "%9.3f\n",
      options.mode_name.c_str(), static_cast<unsigned long long>(total.calls),
      static_cast<unsigned long long>(total.events),
      static_cast<unsigned long long>(errors), seconds, calls_per_second,
      events_per_second, p50, p99, p999, max);
  if (errors > 0) {
    std::printf("errors:");
    for (const auto& [code, n] : total.errors) {
      std::printf(" code %d x %llu", code, static_cast<unsigned long long>(n));
    }
    std::printf("; last: %s\n", total.last_error.c_str());
  }
  if (options.json) {
    std::printf(
        "{\"mode\": \"%s\", \"clients\": %d, \"streams\": %lld, "
        "\"event_bytes\": %lld, \"events_per_append\": %lld, \"calls\": %llu, "
        "\"events\": %llu, \"errors\": %llu, \"seconds\": %.3f, "
        "\"calls_per_second\": %.1f, \"events_per_second\": %.1f, "
        "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, "
        "\"max_ms\": %.3f}\n",
        options.mode_name.c_str(), options.clients,
        static_cast<long long>(options.streams),
        static_cast<long long>(options.event_bytes),
        static_cast<long long>(options.events_per_append),
        static_cast<unsigned long long>(total.calls),
        static_cast<unsigned long long>(total.events),
        static_cast<unsigned long long>(errors), seconds, calls_per_second,
        events_per_second, p50, p99, p999, max);
  }
  std::fflush(stdout);
  return errors > 0 || total.calls == 0 ? 1 : 0;
}

}  // namespace
}  // namespace throughline::bench

int main(int argc, char** argv) { return throughline::bench::Main(argc, argv); }
