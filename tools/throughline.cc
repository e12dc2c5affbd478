// throughline: the command-line client of a Throughline server. It appends
// and reads events, tails the log and checks health; records CPD events
// through any CPD silo RPC (generically, by reflection over the compiled-in
// descriptors); seeds a synthetic demo trust; and prints the eight views of
// the Insights service as tables (tools/cli_views.h), CSV or JSON.
// Everything else is printed as JSON in protobuf's JSON mapping.
// `throughline help` lists the commands.
//
// Exit status: 0 on success; 1 when a call failed (stderr holds
// "throughline: <GRPC_CODE_NAME>: <message>"), the server is not SERVING or
// stdout could not be written; 2 for a usage or input error, in which case
// nothing was sent.

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "nlohmann/json.hpp"
#include "services/backup.h"
#include "throughline/admin/v1/admin.grpc.pb.h"
#include "throughline/auth/v1/auth.grpc.pb.h"
#include "throughline/bus/v1/bus.grpc.pb.h"
#include "throughline/cluster/v1/cluster.grpc.pb.h"
#include "throughline/cpd/v1/organisation.grpc.pb.h"
#include "throughline/eventstore/v1/eventstore.grpc.pb.h"
#include "throughline/insights/v1/insights.grpc.pb.h"
#include "throughline/privacy/v1/privacy.grpc.pb.h"
#include "tools/cli_args.h"
#include "tools/cli_json.h"
#include "tools/cli_record.h"
#include "tools/cli_views.h"
#include "tools/demo.h"

namespace throughline::cli {
namespace {

namespace v1 = ::throughline::eventstore::v1;
namespace cpd = ::throughline::cpd::v1;
namespace health = ::grpc::health::v1;
using InsightsStub = ::throughline::insights::v1::Insights::Stub;
namespace privacy = ::throughline::privacy::v1;

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
    R"usage(throughline: command-line client of a Throughline server: its event store,
its CPD silo services and its views.

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
      Prints the tenant's log head position and its chain hash (in base64,
      as JSON maps bytes; verify prints it in hex).
  verify [--from P] [--to P] [--expect-head [POSITION:]HASH]
      Recomputes the tenant's hash chain from the stored events, page by
      page (each page one call within --timeout), and prints one JSON line:
      events checked, the range, the head position and head hash, and on
      failure the first position that does not match and why
      (content_changed, hash_changed, changed, missing_event,
      missing_hash). Exits 0 only when every checked link holds (and the
      chain passes through --expect-head). See docs/audit-and-privacy.md.
        --from P            first position to check (default: 1); a check
                            that starts later trusts the hash stored just
                            before P
        --to P              last position to check (default: the head when
                            the check starts)
        --expect-head H     a head saved earlier, as printed by verify or
                            head: POSITION:HASH (64 hex digits), or the hash
                            alone; fails unless the recomputed chain passes
                            through it (at POSITION, when given)
  bus-status
      Prints the message bus's status (operators only): per tenant, or
      only --tenant's, the last position
      published and the lag behind the log, and each side's connection and
      last error (UNIMPLEMENTED when the server runs without a bus).
  trust owner [--trust T]
      Prints the node that serves the trust and its address (any node of a
      cluster answers; UNIMPLEMENTED when the server is not a cluster node).
  trust restore --from-bus [--trust T] [--expected-owner NODE]
      On the --server node: restores the trust from the bus's event stream
      and makes this node its owner (when its owner node is gone; see
      docs/operations.md). Prints the new owner and the positions restored.
  trust move --to NODE [--trust T] [--target-token TOKEN]
      On the --server node, the trust's owner: stops its appends, lets the
      relay publish them, has NODE restore the trust from the bus and hands
      it over, with the keys of its personal data (both nodes must use the
      same master_key_file, or NODE refuses). Prints the new owner.
      --target-token is an operator token of NODE (each node keeps its own
      tokens; default: this call's token).
        --trust T           the trust (default: the --tenant)
      Use a --timeout long enough for the trust's size (e.g. --timeout=600).
  health
      Prints the server's health status (SERVING, NOT_SERVING, ...); exits
      0 only when it is SERVING.
  tokens create --role R --name N [--trust T] [--school S]... [--staff-id X]
                [--silo S]... [--expires T] [--certificate-sha256 HEX]
                [--request-id X]
      Issues a credential and prints it; the bearer token ("secret") is
      shown this once only. R is operator, admin, platform-writer,
      trust-leader, school-leader, staff-member or auditor; S of --silo is
      organisation, staff, observation, coaching, appraisal, programme or
      planning. With --certificate-sha256 it registers a client certificate
      (mTLS) for the principal instead. An admin issues tokens of its own
      trust only (the default --trust).
  tokens list [--trust T]
      Lists credentials without secrets (operators: every trust unless T).
  tokens revoke TOKEN_ID
      Revokes a credential; calls with it are refused from then on.
  whoami
      Prints the principal of the credential in use.
  access-log [--staff-id X] [--after T] [--limit N]
      Prints who read whose record when: the trust's access log (auditors
      and admins), or a staff member's own entries.
  help
      Prints this text (also --help and -h).

CPD commands (the tenant is the trust):
  record <Rpc> [--json JSON | --json-file FILE|-] [field.path=value ...]
         [--occurred-at RFC3339] [--actor X] [--source-platform X]
      Records a CPD event through any recording RPC of the CPD services
      (package throughline.cpd.v1) and prints its RecordResponse. <Rpc> is
      an RPC name, e.g. RecordObservation, or Service.Rpc, e.g.
      ObservationService.RecordObservation. The request is built from:
        --json JSON         the whole request in protobuf's JSON mapping
        --json-file FILE|-  the same, read from FILE, or from stdin for -
        field.path=value    then each assignment, in order: proto field
                            names joined by '.', e.g. observation.kind=formal
                            or joined.department_ids=north-maths,north-sci.
                            Enums take their value names, in full or
                            without the type's prefix, in any case
                            (STAFF_ROLE_TEACHER, teacher, early-career-
                            teacher); a repeated field takes comma-separated
                            values (replacing it); a Timestamp takes an RFC
                            3339 time; a list of messages takes an index,
                            observation.ratings[0].area=questioning, or JSON
                            ('observation.ratings=[{"area":"questioning",
                            "rating":2}]'); a map takes a key,
                            decision.evidence[0].parameters[scope]=trust;
                            any message field also takes a JSON object
        --occurred-at T     when it happened in school (default: now)
        --actor X           who is acting, sent as "throughline-actor"
        --source-platform X the recording platform, sent as
                            "throughline-source-platform"
      request_id defaults to a new random UUID; give request_id=X to make
      a retry idempotent (the response then says already_applied).
  record --list [<Rpc>]
      Lists every recording RPC with its request's top-level fields; with
      <Rpc>, every field path of its request with its type.
  areas
      Prints the trust's development areas (its taxonomy), one per line,
      retired ones included.
  demo [--seed N] [--schools N] [--staff N] [--actor X] [--dry-run]
      Seeds a synthetic trust (made-up names) through the CPD API: one
      academic year, starting on the most recent 1 September at least 300
      days ago, of staff, observations, learning walks, coaching,
      appraisal, programmes, sessions and follow-up, time and money,
      priorities, needs, decisions and evaluations, with "questioning"
      flagged across silos and covered by no session. Then prints the
      number of calls, the trust's events by type and its log head.
        --seed N            the seed (default: 1); the same seed, options
                            and year give the same calls with the same
                            request ids, so re-running appends nothing
        --schools N         schools, 1 to 8 (default: 3)
        --staff N           staff at the start, 12 per school to 2000
                            (default: 150)
        --actor X           sent as "throughline-actor" (default:
                            throughline-demo)
        --dry-run           print the calls as JSON lines, {"rpc": ...,
                            "request": ...}, and send nothing

Views (the joined-up views of the trust, docs/views.md):
  needs [query flags] [--watch]
      1. Emergent training needs per development area: staff flagged per
      silo, silos, staff flagged, covered and uncovered, sessions held, the
      trend; EMERGENT areas marked.
        --watch             print the view again whenever it changes, until
                            interrupted (Ctrl-C); table or json (one line
                            per update), not csv
  follow-through [query flags]
      2. Sessions with follow-up due and their (session, attendee) pairs:
      on time, late, overdue, pending; then by programme, school and
      department.
  staff STAFF_ID [--as-of-position P] [--as-of-time T] [--min-position P]
        [--format F]
      3. One person's joined-up record: placements, timeline, open goals,
      latest development points, outstanding follow-ups.
  dots [query flags]
      4. Connecting the dots: observation development points answered by
      another silo within 42 days, by school and department; the
      unanswered points.
  money [query flags]
      5. Time and money: CPD minutes allocated, held and repurposed; budget
      and spend; spend and minutes by area, programme and improvement
      priority.
  impact [query flags]
      6. Impact per area: mean observation ratings of attendees before and
      after their first session on it, beside everyone else's; impact
      evaluations by level.
  decisions [query flags] [--replay]
      7. Decision audit: each decision with its evidence replayed as of the
      cited log position, beside the same view now.
        --replay            for each replayed piece of evidence, every
                            figure of the view then (as of the cited
                            position) beside now, with the change; csv
                            prints one row per figure (decision, evidence,
                            view, figure, then, now, change)
  programmes [query flags]
      8. Programme design: sessions, span, follow-up and EEF mechanism
      groups per programme, FLAGGED when it never reaches C or D; one-off
      sessions.
  views status [--format F]
      How far the views have read the trust's log: position, head, lag,
      whether they are rebuilding, version.
  views rebuild [--format F]
      Drops the trust's view state, rebuilds it from position 0 and prints
      the status.
  Query flags:
    --school ID | --department ID
                        the scope (default: the whole trust)
    --from T, --to T    the window [from, to) of occurred times, each a
                        date (YYYY-MM-DD: midnight UTC) or an RFC 3339 time
                        (default: the 180 days before the as-of time)
    --as-of-position P  count only events at log positions <= P, e.g. to
                        see what a decision saw (default: the log head)
    --as-of-time T      the view's "now": follow-ups due before it are
                        overdue; the default window ends at it (default:
                        now)
    --min-position P    first wait (within --timeout) until the views have
                        read the log up to P, e.g. a record's last_position
    --format F          table (default), json or csv
  Tables start with the view's basis: scope, window, as-of position and
  time. Shares print as "n/d (p%)" (p rounded half up, for display only;
  "–" when d is 0), mean ratings as "m (sum/count)", money in pounds,
  dates as YYYY-MM-DD (UTC); a totals row ends a table where the column
  adds up. json prints the whole view message. csv prints the main table
  only, as one header row and one row per row, without totals: needs,
  impact and programmes their one table, follow-through the sessions,
  staff the timeline, dots the responses by school and department, money
  the spend by area, decisions the decisions, views the status; a text
  cell starting with = + - or @ gets a leading ' so that a spreadsheet
  does not run it.

  backup [--list]
      Asks the server for an online backup of every durable store into its
      backup_dir and prints the Backup (id, and per store the bytes and
      files, and how many were new rather than shared with earlier
      backups). --list prints the backups in backup_dir instead.
  restore --backup-dir DIR --data-dir DIR [--backup-id N]
      Offline (no server involved): restores backup N (default: the
      newest) of DIR into a new or empty data directory, checking every
      file's checksum, and prints {"backupId":N,"dataDir":...}. Start a
      server on that data directory; it rebuilds the views from the log.

Privacy (personal data, docs/audit-and-privacy.md):
  subject export STAFF_ID [--format json|csv] [--output FILE]
      Every event about the staff member with their personal data
      decrypted (or marked erased), the erasures of their data, and the
      access-log entries about them (who read, exported or erased their
      data, when, through which RPC; this export included). json (default)
      prints the whole ExportSubjectResponse; csv one row per event, then
      one per access entry: record (event or access), position,
      occurred_at, recorded_at, stream, type, event_id, actor,
      matched_fields (';'-separated), event (its JSON), accessed_at,
      accessor, accessor_role, accessor_token_id, method, detail.
        --output FILE       write to FILE (created mode 0600) instead of
                            stdout
  subject erase STAFF_ID --yes [--request-id X]
      Erases all of the staff member's personal data (names, emails,
      notes) by destroying their keys; events, positions and every view's
      figures stay. Cannot be undone; --yes confirms. Prints the
      EraseSubjectResponse.
  retention show
      Prints the trust's retention schedule.
  retention set [KIND=YEARS ...] [--request-id X]
      Replaces the schedule: each KIND of personal data (staff-details,
      observation, coaching, appraisal, follow-up) is erased YEARS whole
      years after the staff member leaves; kinds not named are kept. No
      KIND=YEARS clears the schedule.
  retention run [--request-id X]
      Erases what the schedule says is due now and prints what was erased.
  bus-disclosure show
      Prints whether the trust's events are also published on the bus with
      personal data in clear (docs/bus.md#clear-personal-data).
  bus-disclosure set on|off [--request-id X]
      Turns it on or off for the events recorded from now on (recorded as
      an event, so audited). Off is the default.

Global flags (before or after the command):
  --server=HOST:PORT    the server (default: $THROUGHLINE_SERVER, else
                        127.0.0.1:50051)
  --tenant=T            the trust `demo` seeds and whose saved token is
                        the default credential (default:
                        $THROUGHLINE_TENANT, else demo). The server takes
                        the tenant of every call from the credential
  --token=TOKEN         the bearer token (default: $THROUGHLINE_TOKEN)
  --token-file=FILE     read the bearer token from FILE (default:
                        $THROUGHLINE_TOKEN_FILE, else
                        ./throughline-data/tokens/<tenant>.token if it
                        exists, else ./throughline-data/operator-token,
                        the operator token a fresh server writes)
  --tls-ca-file=FILE    connect with TLS, trusting the server certificate
                        issued by the CA certificates in FILE (PEM)
  --tls-cert-file=FILE, --tls-key-file=FILE
                        a client certificate and key (PEM) for mTLS
  --timeout=SECONDS     deadline of each call (default: 10); log --follow
                        and needs --watch have none

Flags take their value as --flag=value or --flag value.

Output, but for the views' tables, is JSON in protobuf's JSON mapping with
the .proto's field names (64-bit numbers appear as strings). The data of an
event whose content type is JSON is shown as that JSON, and of a CPD event
(application/x-protobuf; proto=throughline.cpd.v1.<Name>) as that message
in the same mapping; other data is shown in base64.

Exit status: 0 on success; 1 when a call failed ("throughline: CODE: message"
on stderr), the server is not SERVING or the output could not be written;
2 for a usage or input error (nothing was sent).
)usage";

constexpr FlagSpec kGlobalFlags[] = {
    {"server"},        {"tenant"},       {"timeout"},
    {"token"},         {"token-file"},   {"tls-ca-file"},
    {"tls-cert-file"}, {"tls-key-file"}, {"help", false}};

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
  // The bearer token sent with every call; empty sends none.
  std::string token;
  // True when the token came from the quick start's operator token file
  // (kDefaultDataDir/operator-token).
  bool token_is_default_operator = false;
  // TLS: the CA to trust, and the client certificate for mTLS (PEM text).
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

// Where `./dev.sh run` keeps its data: the default credentials live there.
constexpr char kDefaultDataDir[] = "throughline-data";

// The trimmed contents of `path`, or an error naming `flag`.
absl::StatusOr<std::string> ReadCredentialFile(absl::string_view flag,
                                               const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read ", path));
  }
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

// The default token file of `tenant` that `demo` saves.
std::string SavedTokenPath(const std::string& tenant) {
  return absl::StrCat(kDefaultDataDir, "/tokens/", tenant, ".token");
}

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
  // The credential: a token given, a token file given, or a default file.
  std::optional<std::string> token = args.Get("token");
  if (!token.has_value()) {
    if (const char* env = std::getenv("THROUGHLINE_TOKEN");
        env != nullptr && *env != '\0') {
      token = env;
    }
  }
  if (token.has_value()) {
    options.token = *token;
  } else {
    std::optional<std::string> file = args.Get("token-file");
    if (!file.has_value()) {
      if (const char* env = std::getenv("THROUGHLINE_TOKEN_FILE");
          env != nullptr && *env != '\0') {
        file = env;
      }
    }
    if (file.has_value()) {
      absl::StatusOr<std::string> text =
          ReadCredentialFile("--token-file", *file);
      if (!text.ok()) return text.status();
      options.token = *text;
    } else {
      const std::string saved = SavedTokenPath(options.tenant);
      const std::string operator_file =
          absl::StrCat(kDefaultDataDir, "/operator-token");
      if (access(saved.c_str(), R_OK) == 0) {
        absl::StatusOr<std::string> text =
            ReadCredentialFile("--token-file", saved);
        if (!text.ok()) return text.status();
        options.token = *text;
      } else if (access(operator_file.c_str(), R_OK) == 0) {
        absl::StatusOr<std::string> text =
            ReadCredentialFile("--token-file", operator_file);
        if (!text.ok()) return text.status();
        options.token = *text;
        options.token_is_default_operator = true;
      }
    }
  }
  for (auto [flag, out] : {std::pair("tls-ca-file", &options.tls_ca),
                           std::pair("tls-cert-file", &options.tls_cert),
                           std::pair("tls-key-file", &options.tls_key)}) {
    if (std::optional<std::string> path = args.Get(flag)) {
      absl::StatusOr<std::string> text =
          ReadCredentialFile(absl::StrCat("--", flag), *path);
      if (!text.ok()) return text.status();
      *out = *text;
    }
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert-file and --tls-key-file: give both or neither");
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
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        grpc::InsecureChannelCredentials();
    if (!options.tls_ca.empty() || !options.tls_cert.empty()) {
      grpc::SslCredentialsOptions tls;
      tls.pem_root_certs = options.tls_ca;
      tls.pem_cert_chain = options.tls_cert;
      tls.pem_private_key = options.tls_key;
      credentials = grpc::SslCredentials(tls);
    }
    channel_ =
        grpc::CreateCustomChannel(options.server, credentials, arguments);
    event_store_ = v1::EventStore::NewStub(channel_);
    health_ = health::Health::NewStub(channel_);
  }

  v1::EventStore::Stub& event_store() { return *event_store_; }
  health::Health::Stub& health() { return *health_; }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const GlobalOptions& options() const { return options_; }

  // A context for one call of the tenant, with the --timeout deadline when
  // `with_deadline`.
  std::unique_ptr<grpc::ClientContext> NewContext(bool with_deadline = true) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!options_.token.empty()) {
      context->AddMetadata("authorization",
                           absl::StrCat("Bearer ", options_.token));
    }
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

constexpr FlagSpec kVerifyFlags[] = {{"from"}, {"to"}, {"expect-head"}};

// Chain hashes are 32 bytes on the wire and 64 lowercase hex digits for
// people.
std::string HexOf(const std::string& bytes) {
  return absl::BytesToHexString(bytes);
}

std::optional<std::string> HashFromHex(absl::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  return absl::HexStringToBytes(hex);
}

absl::string_view FaultName(v1::ChainFault fault) {
  switch (fault) {
    case v1::CHAIN_FAULT_CONTENT_CHANGED:
      return "content_changed";
    case v1::CHAIN_FAULT_HASH_CHANGED:
      return "hash_changed";
    case v1::CHAIN_FAULT_MISSING_EVENT:
      return "missing_event";
    case v1::CHAIN_FAULT_MISSING_HASH:
      return "missing_hash";
    default:
      return "changed";
  }
}

int RunVerify(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "verify", 0)) {
    return *error;
  }
  std::optional<int> error;
  std::optional<uint64_t> from = OptionalUint64(args, "from", &error);
  if (error.has_value()) return *error;
  std::optional<uint64_t> to = OptionalUint64(args, "to", &error);
  if (error.has_value()) return *error;
  std::optional<v1::ChainPoint> expected;
  if (std::optional<std::string> text = args.Get("expect-head")) {
    absl::string_view hex = *text;
    v1::ChainPoint point;
    if (const size_t colon = hex.find(':'); colon != absl::string_view::npos) {
      absl::StatusOr<uint64_t> position = ParseUint64(
          "--expect-head position", std::string(hex.substr(0, colon)));
      if (!position.ok()) return UsageError(position.status().message());
      if (*position == 0) {
        return UsageError("--expect-head: the position must be at least 1");
      }
      point.set_position(*position);
      hex.remove_prefix(colon + 1);
    }
    std::optional<std::string> hash = HashFromHex(hex);
    if (!hash.has_value()) {
      return UsageError(
          "--expect-head: expected [POSITION:]HASH with 64 hex digits");
    }
    point.set_hash(*hash);
    expected = point;
  }

  Client client(options);
  v1::VerifyRequest request;
  request.set_from_position(from.value_or(1));
  request.set_to_position(to.value_or(0));
  if (expected.has_value()) *request.mutable_expected_head() = *expected;
  uint64_t checked = 0, first = 0, last = 0, head = 0, found_at = 0;
  bool differs = false;
  std::string chain_hash, head_hash;
  std::optional<v1::ChainMismatch> mismatch;
  for (bool first_page = true;; first_page = false) {
    v1::VerifyResponse response;
    grpc::Status status = client.event_store().Verify(client.NewContext().get(),
                                                      request, &response);
    if (!status.ok()) return CallError(status);
    if (first_page) {
      first = response.first_position();
      head = response.head_position();
      head_hash = response.head_hash();
      // Later pages check the same range, whatever is appended meanwhile.
      if (request.to_position() == 0) request.set_to_position(head);
    }
    checked += response.events_checked();
    last = response.last_position();
    chain_hash = response.chain_hash();
    if (response.expected_head_found_at() != 0) {
      found_at = response.expected_head_found_at();
      request.clear_expected_head();
    }
    differs = differs || response.expected_head_differs();
    if (response.has_mismatch()) mismatch = response.mismatch();
    if (response.next_position() == 0 || mismatch.has_value() || differs) {
      break;
    }
    if (response.next_position() <= request.from_position()) {
      return LocalError("verify: the server made no progress");
    }
    // The next page continues from the hash recomputed here, not from the
    // one stored before it.
    request.set_from_position(response.next_position());
    request.set_start_hash(response.chain_hash());
  }

  google::protobuf::Struct report;
  auto& fields = *report.mutable_fields();
  fields["tenant"].set_string_value(options.tenant);
  fields["first_position"].set_number_value(static_cast<double>(first));
  fields["last_position"].set_number_value(static_cast<double>(last));
  fields["events_checked"].set_number_value(static_cast<double>(checked));
  fields["chain_hash"].set_string_value(HexOf(chain_hash));
  fields["head_position"].set_number_value(static_cast<double>(head));
  fields["head_hash"].set_string_value(HexOf(head_hash));
  fields["head"].set_string_value(absl::StrCat(head, ":", HexOf(head_hash)));
  std::string failure;
  if (mismatch.has_value()) {
    auto& m = *fields["mismatch"].mutable_struct_value()->mutable_fields();
    m["position"].set_number_value(static_cast<double>(mismatch->position()));
    m["fault"].set_string_value(std::string(FaultName(mismatch->fault())));
    m["detail"].set_string_value(mismatch->detail());
    failure =
        absl::StrCat("position ", mismatch->position(), ": ",
                     FaultName(mismatch->fault()), ": ", mismatch->detail());
  }
  if (expected.has_value()) {
    auto& e = *fields["expected_head"].mutable_struct_value()->mutable_fields();
    e["position"].set_number_value(static_cast<double>(expected->position()));
    e["hash"].set_string_value(HexOf(expected->hash()));
    e["found_at"].set_number_value(static_cast<double>(found_at));
    if (failure.empty() && found_at == 0) {
      if (expected->position() > head) {
        failure = absl::StrCat(
            "the log no longer reaches position ", expected->position(),
            " of the saved head (its head is ", head, "): events were removed");
      } else if (differs) {
        failure = absl::StrCat(
            "the chain no longer passes through the saved hash at position ",
            expected->position(), ": the log up to it was rewritten");
      } else if (expected->position() == 0) {
        failure = "the recomputed chain does not pass through the saved hash";
      } else {
        failure = absl::StrCat("position ", expected->position(),
                               " of the saved head was not in the range "
                               "checked");
      }
    }
    e["ok"].set_bool_value(found_at != 0);
  }
  fields["ok"].set_bool_value(failure.empty());
  Printed printed = PrintMessage(report);
  if (printed != Printed::kOk) return ExitAfterPrinting(printed);
  if (!failure.empty()) {
    return LocalError(absl::StrCat("verify: FAILED: ", failure));
  }
  return kExitOk;
}

int RunBusStatus(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "bus-status", 0))
    return *error;
  Client client(options);
  auto stub = ::throughline::bus::v1::BusService::NewStub(client.channel());
  ::throughline::bus::v1::GetBusStatusRequest request;
  request.set_tenant(options.tenant);
  ::throughline::bus::v1::GetBusStatusResponse response;
  grpc::Status status =
      stub->GetBusStatus(client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

constexpr FlagSpec kTrustFlags[] = {
    {"trust"}, {"from-bus", false}, {"expected-owner"}, {"to"}};

int RunTrust(const GlobalOptions& options, const ParsedArgs& args) {
  namespace cluster_v1 = ::throughline::cluster::v1;
  if (args.positional.empty()) {
    return UsageError("trust: missing owner, restore or move");
  }
  const std::string action = args.positional[0];
  if (std::optional<int> error =
          CheckPositional(args, absl::StrCat("trust ", action), 1)) {
    return *error;
  }
  const std::string trust = args.Get("trust").value_or(options.tenant);
  const bool from_bus = args.Has("from-bus");
  const std::optional<std::string> expected = args.Get("expected-owner");
  const std::optional<std::string> to = args.Get("to");
  const bool restore_flags = from_bus || expected.has_value();
  Client client(options);
  auto stub = cluster_v1::ClusterService::NewStub(client.channel());
  grpc::Status status;
  std::unique_ptr<google::protobuf::Message> response;
  if (action == "owner") {
    if (restore_flags || to.has_value()) {
      return UsageError("trust owner: takes only --trust");
    }
    cluster_v1::GetTrustOwnerRequest request;
    request.set_trust(trust);
    auto owner = std::make_unique<cluster_v1::TrustOwner>();
    status =
        stub->GetTrustOwner(client.NewContext().get(), request, owner.get());
    response = std::move(owner);
  } else if (action == "restore") {
    if (!from_bus) {
      return UsageError(
          "trust restore: --from-bus is required (the bus is the source)");
    }
    if (to.has_value()) return UsageError("trust restore: --to is for move");
    cluster_v1::RestoreTrustRequest request;
    request.set_trust(trust);
    request.set_from_bus(true);
    request.set_expected_owner(expected.value_or(""));
    auto restored = std::make_unique<cluster_v1::RestoreTrustResponse>();
    status =
        stub->RestoreTrust(client.NewContext().get(), request, restored.get());
    response = std::move(restored);
  } else if (action == "move") {
    if (!to.has_value() || to->empty()) {
      return UsageError("trust move: --to NODE is required");
    }
    if (restore_flags) {
      return UsageError(
          "trust move: --from-bus and --expected-owner are for "
          "restore");
    }
    cluster_v1::MoveTrustRequest request;
    request.set_trust(trust);
    request.set_to_node(*to);
    request.set_target_token(args.Get("target-token").value_or(""));
    auto moved = std::make_unique<cluster_v1::MoveTrustResponse>();
    status = stub->MoveTrust(client.NewContext().get(), request, moved.get());
    response = std::move(moved);
  } else {
    return UsageError(absl::StrCat("trust: unknown action \"", action,
                                   "\" (owner, restore or move)"));
  }
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(*response);
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

// ---------------------------------------------------------------------------
// Backup and restore (docs/operations.md#backup-and-restore).

constexpr FlagSpec kBackupFlags[] = {{"list", false}};

int RunBackup(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "backup", 0))
    return *error;
  Client client(options);
  std::unique_ptr<::throughline::admin::v1::Admin::Stub> stub =
      ::throughline::admin::v1::Admin::NewStub(client.channel());
  grpc::Status status;
  if (args.Has("list")) {
    ::throughline::admin::v1::ListBackupsResponse response;
    status = stub->ListBackups(client.NewContext().get(),
                               ::throughline::admin::v1::ListBackupsRequest(),
                               &response);
    if (!status.ok()) return CallError(status);
    Printed printed = PrintMessage(response);
    return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
  }
  ::throughline::admin::v1::Backup response;
  status = stub->CreateBackup(client.NewContext().get(),
                              ::throughline::admin::v1::CreateBackupRequest(),
                              &response);
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

constexpr FlagSpec kRestoreFlags[] = {
    {"backup-dir"}, {"data-dir"}, {"backup-id"}};

int RunRestore(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "restore", 0))
    return *error;
  if (!args.Has("backup-dir")) {
    return UsageError("restore: --backup-dir is required");
  }
  if (!args.Has("data-dir")) {
    return UsageError("restore: --data-dir is required");
  }
  std::optional<int> error;
  std::optional<uint64_t> id = OptionalUint64(args, "backup-id", &error);
  if (error.has_value()) return *error;
  if (id.has_value() && (*id == 0 || *id > UINT32_MAX)) {
    return UsageError("--backup-id: must be a backup id from 1 to 4294967295");
  }
  const std::string backup_dir = *args.Get("backup-dir");
  const std::string data_dir = *args.Get("data-dir");
  absl::StatusOr<uint32_t> restored = services::RestoreBackup(
      backup_dir, id.has_value() ? std::optional<uint32_t>(*id) : std::nullopt,
      data_dir);
  if (!restored.ok()) {
    return LocalError(absl::StrCat(
        "restore: ", absl::StatusCodeToString(restored.status().code()), ": ",
        restored.status().message()));
  }
  const nlohmann::json line = {{"backupId", *restored}, {"dataDir", data_dir}};
  if (!WriteLine(line.dump()) && errno != EPIPE) {
    return LocalError(
        absl::StrCat("cannot write to stdout: ", std::strerror(errno)));
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// CPD commands.

constexpr FlagSpec kRecordFlags[] = {
    {"json"},  {"json-file"},       {"occurred-at"},
    {"actor"}, {"source-platform"}, {"list", false}};

// Prints lines to stdout; the exit status.
int PrintLines(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) {
    if (!WriteLine(line)) {
      if (errno == EPIPE) return kExitOk;
      return LocalError(
          absl::StrCat("cannot write to stdout: ", std::strerror(errno)));
    }
  }
  return kExitOk;
}

int RunRecordList(const ParsedArgs& args) {
  for (const FlagSpec& flag : kRecordFlags) {
    if (flag.name != "list" && args.Has(flag.name)) {
      return UsageError(
          absl::StrCat("record: --list cannot be combined with --", flag.name));
    }
  }
  if (args.positional.size() > 1) {
    return UsageError(absl::StrCat("record --list: unexpected argument \"",
                                   args.positional[1], "\""));
  }
  if (args.positional.empty()) return PrintLines(DescribeRecordingMethods());
  absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
      FindCpdMethod(args.positional[0], /*recording_only=*/true);
  if (!method.ok()) {
    return UsageError(absl::StrCat("record: ", method.status().message()));
  }
  return PrintLines(DescribeRequestFields(**method));
}

// The request of `record`, built from --json/--json-file, the assignments
// and --occurred-at, with a fresh request_id unless one was given; the exit
// status on error.
std::optional<int> BuildRecordRequest(const ParsedArgs& args,
                                      google::protobuf::Message* request) {
  if (args.Has("json") && args.Has("json-file")) {
    return UsageError("record: give --json or --json-file, not both");
  }
  if (args.Has("json") || args.Has("json-file")) {
    const std::string flag = args.Has("json") ? "--json" : "--json-file";
    std::string text;
    if (args.Has("json")) {
      text = *args.Get("json");
    } else {
      absl::StatusOr<std::string> read = ReadInput(*args.Get("json-file"));
      if (!read.ok()) {
        return UsageError(
            absl::StrCat("record: ", flag, ": ", read.status().message()));
      }
      text = *std::move(read);
    }
    absl::Status merged = MergeJson(text, request);
    if (!merged.ok()) {
      return UsageError(absl::StrCat("record: ", flag, ": ", merged.message()));
    }
  }
  for (size_t i = 1; i < args.positional.size(); ++i) {
    absl::Status applied = ApplyAssignment(args.positional[i], request);
    if (!applied.ok()) {
      return UsageError(absl::StrCat("record: ", applied.message()));
    }
  }
  const google::protobuf::Descriptor& type = *request->GetDescriptor();
  if (std::optional<std::string> occurred = args.Get("occurred-at")) {
    if (type.FindFieldByName("occurred_at") == nullptr) {
      return UsageError(absl::StrCat("record: --occurred-at: ", type.name(),
                                     " has no occurred_at"));
    }
    absl::Status set = SetField("occurred_at", *occurred, request);
    if (!set.ok()) {
      absl::string_view why = set.message();
      absl::ConsumePrefix(&why, "occurred_at: ");
      return UsageError(absl::StrCat("record: --occurred-at: ", why));
    }
  }
  const google::protobuf::FieldDescriptor* request_id =
      type.FindFieldByName("request_id");
  if (request_id != nullptr &&
      request_id->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
      !request_id->is_repeated() &&
      request->GetReflection()->GetString(*request, request_id).empty()) {
    request->GetReflection()->SetString(request, request_id, NewUuid());
  }
  return std::nullopt;
}

int RunRecord(const GlobalOptions& options, const ParsedArgs& args) {
  if (args.Has("list")) return RunRecordList(args);
  if (args.positional.empty()) {
    return UsageError("record: missing RPC (see 'throughline record --list')");
  }
  absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
      FindCpdMethod(args.positional[0], /*recording_only=*/true);
  if (!method.ok()) {
    return UsageError(absl::StrCat("record: ", method.status().message()));
  }
  std::unique_ptr<google::protobuf::Message> request =
      NewMessage(*(*method)->input_type());
  if (std::optional<int> error = BuildRecordRequest(args, request.get())) {
    return *error;
  }

  Client client(options);
  std::unique_ptr<grpc::ClientContext> context = client.NewContext();
  if (std::optional<std::string> actor = args.Get("actor")) {
    context->AddMetadata("throughline-actor", *actor);
  }
  if (std::optional<std::string> platform = args.Get("source-platform")) {
    context->AddMetadata("throughline-source-platform", *platform);
  }
  std::unique_ptr<google::protobuf::Message> response =
      NewMessage(*(*method)->output_type());
  grpc::Status status = CallUnary(client.channel(), context.get(), **method,
                                  *request, response.get());
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(*response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

int RunAreas(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "areas", 0)) {
    return *error;
  }
  Client client(options);
  std::unique_ptr<cpd::OrganisationService::Stub> stub =
      cpd::OrganisationService::NewStub(client.channel());
  cpd::ListDevelopmentAreasResponse response;
  grpc::Status status = stub->ListDevelopmentAreas(
      client.NewContext().get(), cpd::ListDevelopmentAreasRequest(), &response);
  if (!status.ok()) return CallError(status);
  for (const cpd::ListDevelopmentAreasResponse::Area& area : response.areas()) {
    Printed printed = PrintMessage(area);
    if (printed != Printed::kOk) return ExitAfterPrinting(printed);
  }
  return kExitOk;
}

constexpr FlagSpec kDemoFlags[] = {
    {"seed"}, {"schools"}, {"staff"}, {"actor"}, {"dry-run", false}};

// The number of events of each type in the tenant's log, and its head.
grpc::Status CountEvents(Client* client, std::map<std::string, uint64_t>* types,
                         uint64_t* head) {
  v1::ReadAllRequest request;
  request.set_from_position(0);
  request.set_max_count(static_cast<uint32_t>(kLogPageSize));
  for (;;) {
    v1::ReadAllResponse response;
    grpc::Status status = client->event_store().ReadAll(
        client->NewContext().get(), request, &response);
    if (!status.ok()) return status;
    for (const v1::RecordedEvent& event : response.events()) {
      ++(*types)[event.type()];
    }
    *head = response.head_position();
    if (response.next_position() > response.head_position() ||
        response.next_position() <= request.from_position()) {
      return grpc::Status::OK;
    }
    request.set_from_position(response.next_position());
  }
}

// ---------------------------------------------------------------------------
// Credentials: tokens, whoami, access-log (docs/security.md).

namespace auth = ::throughline::auth::v1;

// `demo` writes a trust's records, which an operator may not. With an
// operator's credential it first mints an admin token of the demo trust;
// when that credential was the quick start's default operator token, it
// saves the new token (mode 0600) as the trust's default token, so that the
// views the README shows next read the demo trust without further flags.
int AdoptDemoCredential(GlobalOptions* options) {
  Client client(*options);
  auto stub = auth::AuthService::NewStub(client.channel());
  auth::WhoAmIResponse me;
  grpc::Status status =
      stub->WhoAmI(client.NewContext().get(), auth::WhoAmIRequest(), &me);
  if (!status.ok()) return CallError(status);
  if (me.principal().role() != auth::ROLE_OPERATOR) return kExitOk;
  auth::CreateTokenRequest request;
  request.set_request_id(NewUuid());
  request.mutable_principal()->set_name(
      absl::StrCat("demo admin of ", options->tenant));
  request.mutable_principal()->set_role(auth::ROLE_ADMIN);
  request.mutable_principal()->set_trust(options->tenant);
  auth::CreateTokenResponse response;
  status = stub->CreateToken(client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(status);
  options->token = response.secret();
  if (!options->token_is_default_operator) {
    std::fprintf(stderr,
                 "throughline: demo: using a new admin token %s of trust "
                 "\"%s\" (not saved; `throughline tokens revoke %s` retires "
                 "it)\n",
                 response.token().token_id().c_str(), options->tenant.c_str(),
                 response.token().token_id().c_str());
    return kExitOk;
  }
  const std::string directory = absl::StrCat(kDefaultDataDir, "/tokens");
  const std::string path = SavedTokenPath(options->tenant);
  mkdir(directory.c_str(), 0700);
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const std::string text = absl::StrCat(response.secret(), "\n");
  if (fd < 0 ||
      write(fd, text.data(), text.size()) !=
          static_cast<ssize_t>(text.size()) ||
      close(fd) != 0) {
    return LocalError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  std::fprintf(stderr,
               "throughline: demo: saved an admin token of trust \"%s\" in "
               "%s; commands with --tenant %s use it\n",
               options->tenant.c_str(), path.c_str(), options->tenant.c_str());
  return kExitOk;
}

// "school-leader" → ROLE_SCHOOL_LEADER, "observation" → SILO_OBSERVATION.
template <typename Enum, typename Parse>
absl::StatusOr<Enum> ParseEnumName(absl::string_view flag,
                                   absl::string_view prefix,
                                   absl::string_view text, Parse parse) {
  std::string name = absl::StrCat(prefix, text);
  for (char& c : name) c = c == '-' ? '_' : absl::ascii_toupper(c);
  Enum value;
  if (text.empty() || !parse(name, &value) || static_cast<int>(value) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": unknown value \"", text, "\""));
  }
  return value;
}

constexpr FlagSpec kTokensFlags[] = {{"role"},      {"name"},
                                     {"trust"},     {"school", true, true},
                                     {"staff-id"},  {"silo", true, true},
                                     {"expires"},   {"certificate-sha256"},
                                     {"request-id"}};

int RunTokens(const GlobalOptions& options, const ParsedArgs& args) {
  if (args.positional.empty()) {
    return UsageError("tokens: expected create, list or revoke");
  }
  const std::string& verb = args.positional[0];
  Client client(options);
  auto stub = auth::AuthService::NewStub(client.channel());
  if (verb == "create") {
    if (args.positional.size() != 1) {
      return UsageError("tokens create: unexpected argument");
    }
    auth::CreateTokenRequest request;
    request.set_request_id(args.Get("request-id").value_or(NewUuid()));
    auth::Principal& principal = *request.mutable_principal();
    absl::StatusOr<auth::Role> role = ParseEnumName<auth::Role>(
        "--role", "ROLE_", args.Get("role").value_or(""), auth::Role_Parse);
    if (!role.ok()) return UsageError(role.status().message());
    principal.set_role(*role);
    principal.set_name(args.Get("name").value_or(""));
    principal.set_trust(args.Get("trust").value_or(""));
    for (const std::string& school : args.GetAll("school")) {
      principal.add_school_ids(school);
    }
    principal.set_staff_id(args.Get("staff-id").value_or(""));
    for (const std::string& text : args.GetAll("silo")) {
      absl::StatusOr<auth::Silo> silo =
          ParseEnumName<auth::Silo>("--silo", "SILO_", text, auth::Silo_Parse);
      if (!silo.ok()) return UsageError(silo.status().message());
      principal.add_silos(*silo);
    }
    if (std::optional<std::string> expires = args.Get("expires")) {
      absl::StatusOr<absl::Time> t = ParseTimeOrDate("--expires", *expires);
      if (!t.ok()) return UsageError(t.status().message());
      const int64_t nanos = absl::ToUnixNanos(*t);
      request.mutable_expires_at()->set_seconds(nanos / 1000000000);
      request.mutable_expires_at()->set_nanos(
          static_cast<int32_t>(nanos % 1000000000));
    }
    request.set_certificate_sha256(args.Get("certificate-sha256").value_or(""));
    auth::CreateTokenResponse response;
    grpc::Status status =
        stub->CreateToken(client.NewContext().get(), request, &response);
    if (!status.ok()) return CallError(status);
    Printed printed = PrintMessage(response);
    return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
  }
  if (verb == "list") {
    if (args.positional.size() != 1) {
      return UsageError("tokens list: unexpected argument");
    }
    auth::ListTokensRequest request;
    request.set_trust(args.Get("trust").value_or(""));
    auth::ListTokensResponse response;
    grpc::Status status =
        stub->ListTokens(client.NewContext().get(), request, &response);
    if (!status.ok()) return CallError(status);
    Printed printed = PrintMessage(response);
    return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
  }
  if (verb == "revoke") {
    if (args.positional.size() != 2) {
      return UsageError("tokens revoke: expected one TOKEN_ID");
    }
    auth::RevokeTokenRequest request;
    request.set_token_id(args.positional[1]);
    auth::RevokeTokenResponse response;
    grpc::Status status =
        stub->RevokeToken(client.NewContext().get(), request, &response);
    if (!status.ok()) return CallError(status);
    Printed printed = PrintMessage(response);
    return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
  }
  return UsageError(absl::StrCat("tokens: unknown action \"", verb, "\""));
}

int RunWhoAmI(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "whoami", 0)) {
    return *error;
  }
  Client client(options);
  auto stub = auth::AuthService::NewStub(client.channel());
  auth::WhoAmIResponse response;
  grpc::Status status =
      stub->WhoAmI(client.NewContext().get(), auth::WhoAmIRequest(), &response);
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

constexpr FlagSpec kAccessLogFlags[] = {{"staff-id"}, {"after"}, {"limit"}};

int RunAccessLog(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "access-log", 0)) {
    return *error;
  }
  auth::ListAccessRequest request;
  request.set_staff_id(args.Get("staff-id").value_or(""));
  if (std::optional<std::string> after = args.Get("after")) {
    absl::StatusOr<absl::Time> t = ParseTimeOrDate("--after", *after);
    if (!t.ok()) return UsageError(t.status().message());
    const int64_t nanos = absl::ToUnixNanos(*t);
    request.mutable_after()->set_seconds(nanos / 1000000000);
    request.mutable_after()->set_nanos(
        static_cast<int32_t>(nanos % 1000000000));
  }
  if (std::optional<std::string> limit = args.Get("limit")) {
    absl::StatusOr<uint64_t> n = ParseUint64("--limit", *limit);
    if (!n.ok()) return UsageError(n.status().message());
    request.set_limit(static_cast<uint32_t>(std::min<uint64_t>(*n, 1000)));
  }
  Client client(options);
  auto stub = auth::AccessLogService::NewStub(client.channel());
  auth::ListAccessResponse response;
  grpc::Status status =
      stub->ListAccess(client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

int RunDemo(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, "demo", 0)) {
    return *error;
  }
  DemoOptions demo;
  demo.now = absl::Now();
  for (const auto& [name, target] : std::vector<std::pair<const char*, int*>>{
           {"schools", &demo.schools}, {"staff", &demo.staff}}) {
    std::optional<int> error;
    std::optional<uint64_t> value = OptionalUint64(args, name, &error);
    if (error.has_value()) return *error;
    if (value.has_value()) {
      *target = static_cast<int>(std::min<uint64_t>(*value, 1 << 30));
    }
  }
  std::optional<int> error;
  demo.seed = OptionalUint64(args, "seed", &error).value_or(demo.seed);
  if (error.has_value()) return *error;
  if (absl::Status valid = ValidateDemoOptions(demo); !valid.ok()) {
    return UsageError(absl::StrCat("demo: ", valid.message()));
  }
  absl::StatusOr<DemoPlan> plan = GenerateDemo(demo);
  if (!plan.ok()) return LocalError(plan.status().message());

  if (args.Has("dry-run")) {
    for (const DemoCall& call : plan->calls) {
      absl::StatusOr<std::string> json = MessageToJsonLine(*call.request);
      if (!json.ok()) return LocalError(json.status().message());
      if (!WriteLine(absl::StrCat("{\"rpc\":\"", call.rpc,
                                  "\",\"request\":", *json, "}"))) {
        if (errno == EPIPE) return kExitOk;
        return LocalError(
            absl::StrCat("cannot write to stdout: ", std::strerror(errno)));
      }
    }
    return kExitOk;
  }

  GlobalOptions demo_options = options;
  if (int error = AdoptDemoCredential(&demo_options); error != kExitOk) {
    return error;
  }
  Client client(demo_options);
  CallMetadata metadata;
  metadata.token = demo_options.token;
  metadata.actor = args.Get("actor").value_or("throughline-demo");
  const DemoOutcome outcome =
      SendDemo(client.channel(), *plan, metadata,
               absl::Seconds(std::min(options.timeout_seconds, 3.2e8)));
  if (outcome.failed_call.has_value()) {
    const DemoCall& call = plan->calls[*outcome.failed_call];
    std::fprintf(
        stderr,
        "throughline: demo: call %zu of %zu (%s, request_id %s) failed after "
        "%zu calls succeeded (%zu recorded, %zu already applied)\n",
        *outcome.failed_call + 1, plan->calls.size(), call.rpc.c_str(),
        call.request->GetReflection()
            ->GetString(
                *call.request,
                call.request->GetDescriptor()->FindFieldByName("request_id"))
            .c_str(),
        outcome.sent, outcome.recorded, outcome.already_applied);
    return CallError(outcome.failure);
  }

  std::map<std::string, uint64_t> types;
  uint64_t head = 0;
  if (grpc::Status status = CountEvents(&client, &types, &head); !status.ok()) {
    return CallError(status);
  }
  std::vector<std::string> lines = {
      absl::StrCat("Trust \"", options.tenant, "\": ", plan->trust_name,
                   ", academic year ", plan->academic_year, " (registered ",
                   absl::FormatTime("%Y-%m-%d", plan->registered_at,
                                    absl::UTCTimeZone()),
                   "), seed ", demo.seed, ", ", demo.schools, " schools, ",
                   demo.staff, " staff."),
      absl::StrCat("Calls: ", outcome.sent, " sent, ", outcome.recorded,
                   " recorded, ", outcome.already_applied, " already applied."),
      "Events in the trust's log, by type:"};
  uint64_t total = 0;
  for (const auto& [type, count] : types) {
    lines.push_back(absl::StrFormat("  %-28s %6d", type, count));
    total += count;
  }
  lines.push_back(absl::StrFormat("  %-28s %6d", "(all)", total));
  lines.push_back(absl::StrCat("Log head: ", head));
  return PrintLines(lines);
}

// ---------------------------------------------------------------------------
// Views: the Insights service, printed by tools/cli_views.

// Writes `text` to stdout and flushes it; the exit status. A reader that
// went away (EPIPE) is not an error.
int PrintText(const std::string& text) {
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      std::fflush(stdout) != 0) {
    if (errno == EPIPE) return kExitOk;
    return LocalError(
        absl::StrCat("cannot write to stdout: ", std::strerror(errno)));
  }
  return kExitOk;
}

int PrintView(const google::protobuf::Message& view, OutputFormat format) {
  absl::StatusOr<std::string> text = FormatView(view, format);
  if (!text.ok()) return LocalError(text.status().message());
  return PrintText(*text);
}

// Reads --format and the query flags of `command`; the exit status on
// error.
std::optional<int> ReadViewFlags(const ParsedArgs& args,
                                 absl::string_view command,
                                 insights::ViewQuery* query,
                                 OutputFormat* format) {
  absl::StatusOr<OutputFormat> parsed = OutputFormatFlag(args);
  if (!parsed.ok()) {
    return UsageError(absl::StrCat(command, ": ", parsed.status().message()));
  }
  *format = *parsed;
  if (absl::Status built = BuildViewQuery(args, query); !built.ok()) {
    return UsageError(absl::StrCat(command, ": ", built.message()));
  }
  return std::nullopt;
}

template <typename View>
using ViewRpc = grpc::Status (InsightsStub::*)(grpc::ClientContext*,
                                               const insights::ViewQuery&,
                                               View*);

// A view command: no argument, the query flags, one call of `rpc`.
template <typename View>
int RunQueryView(absl::string_view command, ViewRpc<View> rpc,
                 const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error = CheckPositional(args, command, 0)) {
    return *error;
  }
  insights::ViewQuery query;
  OutputFormat format = OutputFormat::kTable;
  if (std::optional<int> error =
          ReadViewFlags(args, command, &query, &format)) {
    return *error;
  }
  Client client(options);
  std::unique_ptr<InsightsStub> stub =
      insights::Insights::NewStub(client.channel());
  View view;
  grpc::Status status = ((*stub).*rpc)(client.NewContext().get(), query, &view);
  if (!status.ok()) return CallError(status);
  return PrintView(view, format);
}

// needs --watch: prints the view, then again on every update, until
// interrupted, stdout closes or the stream ends.
int WatchNeeds(const GlobalOptions& options, const insights::ViewQuery& query,
               OutputFormat format) {
  InterruptWatcher watcher;  // Before the Client: see InterruptWatcher.
  Client client(options);
  std::unique_ptr<InsightsStub> stub =
      insights::Insights::NewStub(client.channel());
  std::unique_ptr<grpc::ClientContext> context =
      client.NewContext(/*with_deadline=*/false);
  watcher.Watch(context.get());
  std::unique_ptr<grpc::ClientReader<insights::EmergentNeedsView>> reader =
      stub->WatchEmergentNeeds(context.get(), query);
  // On a terminal each table replaces the last; elsewhere they follow one
  // another, a blank line apart.
  const bool redraw =
      format == OutputFormat::kTable && isatty(STDOUT_FILENO) == 1;
  bool stopped_here = false;
  int exit_code = kExitOk;
  bool first = true;
  insights::EmergentNeedsView view;
  while (reader->Read(&view)) {
    absl::StatusOr<std::string> text = FormatView(view, format);
    if (!text.ok()) {
      exit_code = LocalError(text.status().message());
      stopped_here = true;
      break;
    }
    std::string out;
    if (redraw) {
      out = "\033[H\033[2J";  // Cursor home, clear the screen.
    } else if (!first && format == OutputFormat::kTable) {
      out = "\n";
    }
    out += *text;
    first = false;
    errno = 0;
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() ||
        std::fflush(stdout) != 0) {
      if (errno != EPIPE) {
        exit_code = LocalError(
            absl::StrCat("cannot write to stdout: ", std::strerror(errno)));
      }
      stopped_here = true;
      break;
    }
  }
  if (stopped_here) context->TryCancel();
  const grpc::Status status = reader->Finish();
  watcher.Stop();
  if (stopped_here) return exit_code;
  if (watcher.interrupted() || status.ok()) return kExitOk;
  return CallError(status);
}

int RunNeeds(const GlobalOptions& options, const ParsedArgs& args) {
  if (!args.Has("watch")) {
    return RunQueryView<insights::EmergentNeedsView>(
        "needs", &InsightsStub::GetEmergentNeeds, options, args);
  }
  if (std::optional<int> error = CheckPositional(args, "needs", 0)) {
    return *error;
  }
  insights::ViewQuery query;
  OutputFormat format = OutputFormat::kTable;
  if (std::optional<int> error =
          ReadViewFlags(args, "needs", &query, &format)) {
    return *error;
  }
  if (format == OutputFormat::kCsv) {
    return UsageError("needs: --watch prints table or json, not csv");
  }
  return WatchNeeds(options, query, format);
}

int RunFollowThrough(const GlobalOptions& options, const ParsedArgs& args) {
  return RunQueryView<insights::FollowThroughView>(
      "follow-through", &InsightsStub::GetFollowThrough, options, args);
}

int RunDots(const GlobalOptions& options, const ParsedArgs& args) {
  return RunQueryView<insights::ConnectingTheDotsView>(
      "dots", &InsightsStub::GetConnectingTheDots, options, args);
}

int RunMoney(const GlobalOptions& options, const ParsedArgs& args) {
  return RunQueryView<insights::TimeAndMoneyView>(
      "money", &InsightsStub::GetTimeAndMoney, options, args);
}

int RunImpact(const GlobalOptions& options, const ParsedArgs& args) {
  return RunQueryView<insights::ImpactView>("impact", &InsightsStub::GetImpact,
                                            options, args);
}

int RunDecisions(const GlobalOptions& options, const ParsedArgs& args) {
  if (!args.Has("replay")) {
    return RunQueryView<insights::DecisionAuditView>(
        "decisions", &InsightsStub::GetDecisionAudit, options, args);
  }
  if (std::optional<int> error = CheckPositional(args, "decisions", 0)) {
    return *error;
  }
  insights::ViewQuery query;
  OutputFormat format = OutputFormat::kTable;
  if (std::optional<int> error =
          ReadViewFlags(args, "decisions", &query, &format)) {
    return *error;
  }
  Client client(options);
  std::unique_ptr<InsightsStub> stub =
      insights::Insights::NewStub(client.channel());
  insights::DecisionAuditView view;
  grpc::Status status =
      stub->GetDecisionAudit(client.NewContext().get(), query, &view);
  if (!status.ok()) return CallError(status);
  absl::StatusOr<std::string> text = FormatDecisionReplay(view, format);
  if (!text.ok()) return LocalError(text.status().message());
  return PrintText(*text);
}

int RunProgrammes(const GlobalOptions& options, const ParsedArgs& args) {
  return RunQueryView<insights::ProgrammeDesignView>(
      "programmes", &InsightsStub::GetProgrammeDesign, options, args);
}

int RunStaff(const GlobalOptions& options, const ParsedArgs& args) {
  if (std::optional<int> error =
          CheckPositional(args, "staff", 1, "STAFF_ID")) {
    return *error;
  }
  if (args.positional[0].empty()) return UsageError("staff: empty STAFF_ID");
  insights::StaffRecordQuery request;
  request.set_staff_id(args.positional[0]);
  OutputFormat format = OutputFormat::kTable;
  if (std::optional<int> error =
          ReadViewFlags(args, "staff", request.mutable_query(), &format)) {
    return *error;
  }
  Client client(options);
  std::unique_ptr<InsightsStub> stub =
      insights::Insights::NewStub(client.channel());
  insights::StaffRecordView view;
  grpc::Status status =
      stub->GetStaffRecord(client.NewContext().get(), request, &view);
  if (!status.ok()) return CallError(status);
  return PrintView(view, format);
}

int RunViews(const GlobalOptions& options, const ParsedArgs& args) {
  if (args.positional.empty()) {
    return UsageError("views: missing status or rebuild");
  }
  if (std::optional<int> error = CheckPositional(args, "views", 1)) {
    return *error;
  }
  const std::string& action = args.positional[0];
  if (action != "status" && action != "rebuild") {
    return UsageError(absl::StrCat("views: unknown action \"", action,
                                   "\" (status or rebuild)"));
  }
  absl::StatusOr<OutputFormat> format = OutputFormatFlag(args);
  if (!format.ok()) {
    return UsageError(absl::StrCat("views: ", format.status().message()));
  }
  Client client(options);
  std::unique_ptr<InsightsStub> stub =
      insights::Insights::NewStub(client.channel());
  insights::ProjectionStatus response;
  grpc::Status status =
      action == "status"
          ? stub->GetProjectionStatus(client.NewContext().get(),
                                      insights::GetProjectionStatusRequest(),
                                      &response)
          : stub->RebuildViews(client.NewContext().get(),
                               insights::RebuildViewsRequest(), &response);
  if (!status.ok()) return CallError(status);
  return PrintView(response, *format);
}

constexpr FlagSpec kSubjectFlags[] = {
    {"format"}, {"output"}, {"yes", false}, {"request-id"}};
constexpr FlagSpec kRetentionFlags[] = {{"request-id"}};

// "appraisal", "follow-up", "PERSONAL_DATA_KIND_APPRAISAL", ... as a kind.
std::optional<cpd::PersonalDataKind> ParseKind(absl::string_view text) {
  std::string name(text);
  for (char& c : name) c = c == '-' ? '_' : absl::ascii_toupper(c);
  if (!absl::StartsWith(name, "PERSONAL_DATA_KIND_")) {
    name = absl::StrCat("PERSONAL_DATA_KIND_", name);
  }
  cpd::PersonalDataKind kind;
  if (!cpd::PersonalDataKind_Parse(name, &kind) ||
      kind == cpd::PERSONAL_DATA_KIND_UNSPECIFIED) {
    return std::nullopt;
  }
  return kind;
}

// One table for a spreadsheet: the events, then the access-log entries,
// told apart by the first column; each kind of row fills its own columns.
std::string ExportCsv(const privacy::ExportSubjectResponse& response) {
  std::string out =
      "record,position,occurred_at,recorded_at,stream,type,event_id,actor,"
      "matched_fields,event,accessed_at,accessor,accessor_role,"
      "accessor_token_id,method,detail\n";
  auto add_row = [&out](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ",", CsvField(cells[i]));
    }
    out += "\n";
  };
  for (const privacy::SubjectEvent& event : response.events()) {
    absl::StatusOr<std::string> json = MessageToJsonLine(event.event());
    add_row({"event", absl::StrCat(event.position()),
             google::protobuf::util::TimeUtil::ToString(event.occurred_at()),
             google::protobuf::util::TimeUtil::ToString(event.recorded_at()),
             event.stream(), event.type(), event.event_id(), event.actor(),
             absl::StrJoin(event.matched_fields(), ";"), json.ok() ? *json : "",
             "", "", "", "", "", ""});
  }
  for (const auth::AccessEntry& entry : response.access()) {
    add_row({"access", "", "", "", "", "", "", "", "", "",
             google::protobuf::util::TimeUtil::ToString(entry.time()),
             entry.accessor().name(), auth::Role_Name(entry.accessor().role()),
             entry.accessor_token_id(), entry.method(), entry.detail()});
  }
  return out;
}

int RunSubject(const GlobalOptions& options, const ParsedArgs& args) {
  if (args.positional.empty()) {
    return UsageError("subject: missing export or erase");
  }
  const std::string& action = args.positional[0];
  if (action != "export" && action != "erase") {
    return UsageError(absl::StrCat("subject: unknown action \"", action,
                                   "\" (export or erase)"));
  }
  if (std::optional<int> error =
          CheckPositional(args, "subject", 2, "STAFF_ID")) {
    return *error;
  }
  const std::string& staff_id = args.positional[1];
  if (staff_id.empty()) return UsageError("subject: empty STAFF_ID");
  Client client(options);
  std::unique_ptr<privacy::PrivacyService::Stub> stub =
      privacy::PrivacyService::NewStub(client.channel());
  if (action == "erase") {
    if (!args.Has("yes")) {
      return UsageError(
          "subject erase: erasure cannot be undone; add --yes to confirm");
    }
    privacy::EraseSubjectRequest request;
    request.set_request_id(args.Get("request-id").value_or(NewUuid()));
    request.set_staff_id(staff_id);
    privacy::EraseSubjectResponse response;
    grpc::Status status =
        stub->EraseSubject(client.NewContext().get(), request, &response);
    if (!status.ok()) return CallError(status);
    Printed printed = PrintMessage(response);
    return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
  }
  const std::string format = args.Get("format").value_or("json");
  if (format != "json" && format != "csv") {
    return UsageError(absl::StrCat("subject export: --format: \"", format,
                                   "\" is not json or csv"));
  }
  privacy::ExportSubjectRequest request;
  request.set_staff_id(staff_id);
  privacy::ExportSubjectResponse response;
  grpc::Status status =
      stub->ExportSubject(client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(status);
  std::string text;
  if (format == "csv") {
    text = ExportCsv(response);
  } else {
    absl::StatusOr<std::string> json = MessageToJsonLine(response);
    if (!json.ok()) return LocalError(json.status().message());
    text = *json + "\n";
  }
  if (std::optional<std::string> output = args.Get("output")) {
    // Personal data: readable by the owner only.
    const int fd = open(output->c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, text.data(), text.size()) !=
                      static_cast<ssize_t>(text.size())) {
      if (fd >= 0) close(fd);
      return LocalError(
          absl::StrCat("cannot write ", *output, ": ", std::strerror(errno)));
    }
    close(fd);
    return kExitOk;
  }
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      std::fflush(stdout) != 0) {
    return errno == EPIPE ? kExitOk
                          : LocalError(absl::StrCat("cannot write to stdout: ",
                                                    std::strerror(errno)));
  }
  return kExitOk;
}

int RunRetention(const GlobalOptions& options, const ParsedArgs& args) {
  if (args.positional.empty()) {
    return UsageError("retention: missing show, set or run");
  }
  const std::string& action = args.positional[0];
  Client client(options);
  std::unique_ptr<privacy::PrivacyService::Stub> stub =
      privacy::PrivacyService::NewStub(client.channel());
  grpc::Status status;
  if (action == "show" || action == "run") {
    if (std::optional<int> error = CheckPositional(args, "retention", 1)) {
      return *error;
    }
  }
  std::unique_ptr<google::protobuf::Message> response;
  if (action == "show") {
    auto schedule = std::make_unique<privacy::RetentionSchedule>();
    status = stub->GetRetentionSchedule(client.NewContext().get(),
                                        privacy::GetRetentionScheduleRequest(),
                                        schedule.get());
    response = std::move(schedule);
  } else if (action == "set") {
    privacy::SetRetentionScheduleRequest request;
    request.set_request_id(args.Get("request-id").value_or(NewUuid()));
    for (size_t i = 1; i < args.positional.size(); ++i) {
      const std::string& rule = args.positional[i];
      const size_t eq = rule.find('=');
      std::optional<cpd::PersonalDataKind> kind =
          eq == std::string::npos ? std::nullopt
                                  : ParseKind(rule.substr(0, eq));
      uint32_t years = 0;
      if (!kind.has_value() || !absl::SimpleAtoi(rule.substr(eq + 1), &years)) {
        return UsageError(absl::StrCat(
            "retention set: \"", rule,
            "\" is not KIND=YEARS (kinds: staff-details, observation, "
            "coaching, appraisal, follow-up)"));
      }
      privacy::RetentionRule* out = request.mutable_schedule()->add_rules();
      out->set_kind(*kind);
      out->set_years_after_leaving(years);
    }
    auto schedule = std::make_unique<privacy::RetentionSchedule>();
    status = stub->SetRetentionSchedule(client.NewContext().get(), request,
                                        schedule.get());
    response = std::move(schedule);
  } else if (action == "run") {
    privacy::RunRetentionRequest request;
    request.set_request_id(args.Get("request-id").value_or(NewUuid()));
    auto report = std::make_unique<privacy::RunRetentionResponse>();
    status =
        stub->RunRetention(client.NewContext().get(), request, report.get());
    response = std::move(report);
  } else {
    return UsageError(absl::StrCat("retention: unknown action \"", action,
                                   "\" (show, set or run)"));
  }
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(*response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
}

constexpr FlagSpec kBusDisclosureFlags[] = {{"request-id"}};

int RunBusDisclosure(const GlobalOptions& options, const ParsedArgs& args) {
  if (args.positional.empty()) {
    return UsageError("bus-disclosure: missing show or set");
  }
  const std::string& action = args.positional[0];
  privacy::BusDisclosure response;
  grpc::Status status;
  if (action == "show") {
    if (std::optional<int> error = CheckPositional(args, "bus-disclosure", 1)) {
      return *error;
    }
    Client client(options);
    status =
        privacy::PrivacyService::NewStub(client.channel())
            ->GetBusDisclosure(client.NewContext().get(),
                               privacy::GetBusDisclosureRequest(), &response);
  } else if (action == "set") {
    if (std::optional<int> error =
            CheckPositional(args, "bus-disclosure", 2, "on|off")) {
      return *error;
    }
    const std::string& value = args.positional[1];
    if (value != "on" && value != "off") {
      return UsageError(
          absl::StrCat("bus-disclosure set: \"", value, "\" is not on or off"));
    }
    privacy::SetBusDisclosureRequest request;
    request.set_request_id(args.Get("request-id").value_or(NewUuid()));
    request.set_clear_personal_data(value == "on");
    Client client(options);
    status =
        privacy::PrivacyService::NewStub(client.channel())
            ->SetBusDisclosure(client.NewContext().get(), request, &response);
  } else {
    return UsageError(absl::StrCat("bus-disclosure: unknown action \"", action,
                                   "\" (show or set)"));
  }
  if (!status.ok()) return CallError(status);
  Printed printed = PrintMessage(response);
  return printed == Printed::kOk ? kExitOk : ExitAfterPrinting(printed);
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
    {"verify", kVerifyFlags, RunVerify},
    {"health", {}, RunHealth},
    {"bus-status", {}, RunBusStatus},
    {"trust", kTrustFlags, RunTrust},
    {"backup", kBackupFlags, RunBackup},
    {"restore", kRestoreFlags, RunRestore},
    {"record", kRecordFlags, RunRecord},
    {"areas", {}, RunAreas},
    {"demo", kDemoFlags, RunDemo},
    {"needs", kNeedsFlags, RunNeeds},
    {"follow-through", kViewQueryFlags, RunFollowThrough},
    {"staff", kStaffFlags, RunStaff},
    {"dots", kViewQueryFlags, RunDots},
    {"money", kViewQueryFlags, RunMoney},
    {"impact", kViewQueryFlags, RunImpact},
    {"decisions", kDecisionsFlags, RunDecisions},
    {"programmes", kViewQueryFlags, RunProgrammes},
    {"views", kFormatFlags, RunViews},
    {"tokens", kTokensFlags, RunTokens},
    {"whoami", {}, RunWhoAmI},
    {"access-log", kAccessLogFlags, RunAccessLog},
    {"subject", kSubjectFlags, RunSubject},
    {"retention", kRetentionFlags, RunRetention},
    {"bus-disclosure", kBusDisclosureFlags, RunBusDisclosure},
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
