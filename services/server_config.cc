#include "services/server_config.h"

#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace throughline::services {
namespace {

struct Option {
  const char* name;
  const char* description;
  std::function<std::string(const ServerConfig&)> get;
  std::function<bool(const std::string&, ServerConfig*)> set;
  std::string range;  // Accepted values, for --help; empty for any text.
};

template <typename Field>
Option StringOption(const char* name, const char* description, Field field) {
  return Option{name, description,
                [field](const ServerConfig& c) { return c.*field; },
                [field](const std::string& v, ServerConfig* c) {
                  if (v.empty()) return false;
                  c->*field = v;
                  return true;
                },
                ""};
}

// Text that may be empty.
template <typename Field>
Option OptionalStringOption(const char* name, const char* description,
                            Field field) {
  return Option{name, description,
                [field](const ServerConfig& c) { return c.*field; },
                [field](const std::string& v, ServerConfig* c) {
                  c->*field = v;
                  return true;
                },
                "any text; empty allowed"};
}

// A JetStream stream name: 1-64 of [A-Za-z0-9_-].
template <typename Field>
Option StreamNameOption(const char* name, const char* description,
                        Field field) {
  return Option{name, description,
                [field](const ServerConfig& c) { return c.*field; },
                [field](const std::string& v, ServerConfig* c) {
                  if (v.empty() || v.size() > 64) return false;
                  for (char ch : v) {
                    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) &&
                        ch != '_' && ch != '-') {
                      return false;
                    }
                  }
                  c->*field = v;
                  return true;
                },
                "1 to 64 letters, digits, '_' and '-'"};
}

// A whole number in [min, max].
template <typename Field>
Option NumberOption(const char* name, const char* description, Field field,
                    uint64_t min, uint64_t max) {
  return Option{
      name, description,
      [field](const ServerConfig& c) { return absl::StrCat(c.*field); },
      [field, min, max](const std::string& v, ServerConfig* c) {
        uint64_t value;
        if (!absl::SimpleAtoi(v, &value) || value < min || value > max) {
          return false;
        }
        c->*field = value;
        return true;
      },
      absl::StrCat(min, " to ", max)};
}

// true or false.
template <typename Field>
Option BoolOption(const char* name, const char* description, Field field) {
  return Option{name, description,
                [field](const ServerConfig& c) {
                  return std::string(c.*field ? "true" : "false");
                },
                [field](const std::string& v, ServerConfig* c) {
                  if (v != "true" && v != "false") return false;
                  c->*field = v == "true";
                  return true;
                },
                "true or false"};
}

const std::vector<Option>& Options() {
  static const auto* options = new std::vector<Option>{
      StringOption("listen",
                   "Address the gRPC server listens on (host:port; port 0 "
                   "picks a free port).",
                   &ServerConfig::listen),
      StringOption("data_dir",
                   "Directory of the RocksDB event store; created if missing.",
                   &ServerConfig::data_dir),
      NumberOption("max_event_bytes", "Largest event data accepted, in bytes.",
                   &ServerConfig::max_event_bytes, 1, 64 << 20),
      NumberOption("max_events_per_append",
                   "Most events accepted in one Append.",
                   &ServerConfig::max_events_per_append, 1, 100000),
      NumberOption("max_message_bytes",
                   "Largest gRPC message accepted, in bytes.",
                   &ServerConfig::max_message_bytes, 1 << 20, 1 << 30),
      NumberOption("max_threads",
                   "Most server threads for reads and subscriptions (each "
                   "subscriber holds one).",
                   &ServerConfig::max_threads, 4, 100000),
      NumberOption("block_cache_mib",
                   "RocksDB block cache, in MiB, shared by the event store "
                   "and the views' store.",
                   &ServerConfig::block_cache_mib, 1, 1 << 20),
      NumberOption("write_buffer_mib",
                   "RocksDB memtables of the event store and the views' store "
                   "together, in MiB; charged to the block cache, so RocksDB "
                   "holds about block_cache_mib + write_buffer_mib in all.",
                   &ServerConfig::write_buffer_mib, 8, 1 << 20),
      NumberOption("views_cached_facts",
                   "Facts of the views' histories kept in memory over all "
                   "trusts (about 1 KiB each), so that view queries at the "
                   "head read only the facts that are new; 0 keeps none.",
                   &ServerConfig::views_cached_facts, 0, 100000000),
      NumberOption("shutdown_grace_seconds",
                   "On SIGTERM/SIGINT, seconds in-flight calls may take to "
                   "finish before they are cancelled.",
                   &ServerConfig::shutdown_grace_seconds, 0, 3600),
      OptionalStringOption(
          "nats_url",
          "NATS server URL(s), comma-separated, e.g. nats://127.0.0.1:4222. "
          "Empty turns the message bus off (docs/bus.md).",
          &ServerConfig::nats_url),
      StreamNameOption("bus_stream",
                       "JetStream stream committed events are published to "
                       "(subjects throughline.ev.>).",
                       &ServerConfig::bus_stream),
      NumberOption("bus_replicas",
                   "Replicas of the bus streams (more than 1 needs a "
                   "JetStream cluster).",
                   &ServerConfig::bus_replicas, 1, 5),
      NumberOption("bus_duplicate_window_seconds",
                   "JetStream duplicate window (Nats-Msg-Id dedupe) of the bus "
                   "streams, in seconds.",
                   &ServerConfig::bus_duplicate_window_seconds, 1, 604800),
      StreamNameOption("bus_inbound_stream",
                       "JetStream stream other platforms publish commands to "
                       "(subjects throughline.in.>).",
                       &ServerConfig::bus_inbound_stream),
      StreamNameOption("bus_dead_letter_stream",
                       "JetStream stream refused inbound commands are moved "
                       "to (subjects throughline.dlq.>).",
                       &ServerConfig::bus_dead_letter_stream),
      NumberOption("bus_retry_max_seconds",
                   "Longest wait between retries while NATS is unreachable, "
                   "in seconds.",
                   &ServerConfig::bus_retry_max_seconds, 1, 3600),
      OptionalStringOption(
          "metrics_listen",
          "Address (host:port) of the Prometheus metrics endpoint, GET "
          "/metrics. Empty turns it off.",
          &ServerConfig::metrics_listen),
      NumberOption("slow_commit_ms",
                   "A commit (write and fsync) slower than this, in "
                   "milliseconds, is logged as slow_commit; 0 logs none.",
                   &ServerConfig::slow_commit_ms, 0, 3600000),
      OptionalStringOption(
          "backup_dir",
          "Directory backups are written to (Admin.CreateBackup, "
          "`throughline backup`, scheduled backups). Empty refuses backups.",
          &ServerConfig::backup_dir),
      NumberOption("backup_interval_minutes",
                   "Minutes between scheduled backups into backup_dir; 0 "
                   "takes none.",
                   &ServerConfig::backup_interval_minutes, 0, 525600),
      NumberOption("backup_keep",
                   "Newest backups kept in backup_dir after each backup; 0 "
                   "keeps all.",
                   &ServerConfig::backup_keep, 0, 100000),
      OptionalStringOption("tls_cert_file",
                           "PEM certificate chain of the server. With "
                           "tls_key_file, turns TLS on (docs/security.md).",
                           &ServerConfig::tls_cert_file),
      OptionalStringOption("tls_key_file", "PEM private key of the server.",
                           &ServerConfig::tls_key_file),
      OptionalStringOption(
          "tls_client_ca_file",
          "PEM CA certificates to verify client certificates against (mTLS); "
          "a registered client certificate stands for its principal. Needs "
          "TLS.",
          &ServerConfig::tls_client_ca_file),
      BoolOption("allow_insecure_listen",
                 "Without TLS, allow listening on a non-loopback address "
                 "(credentials then cross the network in clear text).",
                 &ServerConfig::allow_insecure_listen),
      OptionalStringOption(
          "master_key_file",
          "File with the master key wrapping personal-data keys (32 bytes or "
          "64 hex digits, mode 0600). Empty: <data_dir>/master.key, created "
          "if missing (quick start only; keep it outside data_dir and its "
          "backups in production).",
          &ServerConfig::master_key_file),
      NumberOption("retention_interval_seconds",
                   "How often the server runs the retention job itself, in "
                   "seconds; 0 runs it only on request.",
                   &ServerConfig::retention_interval_seconds, 0, 31536000),
      Option{"node_id",
             "This node's id in a cluster of nodes sharing the bus; each "
             "trust is then served by one node (docs/operations.md). Needs "
             "nats_url. Empty: this node serves every trust.",
             [](const ServerConfig& c) { return c.node_id; },
             [](const std::string& v, ServerConfig* c) {
               if (v.size() > 63) return false;
               for (char ch : v) {
                 if (!absl::ascii_islower(static_cast<unsigned char>(ch)) &&
                     !absl::ascii_isdigit(static_cast<unsigned char>(ch)) &&
                     ch != '-') {
                   return false;
                 }
               }
               c->node_id = v;
               return true;
             },
             "empty, or 1 to 63 of a-z, 0-9 and '-'"},
      OptionalStringOption(
          "advertise_address",
          "The host:port other nodes and clients reach this node at. Empty: "
          "the listen address with the port actually bound.",
          &ServerConfig::advertise_address),
      StreamNameOption("placement_bucket",
                       "JetStream key-value bucket recording which node "
                       "serves each trust.",
                       &ServerConfig::placement_bucket),
  };
  return *options;
}

absl::Status Apply(const std::string& name, const std::string& value,
                   const std::string& where, ServerConfig* config) {
  for (const Option& option : Options()) {
    if (name != option.name) continue;
    if (!option.set(value, config)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, name, ": invalid value \"", absl::CEscape(value),
                       "\" (see --help for the accepted range)"));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, name, ": unknown option (see --help)"));
}

absl::Status ApplyFile(const std::string& path, ServerConfig* config) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: cannot read \"", path, "\""));
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::string_view text = line;
    if (size_t hash = text.find('#'); hash != absl::string_view::npos) {
      text = text.substr(0, hash);
    }
    text = absl::StripAsciiWhitespace(text);
    if (text.empty()) continue;
    const size_t equals = text.find('=');
    const std::string where = absl::StrCat(path, ":", number, ": ");
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "expected \"name = value\""));
    }
    const std::string name(absl::StripAsciiWhitespace(text.substr(0, equals)));
    const std::string value(
        absl::StripAsciiWhitespace(text.substr(equals + 1)));
    if (absl::Status s = Apply(name, value, where, config); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<OptionHelp> DescribeOptions() {
  const ServerConfig defaults;
  std::vector<OptionHelp> help;
  for (const Option& option : Options()) {
    help.push_back(
        {option.name, option.get(defaults), option.description, option.range});
  }
  return help;
}

std::string ConfigValue(const ServerConfig& config, const std::string& name) {
  for (const Option& option : Options()) {
    if (name == option.name) return option.get(config);
  }
  return "";
}

std::string ServerUsage() {
  std::string usage =
      "Usage: throughline-server [--config=FILE] [--option=value ...] "
      "[--check_config]\n\n"
      "--check_config validates the configuration and exits.\n\n"
      "Options (also accepted as `option = value` lines in the config file;\n"
      "flags override the file):\n";
  for (const OptionHelp& option : DescribeOptions()) {
    absl::StrAppendFormat(
        &usage, "  --%-24s %s\n  %-26s default: %s%s\n", option.name,
        option.description, "",
        option.default_value.empty() ? "\"\" (empty)" : option.default_value,
        option.range.empty() ? "" : absl::StrCat("; accepted: ", option.range));
  }
  return usage;
}

absl::StatusOr<ServerConfig> ParseServerConfig(
    const std::vector<std::string>& args, bool* help_requested) {
  *help_requested = false;
  // Split into (name, value) pairs first, so the config file applies before
  // any flag whatever their order.
  std::vector<std::pair<std::string, std::string>> flags;
  std::string config_file;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      *help_requested = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat(args[i], ": unexpected argument (see --help)"));
    }
    std::string name, value;
    if (size_t equals = arg.find('='); equals != absl::string_view::npos) {
      name = std::string(arg.substr(0, equals));
      value = std::string(arg.substr(equals + 1));
    } else if (i + 1 < args.size()) {
      name = std::string(arg);
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", arg, ": missing value"));
    }
    if (name == "config") {
      config_file = value;
    } else {
      flags.emplace_back(name, value);
    }
  }
  ServerConfig config;
  if (!config_file.empty()) {
    if (absl::Status s = ApplyFile(config_file, &config); !s.ok()) return s;
  }
  for (const auto& [name, value] : flags) {
    if (absl::Status s = Apply(name, value, "--", &config); !s.ok()) return s;
  }
  if (config.bus_stream == config.bus_inbound_stream ||
      config.bus_stream == config.bus_dead_letter_stream ||
      config.bus_inbound_stream == config.bus_dead_letter_stream) {
    return absl::InvalidArgumentError(
        "bus_stream, bus_inbound_stream and bus_dead_letter_stream must be "
        "three different streams");
  }
  if (config.backup_interval_minutes > 0 && config.backup_dir.empty()) {
    return absl::InvalidArgumentError(
        "backup_interval_minutes: scheduled backups need backup_dir");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "tls_cert_file and tls_key_file: set both or neither");
  }
  if (!config.tls_client_ca_file.empty() && config.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "tls_client_ca_file: needs TLS (tls_cert_file and tls_key_file)");
  }
  if (!config.node_id.empty() && config.nats_url.empty()) {
    return absl::InvalidArgumentError(
        "node_id: a cluster node needs the bus (set nats_url)");
  }
  return config;
}

}  // namespace throughline::services
